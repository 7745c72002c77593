"""The daemon side of ssod: everything that needs aiohttp, aiobotocore or watchdog."""

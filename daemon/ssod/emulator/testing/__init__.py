"""The emulator's test helpers: the pytest plugin, the daemon launcher, a background runner."""

"""One module per ``ssod`` command, and nothing else: each defines ``register(subparsers)`` and a
handler that imports the command's real work lazily (``ssod.client.cli`` names them).
"""

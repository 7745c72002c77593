"""The ``ssod`` commands: one module per command, each registering its arguments and running it."""

"""The thin side of ssod: the command line (stdlib, pyzmq and ssod client modules only)."""

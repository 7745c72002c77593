"""ssod's version: one constant, read by hatch at build time and by `ssod --version` at run time.

A plain constant (not importlib.metadata) keeps the client's start-up free of metadata scans.
"""

__version__ = "0.1.0"

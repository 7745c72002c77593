"""Starting the daemon: the systemd and launchd files, installing and inspecting the service, and
starting a daemon on demand when none runs.
"""

"""Running the daemon as a service: systemd and launchd units, installing them, and autostart."""

"""Pure renderers of what the commands print; the daemon's fast socket renders with them too."""

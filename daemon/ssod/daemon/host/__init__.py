"""The host the daemon runs on: its runtime directory and single-instance guard, the ownership
check at start-up, and desktop notifications.
"""

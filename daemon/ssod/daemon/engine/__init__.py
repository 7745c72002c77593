"""The engine: served profiles and their credentials, sessions and tokens, logins, schedule."""

"""Plumbing the HTTP endpoints share: listeners and the listen policy, the connection guard, peer
credentials and one-time console links.
"""

"""Config in: the ``~/.aws/config`` model, its grammar and botocore's rules, the daemon's one
write-back to it, and the watcher that tells the loop when it (or the token cache) changes.
"""

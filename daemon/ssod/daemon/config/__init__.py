"""The ``~/.aws/config`` side: grammar, botocore's rules, the model, the write-back, the watcher."""

"""What the daemon needs of its host: runtime directory and lock, file ownership, notifications."""

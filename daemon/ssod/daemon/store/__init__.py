"""The files ssod keeps: the SSO token and CLI caches, the ECS token, the scoped-token store."""

"""Files kept: the AWS CLI's SSO token cache and role-credential cache, the ECS token file and the
scoped-token store. Formats are pure; the disk edges write atomically with mode 0600.
"""

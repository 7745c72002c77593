"""AWS out: every call ssod makes to AWS (``api``, the only aiobotocore import), the pure sso-oidc
steps, start-URL resolution, console federation and console sign-in URLs.
"""

"""Everything that talks to AWS: the aiobotocore calls, OIDC steps, start URLs, console sign-in."""

"""How long an EKS token lives and is reused, and which credentials may sign one.

Pure rules of (signing time, credential expiry, now); no clock, no state (docs/eks.md). A token
is good at the server until 15 minutes after it was signed (aws-iam-authenticator); the AWS CLI
reports 14 (``TOKEN_EXPIRATION_MINS`` in get_token.py). ssod reports the earlier of that and a
minute before the signing credentials expire (the server's STS call fails with them), reuses a
token until a minute before what it reported, signs only with credentials that have at least 15
minutes left (else refreshes them first), and never reports a time already past.
"""

from __future__ import annotations

from datetime import datetime, timedelta

#: The end the AWS CLI reports: 14 minutes after signing.
TOKEN_LIFETIME = timedelta(minutes=14)
#: A token ends at least this long before the credentials that signed it.
CREDENTIAL_SLACK = timedelta(minutes=1)
#: A cached token is handed out until this long before its reported end.
REUSE_MARGIN = timedelta(minutes=1)
#: Credentials with less than this left are refreshed before they sign.
SIGNING_FLOOR = timedelta(minutes=15)


def token_end(signed_at: datetime, credentials_expire: datetime) -> datetime:
    """The end reported for a token signed at ``signed_at``, in whole seconds (as printed)."""
    end = min(signed_at + TOKEN_LIFETIME, credentials_expire - CREDENTIAL_SLACK)
    return end.replace(microsecond=0)


def reusable(end: datetime, now: datetime) -> bool:
    """Whether a token that ends at ``end`` may still be handed out at ``now``."""
    return now < end - REUSE_MARGIN


def fit_to_sign(credentials_expire: datetime, now: datetime) -> bool:
    """Whether credentials expiring at ``credentials_expire`` may sign at ``now``."""
    return credentials_expire - now >= SIGNING_FLOOR


def printable(end: datetime, now: datetime) -> bool:
    """Whether ``end`` lies ahead of ``now`` (kubectl reruns the plugin for a past one)."""
    return end > now

"""The AWS CLI's SSO cache formats: cache keys, token and registration records, timestamps.

This module owns the bytes of `~/.aws/sso/cache/<key>.json` (tokens and client registrations)
and of the SSO entries in `~/.aws/cli/cache`, exactly as the AWS CLI and botocore write them
(docs/protocols.md sections 3 and 4.2). It is pure: no file I/O, no clock (``now`` is passed in), no
logging. Reading is lenient where botocore, the JS SDK or the Go SDK may have written the file;
writing is strict and byte-for-byte what the CLI writes. No secret (access token, refresh token,
client secret, role secret) ever appears in a repr or in an exception message.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, Literal

from ssod.errors import TokenCacheError

#: Larger cache files are refused unread: a token file is a few kilobytes at most.
MAX_CACHE_FILE_BYTES = 1 << 20

#: A registration is reused while at least this much of it is left (CLI-bc `utils.py`
#: `BaseSSOTokenFetcher._is_expired`: expired when `seconds < _EXPIRY_WINDOW`).
REGISTRATION_REUSE_WINDOW = timedelta(minutes=15)

#: Its presence marks a PKCE registration (CLI-bc `utils.py` `_is_registration_for_auth_code`).
PKCE_GRANT_TYPE = "authorization_code"

# RFC 3339 date-time (what Go accepts), plus botocore JSONFileCache's default `%Z` rendering
# ("...UTC"), which dateutil reads. A value without any zone designator is refused: botocore
# crashes on it with TypeError and JS reads it as local time (docs/protocols.md 3.4).
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:(?P<utc>[Zz]|UTC)|(?P<sign>[+-])(?P<oh>\d{2}):(?P<om>\d{2}))",
    re.ASCII,  # \d must not match other scripts' digits, which int() would accept
)


def format_timestamp(dt: datetime) -> str:
    """Render an aware datetime as the CLI does: UTC, whole seconds, `YYYY-MM-DDTHH:MM:SSZ`."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware")
    u = dt.astimezone(UTC)
    # The CLI's strftime("%Y-%m-%dT%H:%M:%SZ"), but zero-padding years before 1000 as glibc won't.
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}Z"


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with a zone (`Z`, `+HH:MM`, fractions) into aware UTC."""
    m = _TIMESTAMP.fullmatch(text)
    if m is None:
        raise ValueError("not an RFC 3339 timestamp with a time zone")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    try:
        if m.group("utc"):
            tz = UTC
        else:
            offset = timedelta(hours=int(m.group("oh")), minutes=int(m.group("om")))
            tz = timezone(-offset if m.group("sign") == "-" else offset)
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz).astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted out of range by its offset
        raise ValueError("timestamp out of range") from None


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def token_cache_key(source: str) -> str:
    """Key of a token file: SHA-1 of the sso-session name, or of the legacy start URL as written."""
    # BC `utils.py` SSOTokenLoader._generate_cache_key: no normalisation at all.
    return _sha1(source)


def registration_cache_key(
    start_url: str, region: str, scopes: Sequence[str] | None, session_name: str | None
) -> str:
    """Key of a client-registration file (CLI-bc `utils.py` `_registration_cache_key`)."""
    args = {
        "tool": "botocore",
        "startUrl": start_url,
        "region": region,
        "scopes": list(scopes) if scopes is not None else None,
        "session_name": session_name,
    }
    # Default separators (", " and ": "), unlike the role key below.
    return _sha1(json.dumps(args, sort_keys=True))


def role_cache_key(
    account_id: str,
    role_name: str,
    *,
    session_name: str | None = None,
    start_url: str | None = None,
) -> str:
    """Key of a `~/.aws/cli/cache` role file (BC `SSOCredentialFetcher._create_cache_key`)."""
    args = {"roleName": role_name, "accountId": account_id}
    # botocore tests the session name for truthiness, so "" falls back to the start URL.
    if session_name:
        args["sessionName"] = session_name
    elif start_url is not None:
        args["startUrl"] = start_url
    else:
        raise ValueError("role_cache_key needs session_name or start_url")
    return _sha1(json.dumps(args, sort_keys=True, separators=(",", ":")))


def _freeze(extra: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(extra))


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be timezone-aware")


# Known token fields in the order the CLI writes them (CLI-bc `utils.py` `_create_token_attempt`).
_TOKEN_FIELDS = (
    "startUrl",
    "region",
    "accessToken",
    "expiresAt",
    "clientId",
    "clientSecret",
    "registrationExpiresAt",
    "refreshToken",
)


@dataclass(frozen=True, kw_only=True, repr=False)
class SsoToken:
    """One `~/.aws/sso/cache/<key>.json` token file; ``extra`` keeps fields ssod does not know."""

    start_url: str | None = None
    region: str | None = None
    access_token: str
    expires_at: datetime
    client_id: str | None = None
    client_secret: str | None = None
    registration_expires_at: datetime | None = None
    refresh_token: str | None = None
    extra: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require_aware("expires_at", self.expires_at)
        _require_aware("registration_expires_at", self.registration_expires_at)
        clash = set(self.extra) & set(_TOKEN_FIELDS)
        if clash:
            raise ValueError(f"extra repeats known fields: {sorted(clash)}")
        object.__setattr__(self, "extra", _freeze(self.extra))

    def __repr__(self) -> str:
        reg = self.registration_expires_at
        reg_expiry = reg.isoformat() if reg else None
        return (
            f"SsoToken(start_url={self.start_url!r}, region={self.region!r}, "
            f"expires_at={self.expires_at.isoformat()!r}, client_id={self.client_id!r}, "
            f"registration_expires_at={reg_expiry!r}, "
            f"refresh_token={'<set>' if self.refresh_token else None}, "
            f"extra_keys={sorted(self.extra)!r})"
        )

    def remaining(self, now: datetime) -> timedelta:
        """How long the access token is still valid at ``now`` (negative once expired)."""
        return self.expires_at - now

    def can_refresh(self, now: datetime) -> bool:
        """Whether botocore would try a refresh (BC `SSOTokenProvider._refresh_access_token`)."""
        return (
            bool(self.refresh_token and self.client_id and self.client_secret)
            and self.registration_expires_at is not None
            and self.registration_expires_at > now
        )


def _load_object(data: bytes, path: str) -> dict[str, Any]:
    if len(data) > MAX_CACHE_FILE_BYTES:
        raise TokenCacheError(f"{path}: larger than {MAX_CACHE_FILE_BYTES} bytes")
    if not data.strip():
        raise TokenCacheError(f"{path}: empty")
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        # `from None`: a JSONDecodeError carries the whole document (secrets included) in `.doc`.
        raise TokenCacheError(f"{path}: not valid JSON (torn or truncated?)") from None
    if not isinstance(obj, dict):
        raise TokenCacheError(f"{path}: not a JSON object")
    return obj


def _str(obj: Mapping[str, Any], name: str, path: str, *, required: bool = False) -> str | None:
    value = obj.get(name)
    if value is None:
        # A JSON null counts as absent, as the Go SDK's omit-empty writer would leave it.
        if required:
            raise TokenCacheError(f"{path}: missing {name}")
        return None
    if not isinstance(value, str) or (required and not value):
        raise TokenCacheError(f"{path}: {name} is not a non-empty string")
    return value


def _time(
    obj: Mapping[str, Any], name: str, path: str, *, required: bool = False
) -> datetime | None:
    text = _str(obj, name, path, required=required)
    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError:
        raise TokenCacheError(f"{path}: {name} is not a timestamp with a time zone") from None


def parse_token(data: bytes, *, path: str) -> SsoToken:
    """Parse a token file written by the CLI, botocore, the JS or the Go SDK."""
    obj = _load_object(data, path)
    expires_at = _time(obj, "expiresAt", path, required=True)
    access_token = _str(obj, "accessToken", path, required=True)
    assert expires_at is not None and access_token is not None
    return SsoToken(
        start_url=_str(obj, "startUrl", path),
        region=_str(obj, "region", path),
        access_token=access_token,
        expires_at=expires_at,
        client_id=_str(obj, "clientId", path),
        client_secret=_str(obj, "clientSecret", path),
        registration_expires_at=_time(obj, "registrationExpiresAt", path),
        refresh_token=_str(obj, "refreshToken", path),
        extra={k: v for k, v in obj.items() if k not in _TOKEN_FIELDS},
    )


def _dumps(obj: Mapping[str, object]) -> bytes:
    # CLI `sso/utils.py` `_sso_json_dumps`: json.dumps, default separators, one line, no newline.
    return json.dumps(obj).encode("utf-8")


def serialize_token(token: SsoToken) -> bytes:
    """The token file exactly as `aws sso login` writes it, unknown fields appended."""
    values: dict[str, str | None] = {
        "startUrl": token.start_url,
        "region": token.region,
        "accessToken": token.access_token,
        "expiresAt": format_timestamp(token.expires_at),
        "clientId": token.client_id,
        "clientSecret": token.client_secret,
        "registrationExpiresAt": (
            format_timestamp(token.registration_expires_at)
            if token.registration_expires_at
            else None
        ),
        "refreshToken": token.refresh_token,
    }
    out: dict[str, object] = {k: v for k, v in values.items() if v is not None}
    out.update(token.extra)
    return _dumps(out)


@dataclass(frozen=True, kw_only=True, repr=False)
class Registration:
    """A client-registration cache entry (docs/protocols.md 3.3), shared by device and PKCE."""

    client_id: str
    client_secret: str
    expires_at: datetime
    scopes: tuple[str, ...] | None = None
    grant_types: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _require_aware("expires_at", self.expires_at)

    def __repr__(self) -> str:
        return (
            f"Registration(client_id={self.client_id!r}, "
            f"expires_at={self.expires_at.isoformat()!r}, scopes={self.scopes!r}, "
            f"grant_types={self.grant_types!r})"
        )

    def usable_for(self, flow: Literal["device", "pkce"], now: datetime) -> bool:
        """Whether the CLI would reuse this registration for ``flow`` (CLI-bc `_registration`)."""
        if self.expires_at - now < REGISTRATION_REUSE_WINDOW:
            return False
        # Entries without grantTypes are device-flow registrations.
        is_pkce = self.grant_types is not None and PKCE_GRANT_TYPE in self.grant_types
        return is_pkce == (flow == "pkce")


def _str_list(obj: Mapping[str, Any], name: str, path: str) -> tuple[str, ...] | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TokenCacheError(f"{path}: {name} is not a list of strings")
    return tuple(value)


def parse_registration(data: bytes, *, path: str) -> Registration:
    """Parse a client-registration file as the CLI writes it."""
    obj = _load_object(data, path)
    client_id = _str(obj, "clientId", path, required=True)
    client_secret = _str(obj, "clientSecret", path, required=True)
    expires_at = _time(obj, "expiresAt", path, required=True)
    assert client_id is not None and client_secret is not None and expires_at is not None
    return Registration(
        client_id=client_id,
        client_secret=client_secret,
        expires_at=expires_at,
        scopes=_str_list(obj, "scopes", path),
        grant_types=_str_list(obj, "grantTypes", path),
    )


def serialize_registration(reg: Registration) -> bytes:
    """The registration file as the CLI writes it (`SSOTokenFetcher*._register_client`)."""
    out: dict[str, object] = {
        "clientId": reg.client_id,
        "clientSecret": reg.client_secret,
        "expiresAt": format_timestamp(reg.expires_at),
    }
    if reg.scopes is not None:
        out["scopes"] = list(reg.scopes)
    if reg.grant_types is not None:
        out["grantTypes"] = list(reg.grant_types)
    return _dumps(out)


@dataclass(frozen=True, kw_only=True, repr=False)
class CliCachedCredentials:
    """Role credentials as the AWS CLI caches them in `~/.aws/cli/cache` (docs/protocols.md 4.2)."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    account_id: str | None = None

    def __post_init__(self) -> None:
        _require_aware("expiration", self.expiration)

    def __repr__(self) -> str:
        return (
            f"CliCachedCredentials(access_key_id={self.access_key_id!r}, "
            f"expiration={self.expiration.isoformat()!r}, account_id={self.account_id!r})"
        )


#: The marker `aws sso logout` looks for when it sweeps `~/.aws/cli/cache` (CLI `sso/logout.py`).
SSO_PROVIDER_TYPE = "sso"


def serialize_cli_credentials(creds: CliCachedCredentials) -> bytes:
    """The cache entry exactly as BC `SSOCredentialFetcher._get_credentials` builds it."""
    inner: dict[str, str] = {
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "SessionToken": creds.session_token,
        "Expiration": format_timestamp(creds.expiration),
    }
    if creds.account_id is not None:
        inner["AccountId"] = creds.account_id
    return _dumps({"ProviderType": SSO_PROVIDER_TYPE, "Credentials": inner})


def is_sso_cli_entry(data: bytes) -> bool:
    """Whether a `~/.aws/cli/cache` file is one `aws sso logout` would delete."""
    try:
        obj = json.loads(data) if len(data) <= MAX_CACHE_FILE_BYTES else None
    except (ValueError, RecursionError):
        return False
    return isinstance(obj, dict) and obj.get("ProviderType") == SSO_PROVIDER_TYPE


def parse_cli_credentials(data: bytes, *, path: str) -> CliCachedCredentials:
    """Parse an SSO role-credential entry of `~/.aws/cli/cache`."""
    obj = _load_object(data, path)
    if obj.get("ProviderType") != SSO_PROVIDER_TYPE:
        raise TokenCacheError(f"{path}: not an SSO credential entry")
    inner = obj.get("Credentials")
    if not isinstance(inner, dict):
        raise TokenCacheError(f"{path}: Credentials is not an object")
    key_id = _str(inner, "AccessKeyId", path, required=True)
    secret = _str(inner, "SecretAccessKey", path, required=True)
    session_token = _str(inner, "SessionToken", path, required=True)
    expiration = _time(inner, "Expiration", path, required=True)
    assert key_id and secret and session_token and expiration
    return CliCachedCredentials(
        access_key_id=key_id,
        secret_access_key=secret,
        session_token=session_token,
        expiration=expiration,
        account_id=_str(inner, "AccountId", path),
    )

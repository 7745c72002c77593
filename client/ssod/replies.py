"""The IPC replies' shapes: one ``TypedDict`` per operation's final reply, defined once.

``ssod.wire`` owns the requests (their schema, ``OPS``) and the envelope; this module owns what
travels in a reply's ``result``. The daemon annotates what it builds with these types
(``ssod.daemon.serve.dispatch`` and the parts it asks), and the client reads the same types
(``IpcClient.request`` is overloaded per operation), so mypy sees a key renamed on one side
only: in every dict the daemon builds, and in every ``reply["key"]`` the client reads (mypy
does not check the key of ``reply.get("key")``, which the client keeps where it tolerates an
older daemon). ``tests/daemon/test_reply_types.py`` holds these types to what a real daemon
sends. Types only: nothing here changes a byte on the wire, and the client imports this module
only for type checking. Keys whose value may be JSON ``null`` are typed ``X | None``; keys
that are sometimes absent are ``NotRequired``.
"""

# No ``from __future__ import annotations`` here: Python 3.11 sees ``NotRequired`` in
# ``__optional_keys__`` only in evaluated annotations.
from typing import NotRequired, TypedDict

from ssod.wire import Op

# -- shared pieces ----------------------------------------------------------------------------


class TokenInfo(TypedDict):
    """A scoped ECS token as ``ssod status`` and ``ssod token list`` show it: no secret."""

    id: str
    name: str | None
    profile: str
    created_at: str
    expires_at: str
    pid: int | None


class ConfigInfo(TypedDict):
    """The config file in service and its problems."""

    config_error: str | None
    problems: list[str]
    profiles: int


# -- status -----------------------------------------------------------------------------------


class DaemonStatus(TypedDict):
    """The daemon itself, in ``status``."""

    version: str
    pid: int
    started_by: str
    started_at: str
    uptime_seconds: int
    ecs_url: str
    ecs_urls: list[str]
    ecs_waiting: list[str]
    imds_url: str | None
    imds_profile: str | None
    tokens_error: str | None
    tokens_unsaved: str | None  # why a revocation is not in the scoped-token file yet
    ipc: str
    config_file: str
    config_loaded_at: str | None
    config_error: str | None
    ecs_token_error: str | None
    #: The ``AWS_ENDPOINT_URL*`` variables the daemon was started with (``ssod.endpointvars``).
    endpoints: dict[str, str]
    token_store: str  # "shared", "keyring" or "memory"
    token_store_where: str
    token_store_error: str | None  # the keyring is locked or failing


class SessionStatus(TypedDict):
    """One session (an sso-session, or a legacy start URL), in ``status``."""

    name: str
    kind: str  # "sso-session" or "legacy"
    start_url: str
    region: str
    state: str  # "ready", "expired" or "login_required"
    token_expires_at: str | None
    refreshable: bool
    last_refresh: str | None
    next_refresh: str | None
    next_refresh_reason: str | None
    last_error: str | None
    login_command: str


class ProfileStatus(TypedDict):
    """One served profile, in ``status``."""

    name: str
    session: str | None
    kind: str  # "sso" or "assume_role"
    credentials_expire_at: str | None
    served: bool
    last_used: str | None
    last_error: str | None
    region: str | None
    account_id: str | None
    role_name: NotRequired[str]  # sso profiles
    role_arn: NotRequired[str]  # assume_role profiles


class EngineStatus(TypedDict):
    """The broker's part of ``status``."""

    sessions: list[SessionStatus]
    profiles: list[ProfileStatus]
    problems: list[str]


class StatusReply(EngineStatus):
    """``status``: the daemon, every session, every served profile, the scoped tokens."""

    daemon: DaemonStatus
    tokens: list[TokenInfo]


# -- the other operations ---------------------------------------------------------------------


class CredentialsReply(TypedDict):
    """``credentials``: the ECS body under credential_process's name for the session token."""

    AccessKeyId: str
    SecretAccessKey: str
    Expiration: str
    AccountId: str
    RoleArn: NotRequired[str]
    SessionToken: str


class LoginReply(TypedDict):
    """``login``'s final reply (its streamed events come before it)."""

    event: str  # "done"
    session: str
    start_url: str
    expires_at: str
    region_updated: NotRequired[str]


class CancelLoginReply(TypedDict):
    """``cancel_login``."""

    cancelled: bool


class SessionLogout(TypedDict):
    """One session signed out."""

    session: str
    revoked: bool
    cli_cache_removed: int


class LogoutReply(TypedDict):
    """``logout``."""

    sessions: list[SessionLogout]


class AccountRoles(TypedDict):
    """One account and the roles the session may use in it.

    Asked with ``account_id``: that account only, its name and email empty (not looked up);
    asked with ``accounts_only``: every account without ``roles``.
    """

    account_id: str
    account_name: str
    email: str
    roles: NotRequired[list[str]]


class RolesReply(TypedDict):
    """``roles``."""

    session: str
    start_url: str
    region: str
    accounts: list[AccountRoles]


class ReloadReply(ConfigInfo):
    """``reload``."""

    config_file: str


class ImdsInfo(TypedDict):
    """The IMDS endpoint's part of ``endpoint`` (nulls and empty lists when it is off)."""

    imds_url: str | None
    imds_urls: list[str]
    imds_profile: str | None
    imds_waiting: list[str]


class EndpointReply(ImdsInfo):
    """``endpoint`` and ``rotate_token``: what ``ssod env`` prints, and where else it is served."""

    url: str
    port: int
    credentials_path: str
    token_file: str
    token: str
    urls: list[str]
    waiting: list[str]


class SsoRegionReply(TypedDict):
    """``sso_region``."""

    region: str
    identity_center: bool


class StartUrlReply(TypedDict):
    """``start_url``."""

    start_url: str
    region: str | None
    looked_up: bool


class ConsoleReply(TypedDict):
    """``console``."""

    url: str
    link: str | None
    destination: str
    partition: str
    region: str
    account_id: str
    expires_at: str


class IssueTokenReply(TokenInfo):
    """``issue_token``: the record and, this once, the token."""

    token: str


class RevokeTokenReply(TypedDict):
    """``revoke_token``."""

    revoked: list[TokenInfo]


class ListTokensReply(TypedDict):
    """``list_tokens``."""

    tokens: list[TokenInfo]


class EksTokenReply(TypedDict):
    """``eks_token``: the token (a secret for 15 minutes), the end reported to kubectl."""

    token: str
    expiration: str
    region: str
    host: str


class EksClusterReply(TypedDict):
    """``eks_cluster``: what ``aws eks update-kubeconfig`` takes from DescribeCluster."""

    name: str
    arn: str
    endpoint: str
    certificate_authority: str
    status: str


#: Each operation's final reply type.
REPLIES: dict[Op, type] = {
    Op.STATUS: StatusReply,
    Op.CREDENTIALS: CredentialsReply,
    Op.LOGIN: LoginReply,
    Op.CANCEL_LOGIN: CancelLoginReply,
    Op.LOGOUT: LogoutReply,
    Op.ROLES: RolesReply,
    Op.RELOAD: ReloadReply,
    Op.ENDPOINT: EndpointReply,
    Op.ROTATE_TOKEN: EndpointReply,
    Op.SSO_REGION: SsoRegionReply,
    Op.START_URL: StartUrlReply,
    Op.CONSOLE: ConsoleReply,
    Op.ISSUE_TOKEN: IssueTokenReply,
    Op.REVOKE_TOKEN: RevokeTokenReply,
    Op.LIST_TOKENS: ListTokensReply,
    Op.EKS_TOKEN: EksTokenReply,
    Op.EKS_CLUSTER: EksClusterReply,
}

"""The error tree of ssod, shared by the daemon and the client.

Every error ssod raises on purpose is an ``SsodError``. Each class carries a stable wire
``code`` (sent over IPC and in ECS error bodies, and used by the client to rebuild the same
class) and the ``exit_code`` the client exits with. Messages never contain a secret.

    SsodError                      code              exit
    ├── ConfigError                config_error      7
    │   ├── ConfigParseError       config_parse      7
    │   ├── ProfileConfigError     profile_invalid   7
    │   ├── ProfileNotFound        profile_not_found 5
    │   └── SessionNotFound        session_not_found 5
    ├── CacheError                 cache_error       1
    │   └── TokenCacheError        cache_invalid     1
    ├── AuthError                  auth_error        4
    │   ├── LoginRequired          login_required    4
    │   ├── LoginFailed            login_failed      8
    │   └── LoginCancelled         login_cancelled   8
    ├── AwsError                   aws_error         6
    │   ├── RoleAccessDenied       access_denied     6
    │   ├── AwsUnavailable         aws_unavailable   6
    │   │   └── StartUrlUnreachable start_url_unreachable 6
    │   └── FederationRefused      federation_refused 6
    ├── IpcError                   ipc_error         1
    │   ├── DaemonUnavailable      no_daemon         3
    │   ├── ProtocolVersionMismatch version_mismatch 1
    │   └── BadRequest             bad_request       2
    ├── RuntimeDirError            runtime_dir       1
    ├── DaemonAlreadyRunning       already_running   1
    ├── KeyringError               keyring           1
    │   └── KeyringLocked          keyring_locked    1
    ├── AddressMissing             address_missing   1
    └── UsageError                 usage             2
        ├── DestinationRefused     bad_destination   2
        └── CannotFederate         cannot_federate   2

Errors are translated only at the edges: AWS errors where aiobotocore is called, HTTP statuses
in the ECS endpoint, wire codes in IPC and exit codes in the CLI.
"""

from __future__ import annotations

from typing import ClassVar

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NO_DAEMON = 3
EXIT_LOGIN_REQUIRED = 4
EXIT_NOT_FOUND = 5
EXIT_AWS = 6
EXIT_CONFIG = 7
EXIT_LOGIN_FAILED = 8


class SsodError(Exception):
    """Base of every error ssod raises on purpose."""

    code: ClassVar[str] = "error"
    exit_code: ClassVar[int] = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(SsodError):
    """The AWS config file, or a profile or sso-session in it, cannot be used."""

    code = "config_error"
    exit_code = EXIT_CONFIG


class ConfigParseError(ConfigError):
    """The config file as a whole does not parse (botocore would refuse it too)."""

    code = "config_parse"

    def __init__(self, message: str, *, path: str = "", line: int | None = None) -> None:
        where = path + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.line = line


class ProfileConfigError(ConfigError):
    """One profile or sso-session is inconsistent or incomplete; the rest of the file is fine."""

    code = "profile_invalid"

    def __init__(
        self, message: str, *, path: str = "", section: str = "", line: int | None = None
    ) -> None:
        where = ", ".join(p for p in (path, f"[{section}]" if section else "") if p)
        if line is not None:
            where += f", line {line}"
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.section = section
        self.line = line


class ProfileNotFound(ConfigError):
    """No profile of that name is configured."""

    code = "profile_not_found"
    exit_code = EXIT_NOT_FOUND


class SessionNotFound(ConfigError):
    """No sso-session of that name is configured."""

    code = "session_not_found"
    exit_code = EXIT_NOT_FOUND


class CacheError(SsodError):
    """A cache file could not be read or written."""

    code = "cache_error"


class TokenCacheError(CacheError):
    """A token or registration cache file is torn, not JSON, or has the wrong shape."""

    code = "cache_invalid"


class AuthError(SsodError):
    """Something about the SSO login stands in the way."""

    code = "auth_error"
    exit_code = EXIT_LOGIN_REQUIRED


class LoginRequired(AuthError):
    """The session has no usable token: never logged in, expired, or revoked."""

    code = "login_required"


class LoginFailed(AuthError):
    """A login flow ended without a token (denied, timed out, or refused by the service)."""

    code = "login_failed"
    exit_code = EXIT_LOGIN_FAILED


class LoginCancelled(AuthError):
    """The user cancelled a login flow."""

    code = "login_cancelled"
    exit_code = EXIT_LOGIN_FAILED


class AwsError(SsodError):
    """AWS answered with an error, or could not be reached."""

    code = "aws_error"
    exit_code = EXIT_AWS


class RoleAccessDenied(AwsError):
    """The signed-in user may not use that account and role."""

    code = "access_denied"


class AwsUnavailable(AwsError):
    """AWS did not answer in time, or answered with a server error or throttling."""

    code = "aws_unavailable"


class StartUrlUnreachable(AwsUnavailable):
    """The host of a start URL on a domain of the user's own (not AWS) could not be reached."""

    code = "start_url_unreachable"


class FederationRefused(AwsError):
    """The AWS sign-in (federation) endpoint refused the role credentials for a console URL."""

    code = "federation_refused"


class IpcError(SsodError):
    """The conversation with the daemon failed."""

    code = "ipc_error"
    #: The id of the request this error answers, when it could be read (so the daemon can still
    #: address its error reply); never sent on the wire as part of the error itself.
    request_id: str | None = None


class DaemonUnavailable(IpcError):
    """No daemon answers on the IPC socket."""

    code = "no_daemon"
    exit_code = EXIT_NO_DAEMON


class ProtocolVersionMismatch(IpcError):
    """The client and the daemon speak different IPC protocol versions."""

    code = "version_mismatch"


class BadRequest(IpcError):
    """A request was malformed, oversized, or named an unknown operation."""

    code = "bad_request"
    exit_code = EXIT_USAGE


class RuntimeDirError(SsodError):
    """The runtime directory (IPC socket, lock) is unsafe or unusable: foreign, open, too long."""

    code = "runtime_dir"


class DaemonAlreadyRunning(SsodError):
    """Another ssod daemon holds the instance lock in the same runtime directory."""

    code = "already_running"


class KeyringError(SsodError):
    """The token store the daemon was told to use (the OS keyring) cannot be used."""

    code = "keyring"


class KeyringLocked(KeyringError):
    """The keyring's collection is locked: its secrets cannot be read or written until unlocked."""

    code = "keyring_locked"


class AddressMissing(SsodError):
    """An address the daemon is to listen on is not (yet) an address of this host."""

    code = "address_missing"


class UsageError(SsodError):
    """The command line or an answer to a prompt cannot be used (a bad flag, no answer)."""

    code = "usage"
    exit_code = EXIT_USAGE


class DestinationRefused(UsageError):
    """A console destination that is not https on an AWS console host of the partition."""

    code = "bad_destination"


class CannotFederate(UsageError):
    """A profile's credentials cannot open the console as asked (partition, role chaining)."""

    code = "cannot_federate"


def _all_subclasses(cls: type[SsodError]) -> list[type[SsodError]]:
    found: list[type[SsodError]] = [cls]
    for sub in cls.__subclasses__():
        found.extend(_all_subclasses(sub))
    return found


ERRORS_BY_CODE: dict[str, type[SsodError]] = {c.code: c for c in _all_subclasses(SsodError)}


def error_from_code(code: str, message: str) -> SsodError:
    """Rebuild the error class a wire ``code`` names (the base class for an unknown code)."""
    cls = ERRORS_BY_CODE.get(code, SsodError)
    err = SsodError.__new__(cls)
    SsodError.__init__(err, message)
    return err

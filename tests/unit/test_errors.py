"""The error tree: stable wire codes, distinct exit codes, and round trips by code."""

from __future__ import annotations

import pytest

from ssod import errors


def test_codes_are_unique() -> None:
    classes = errors._all_subclasses(errors.SsodError)
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize(
    ("cls", "exit_code"),
    [
        (errors.BadRequest, errors.EXIT_USAGE),
        (errors.DaemonUnavailable, errors.EXIT_NO_DAEMON),
        (errors.LoginRequired, errors.EXIT_LOGIN_REQUIRED),
        (errors.ProfileNotFound, errors.EXIT_NOT_FOUND),
        (errors.SessionNotFound, errors.EXIT_NOT_FOUND),
        (errors.AwsUnavailable, errors.EXIT_AWS),
        (errors.RoleAccessDenied, errors.EXIT_AWS),
        (errors.ConfigParseError, errors.EXIT_CONFIG),
        (errors.LoginFailed, errors.EXIT_LOGIN_FAILED),
        (errors.FederationRefused, errors.EXIT_AWS),
        (errors.DestinationRefused, errors.EXIT_USAGE),
        (errors.CannotFederate, errors.EXIT_USAGE),
    ],
)
def test_exit_codes(cls: type[errors.SsodError], exit_code: int) -> None:
    assert cls.exit_code == exit_code


def test_distinct_exit_codes_for_documented_cases() -> None:
    documented = {
        errors.EXIT_USAGE,
        errors.EXIT_NO_DAEMON,
        errors.EXIT_LOGIN_REQUIRED,
        errors.EXIT_NOT_FOUND,
        errors.EXIT_AWS,
    }
    assert len(documented) == 5


@pytest.mark.parametrize("cls", errors._all_subclasses(errors.SsodError))
def test_round_trip_by_code(cls: type[errors.SsodError]) -> None:
    rebuilt = errors.error_from_code(cls.code, "something went wrong")
    assert type(rebuilt) is cls
    assert str(rebuilt) == "something went wrong"


def test_unknown_code_becomes_base_error() -> None:
    rebuilt = errors.error_from_code("no_such_code", "m")
    assert type(rebuilt) is errors.SsodError


def test_parse_error_names_file_and_line() -> None:
    err = errors.ConfigParseError("duplicate key 'region'", path="/h/.aws/config", line=7)
    assert str(err) == "/h/.aws/config, line 7: duplicate key 'region'"
    assert err.line == 7


def test_profile_error_names_section() -> None:
    err = errors.ProfileConfigError(
        "missing sso_role_name", path="/c", section="profile dev", line=3
    )
    assert str(err) == "/c, [profile dev], line 3: missing sso_role_name"


def test_a_start_url_host_that_fails_is_not_blamed_on_aws() -> None:
    from ssod.client.common import explain

    own = errors.StartUrlUnreachable("its host sso.example.com did not answer (OSError)")
    assert isinstance(own, errors.AwsUnavailable)  # callers that retry or report it still do
    assert own.exit_code == errors.EXIT_AWS
    assert "AWS did not answer" not in explain(own)
    assert "that host is not AWS" in explain(own)
    assert "try again in a moment" in explain(errors.AwsUnavailable("x"))

"""Shell syntax for ``ssod env`` and ``ssod credentials --format env``: quoting and assignment.

Pure and cheap to import (``ssod credentials`` is on every credential_process call's path):
only ``json``. Values are always single-quoted literals, so nothing in a URL, a path or a token
is ever expanded by the shell that evaluates the output. Secrets go to stdout, never into the
argv of another process.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

SHELLS = ("sh", "fish", "powershell")
CREDENTIAL_FORMATS = ("process", "env", "json")


def quote(value: str, shell: str) -> str:
    """``value`` as one literal word in ``shell``."""
    if shell == "fish":
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if shell == "powershell":
        # PowerShell also ends single-quoted strings at the typographic quotes.
        for q in "'\u2018\u2019\u201a\u201b":
            value = value.replace(q, q + q)
        return "'" + value + "'"
    return "'" + value.replace("'", "'\\''") + "'"


def assign(name: str, value: str, shell: str) -> str:
    """One line that sets environment variable ``name`` in ``shell``."""
    if shell == "fish":
        return f"set -gx {name} {quote(value, shell)}"
    if shell == "powershell":
        return f"$env:{name} = {quote(value, shell)}"
    return f"export {name}={quote(value, shell)}"


def comment(text: str) -> str:
    """A comment line (``#`` in all three shells), on one line whatever ``text`` holds."""
    return "# " + " ".join(text.split())


def env_vars(
    endpoint: Mapping[str, Any], profile: str, region: str | None = None
) -> list[tuple[str, str]]:
    """The variables ``ssod env`` sets for ``profile`` (and ``ssod exec`` gives its command).

    The container-credentials URL, the token file (when ``endpoint`` names one: botocore reads
    the file before the token) and the token, then the region. Container credentials carry no
    region, so without the profile's ``region`` an SDK would fail with "You must specify a
    region" unless the default profile has one.
    """
    from urllib.parse import quote as urlquote

    path = str(endpoint["credentials_path"]).replace("PROFILE", urlquote(profile, safe=""))
    pairs = [("AWS_CONTAINER_CREDENTIALS_FULL_URI", str(endpoint["url"]) + path)]
    if endpoint.get("token_file"):
        pairs.append(("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(endpoint["token_file"])))
    pairs.append(("AWS_CONTAINER_AUTHORIZATION_TOKEN", str(endpoint["token"])))
    if region:
        pairs.append(("AWS_REGION", region))
        pairs.append(("AWS_DEFAULT_REGION", region))  # the AWS CLI v1 reads this
    return pairs


def env_text(
    endpoint: Mapping[str, Any],
    profile: str,
    shell: str,
    notes: Iterable[str] = (),
    region: str | None = None,
) -> str:
    """``ssod env``: the ``env_vars`` of ``profile`` as comment and assignment lines."""
    lines = [comment(f"ssod: AWS SDKs in this shell get credentials of profile {profile}")]
    lines.extend(comment(n) for n in notes)
    lines.extend(assign(name, value, shell) for name, value in env_vars(endpoint, profile, region))
    return "\n".join(lines)


# -- credentials -------------------------------------------------------------------------------


def credentials_text(creds: Mapping[str, Any], fmt: str) -> str:
    """``ssod credentials``: credential_process JSON, sh export lines, or the full object."""
    if fmt == "json":
        return json.dumps(dict(creds), indent=2)
    if fmt == "env":
        names = (
            ("AWS_ACCESS_KEY_ID", "AccessKeyId"),
            ("AWS_SECRET_ACCESS_KEY", "SecretAccessKey"),
            ("AWS_SESSION_TOKEN", "SessionToken"),
            ("AWS_CREDENTIAL_EXPIRATION", "Expiration"),
        )
        return "\n".join(assign(var, str(creds[key]), "sh") for var, key in names)
    out: dict[str, Any] = {"Version": 1}
    for key in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"):
        out[key] = creds[key]
    if creds.get("AccountId"):
        out["AccountId"] = creds["AccountId"]  # botocore's ProcessProvider reads it
    return json.dumps(out)

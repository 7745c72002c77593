"""Pure text and JSON rendering for the ``ssod`` commands: no I/O, no IPC, no environment.

Everything here takes the daemon's replies (plain dicts) and returns strings, so it is tested
table-driven. Times arrive as ``YYYY-MM-DDTHH:MM:SSZ`` and are shown relative to ``now``.

``ssod status --json`` prints exactly these keys (missing values are ``null``)::

    daemon:   version, pid, started_by (service|autostart|foreground), started_at,
              uptime_seconds, ecs_url, ipc, config_file, config_loaded_at, config_error,
              ecs_token_error, ecs_urls (every address served), ecs_waiting (link-local
              addresses not on this host yet), imds_url, imds_profile, tokens_error (the
              scoped-token file could not be read), tokens_unsaved (why a revocation is not
              in that file yet), endpoints (the AWS_ENDPOINT_URL* variables the daemon was
              started with: {NAME: URL}), token_store (shared|keyring|memory),
              token_store_where, token_store_error (e.g. the keyring is locked)
    sessions: [name, kind (sso-session|legacy), start_url, region,
               state (ready|login_required|expired), token_expires_at, refreshable,
               last_refresh, next_refresh, next_refresh_reason, last_error, login_command]
    profiles: [name, session, kind (sso|assume_role), account_id, role_name, role_arn, region,
               credentials_expire_at, served, last_used, last_error]
    problems: [message, ...]
    tokens:   [id, name, profile, created_at, expires_at]   (live scoped tokens; never the token)

``ssod roles --json`` prints ``session, start_url, region, accounts: [account_id,
account_name, email, roles: [name, ...]]``.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

DAEMON_KEYS = (
    "version",
    "pid",
    "started_by",
    "started_at",
    "uptime_seconds",
    "ecs_url",
    "ipc",
    "config_file",
    "config_loaded_at",
    "config_error",
    "ecs_token_error",
    "ecs_urls",
    "ecs_waiting",
    "imds_url",
    "imds_profile",
    "tokens_error",
    "tokens_unsaved",
    "endpoints",
    "token_store",
    "token_store_where",
    "token_store_error",
)
SESSION_KEYS = (
    "name",
    "kind",
    "start_url",
    "region",
    "state",
    "token_expires_at",
    "refreshable",
    "last_refresh",
    "next_refresh",
    "next_refresh_reason",
    "last_error",
    "login_command",
)
PROFILE_KEYS = (
    "name",
    "session",
    "kind",
    "account_id",
    "role_name",
    "role_arn",
    "region",
    "credentials_expire_at",
    "served",
    "last_used",
    "last_error",
)
ACCOUNT_KEYS = ("account_id", "account_name", "email", "roles")
TOKEN_KEYS = ("id", "name", "profile", "created_at", "expires_at", "pid")
#: ``ssod status`` shows the newest this many scoped tokens (``--json`` and ``token list``: all).
STATUS_TOKENS = 10

_COLORS = {"green": "32", "yellow": "33", "red": "31", "bold": "1", "dim": "2"}
_STATE_COLORS = {"ready": "green", "login_required": "yellow", "expired": "red"}

Cell = str | tuple[str, str]  # text, or (text, colour name)

# -- times -------------------------------------------------------------------------------------


def parse_time(text: object) -> datetime | None:
    """A ``…Z`` timestamp from the daemon, or None if absent or unreadable."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def duration(seconds: float) -> str:
    """A short human duration: ``42s``, ``7m``, ``7h 42m``, ``2d 3h``."""
    s = int(abs(seconds))
    if s < 60:
        return f"{s}s"
    m = s // 60
    if m < 60:
        return f"{m}m"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h {m}m" if m else f"{h}h"
    d, h = divmod(h, 24)
    return f"{d}d {h}h" if h else f"{d}d"


def relative(moment: object, now: datetime) -> str:
    """``in 7h 42m``, ``12m ago``, ``now``, or ``-`` for no time."""
    when = moment if isinstance(moment, datetime) else parse_time(moment)
    if when is None:
        return "-"
    delta = (when - now).total_seconds()
    if abs(delta) < 1:
        return "now"
    return f"in {duration(delta)}" if delta > 0 else f"{duration(delta)} ago"


# -- tables and colour -------------------------------------------------------------------------


def paint(text: str, colour: str | None, enabled: bool) -> str:
    """``text`` in an ANSI colour when ``enabled``."""
    if not enabled or not colour or colour not in _COLORS:
        return text
    return f"\033[{_COLORS[colour]}m{text}\033[0m"


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    color: bool = False,
    width: int | None = None,
    drop: Sequence[str] = (),
) -> str:
    """Left-aligned columns two spaces apart; colour is applied after padding.

    With ``width``, the columns named in ``drop`` are left out, in that order, until every
    line fits (or none is left to drop).
    """
    body = [list(r) for r in rows]
    keep = list(range(len(headers)))
    for name in drop:
        if width is None or _table_width(headers, body, keep) <= width:
            break
        if name in headers:
            keep.remove(list(headers).index(name))
    headers = [headers[i] for i in keep]
    body = [[r[i] for i in keep] for r in body]
    plain = [list(headers)] + [[c if isinstance(c, str) else c[0] for c in r] for r in body]
    tints: list[list[str | None]] = [["bold"] * len(headers)]
    tints += [[None if isinstance(c, str) else c[1] for c in r] for r in body]
    widths = [max(len(r[i]) for r in plain) for i in range(len(headers))]
    lines = []
    for texts, colours in zip(plain, tints, strict=True):
        out = []
        for i, text in enumerate(texts):
            padded = text if i == len(texts) - 1 else text.ljust(widths[i])
            out.append(paint(padded, colours[i], color))
        lines.append("  ".join(out).rstrip())
    return "\n".join(lines)


def _table_width(headers: Sequence[str], body: list[list[Cell]], keep: list[int]) -> int:
    texts = [list(headers)] + [[c if isinstance(c, str) else c[0] for c in r] for r in body]
    return sum(max(len(r[i]) for r in texts) for i in keep) + 2 * (len(keep) - 1)


def wrap(line: str, width: int | None, indent: int = 4) -> list[str]:
    """``line`` wrapped to ``width`` (continuations indented); as it is without a width."""
    if width is None or len(line) <= width:
        return [line]
    lead = len(line) - len(line.lstrip(" "))
    return textwrap.wrap(
        line[lead:],
        width,
        initial_indent=" " * lead,
        subsequent_indent=" " * (lead + indent),
        break_on_hyphens=False,
    )


def terminal_width(environ: Mapping[str, str], tty_columns: int | None) -> int:
    """The width to fit: ``COLUMNS``, else the terminal's, else 80."""
    text = environ.get("COLUMNS", "")
    if text.isascii() and text.isdigit() and int(text) > 0:
        return int(text)
    return tty_columns or 80


# -- status ------------------------------------------------------------------------------------


def _project(obj: object, keys: Sequence[str]) -> dict[str, Any]:
    source = obj if isinstance(obj, Mapping) else {}
    return {key: source.get(key) for key in keys}


def _list(obj: Mapping[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    return list(value) if isinstance(value, list) else []


def status_data(status: Mapping[str, Any]) -> dict[str, Any]:
    """The status reply reduced to the documented keys (see the module docstring)."""
    return {
        "daemon": _project(status.get("daemon"), DAEMON_KEYS),
        "sessions": [_project(s, SESSION_KEYS) for s in _list(status, "sessions")],
        "profiles": [_project(p, PROFILE_KEYS) for p in _list(status, "profiles")],
        "problems": [str(p) for p in _list(status, "problems")],
        "tokens": [_project(t, TOKEN_KEYS) for t in _list(status, "tokens")],
    }


#: How ``ssod status`` words the daemon's ``started_by``.
_STARTED_BY = {
    "service": ", run by the service manager",
    "autostart": ", started on demand (`ssod service install` makes it a service)",
    "foreground": ", started by hand (`ssod daemon`)",
}


def status_json(status: Mapping[str, Any]) -> str:
    """``ssod status --json``."""
    return json.dumps(status_data(status), indent=2)


def status_text(
    status: Mapping[str, Any], now: datetime, *, color: bool = False, width: int | None = None
) -> str:
    """``ssod status`` for a terminal: the daemon, then sessions, profiles and problems.

    With ``width``, no line is wider: tables drop their least useful columns first, and long
    lines wrap.
    """
    data = status_data(status)
    d = data["daemon"]
    out: list[str] = []

    def add(line: str, colour: str | None = None, indent: int = 4) -> None:
        out.extend(paint(part, colour, color) for part in wrap(line, width, indent))

    def field(label: str, value: str, colour: str | None = None) -> None:
        """``  label         value``, the value wrapped under itself."""
        prefix = f"  {label:<14}"
        room = None if width is None else max(width - len(prefix), 20)
        parts = wrap(value, room, 0)
        for i, part in enumerate(parts):
            out.append(paint((prefix if i == 0 else " " * len(prefix)) + part, colour, color))

    uptime = d["uptime_seconds"]
    up = f", up {duration(uptime)}" if isinstance(uptime, int | float) else ""
    loaded = relative(d["config_loaded_at"], now)
    how = _STARTED_BY.get(str(d["started_by"]), "")
    urls = d["ecs_urls"] if isinstance(d["ecs_urls"], list) and d["ecs_urls"] else [d["ecs_url"]]
    add(f"ssod {d['version'] or '?'} (pid {d['pid'] or '?'}){up}{how}", "bold", indent=2)
    field("ECS endpoint", ", ".join(str(u) for u in urls if u) or "-")
    if isinstance(d["ecs_waiting"], list) and d["ecs_waiting"]:
        waiting = ", ".join(str(w) for w in d["ecs_waiting"])
        field("", f"also {waiting} once it exists here (`ssod docker setup`)")
    if d["imds_url"]:
        field("IMDS endpoint", f"{d['imds_url']} (profile {d['imds_profile']})")
    if isinstance(d["endpoints"], dict):
        for name, url in d["endpoints"].items():
            field("AWS endpoint", f"{url} ({name})")
    field("config", f"{d['config_file'] or '-'}" + (f", loaded {loaded}" if loaded != "-" else ""))
    if d["token_store"]:
        where = f" ({d['token_store_where']})" if d["token_store_where"] else ""
        field("token store", f"{d['token_store']}{where}")
    for label, problem in _daemon_problems(d):
        field(label, problem, "red")
    out.append("")
    out.extend(_sessions_text(data["sessions"], now, color, width, bool(d["config_error"])))
    out.append("")
    out.extend(_profiles_text(data["profiles"], data["sessions"], now, color, width))
    if data["tokens"]:
        out.append("")
        shown = data["tokens"][-STATUS_TOKENS:]
        out.append(tokens_text(shown, now, color=color, width=width))
        if len(data["tokens"]) > len(shown):
            more = len(data["tokens"]) - len(shown)
            add(f"  ... and {more} older (`ssod token list` shows them all)")
    if data["problems"]:
        out.append("")
        out.append(paint("Problems in the config file:", "bold", color))
        for problem in data["problems"]:
            add(f"  ! {problem}", "yellow")
    return "\n".join(out)


#: How a session that cannot give out tokens is said, everywhere (status, credentials, exec).
LOGIN_NEEDED = "needs a login"


def login_needed_text(session: Mapping[str, Any]) -> str:
    """The one wording of "this session needs a login", as the daemon's error says it."""
    kind = "sso-session" if session.get("kind") == "sso-session" else "SSO start URL"
    why = session.get("last_error") or "not logged in"
    return (
        f"{kind} {session.get('name')} {LOGIN_NEEDED} ({why}): run `{session.get('login_command')}`"
    )


def _daemon_problems(d: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The daemon's own errors, each under its label (shown in red)."""
    found = [
        ("keyring", d["token_store_error"]),
        ("config error", d["config_error"]),
        ("ECS token", d["ecs_token_error"]),
        ("tokens error", d["tokens_error"]),
    ]
    if d["tokens_unsaved"]:
        found.append(("tokens", f"revocation not saved yet ({d['tokens_unsaved']}); retrying"))
    return [(label, str(problem)) for label, problem in found if problem]


def _sessions_text(
    sessions: list[dict[str, Any]],
    now: datetime,
    color: bool,
    width: int | None = None,
    broken: bool = False,
) -> list[str]:
    if not sessions and broken:
        # `ssod configure` would write into the file that does not parse.
        return ["No SSO sessions are loaded: fix the config error above."]
    if not sessions:
        return ["No SSO sessions are configured: run `ssod configure` or `aws configure sso`."]
    rows: list[list[Cell]] = []
    notes: list[str] = []
    for s in sessions:
        state = str(s["state"] or "?")
        ready = state == "ready"
        # Expired but refreshable: AWS did not answer, and the daemon is retrying by itself.
        retrying = state == "expired" and bool(s["refreshable"]) and bool(s["next_refresh"])
        if retrying:
            refresh = relative(s["next_refresh"], now)
        elif not ready:
            refresh = "-"
        elif s["refreshable"]:
            refresh = relative(s["next_refresh"], now)  # the why: next_refresh_reason in --json
        else:
            refresh = "cannot refresh"
        shown = LOGIN_NEEDED if state == "login_required" else state.replace("_", " ")
        rows.append(
            [
                str(s["name"]),
                (shown, _STATE_COLORS.get(state, "")),
                relative(s["token_expires_at"], now),
                refresh,
                relative(s["last_refresh"], now),
                str(s["region"] or "-"),
                str(s["start_url"] or "-"),
            ]
        )
        if retrying:
            why = f" ({s['last_error']})" if s["last_error"] else ""
            when = relative(s["next_refresh"], now)
            notes.append(f"  {s['name']}: AWS unavailable{why}, retrying {when}")
        elif not ready:
            notes.append(f"  {login_needed_text(s)}")
        elif s["last_error"]:
            notes.append(f"  {s['name']}: {s['last_error']} (will retry)")
    headers = ("SESSION", "STATE", "TOKEN EXPIRES", "NEXT REFRESH", "LAST REFRESH", "REGION")
    drop = ("START URL", "LAST REFRESH", "REGION", "TOKEN EXPIRES")
    lines = [table((*headers, "START URL"), rows, color=color, width=width, drop=drop)]
    for note in notes:
        lines.extend(paint(part, "yellow", color) for part in wrap(note, width))
    return lines


def _profiles_text(
    profiles: list[dict[str, Any]],
    sessions: list[dict[str, Any]],
    now: datetime,
    color: bool,
    width: int | None = None,
) -> list[str]:
    if not profiles:
        return ["No SSO profiles are configured."]
    waiting = {str(s["name"]) for s in sessions if s["state"] and s["state"] != "ready"}
    rows: list[list[Cell]] = []
    notes: list[str] = []
    for p in profiles:
        role = p["role_name"]
        if not role and isinstance(p["role_arn"], str):
            role = p["role_arn"].rsplit("/", 1)[-1] + " (assumed)"
        rows.append(
            [
                str(p["name"]),
                str(p["session"] or "-"),
                str(p["account_id"] or "-"),
                str(role or "-"),
                _credentials_cell(p, now),
                relative(p["last_used"], now),
            ]
        )
        # A profile of a session that needs a login fails for that reason, said above.
        if p["last_error"] and str(p["session"]) not in waiting:
            notes.append(f"  {p['name']}: {p['last_error']}")
    headers = ("PROFILE", "SESSION", "ACCOUNT", "ROLE", "CREDENTIALS", "LAST USED")
    drop = ("SESSION", "LAST USED", "ACCOUNT")
    lines = [table(headers, rows, color=color, width=width, drop=drop)]
    for note in notes:
        lines.extend(paint(part, "yellow", color) for part in wrap(note, width))
    return lines


def _credentials_cell(profile: Mapping[str, Any], now: datetime) -> Cell:
    """What the daemon holds for a profile, never "not fetched yet" beside a recent use."""
    expires = parse_time(profile["credentials_expire_at"])
    if profile["served"] and expires is not None:
        return (f"expire {relative(expires, now)}", "green")
    if expires is not None:
        return "expired"
    return "none held" if profile["last_used"] else "not fetched yet"


def tokens_text(
    tokens: list[dict[str, Any]], now: datetime, *, color: bool = False, width: int | None = None
) -> str:
    """The live scoped tokens as a table (ids and profiles; a token itself is never shown)."""
    if not tokens:
        return "No scoped tokens are live (`ssod token issue --profile NAME` makes one)."
    rows: list[list[Cell]] = [
        [
            str(t.get("id") or "?"),
            str(t.get("name") or "-"),
            str(t.get("profile") or "-"),
            relative(t.get("created_at"), now),
            relative(t.get("expires_at"), now),
            str(t.get("pid") or "-"),
        ]
        for t in tokens
    ]
    headers = ("SCOPED TOKEN", "NAME", "PROFILE", "CREATED", "EXPIRES", "PID")
    return table(headers, rows, color=color, width=width, drop=("CREATED", "PID"))


def issued_text(issued: Mapping[str, Any], now: datetime) -> str:
    """What ``ssod token issue`` says on stderr beside the token it prints (never the token)."""
    name = f" ({issued.get('name')})" if issued.get("name") else ""
    return (
        f"Scoped token {issued.get('id')}{name} serves profile {issued.get('profile')} "
        f"only, until {issued.get('expires_at')} ({relative(issued.get('expires_at'), now)}); "
        f"revoke it with `ssod token revoke {issued.get('id')}`"
    )


def revoked_text(result: Mapping[str, Any]) -> str:
    """What ``ssod token revoke`` says."""
    gone = [t for t in _list(result, "revoked") if isinstance(t, Mapping)]
    if not gone:
        return "No live scoped token matched; nothing was revoked."
    lines = [
        f"Revoked scoped token {t.get('id')} (profile {t.get('profile')}); refused from now on."
        for t in gone
    ]
    return "\n".join(lines)


# -- roles -------------------------------------------------------------------------------------


def roles_data(roles: Mapping[str, Any]) -> dict[str, Any]:
    """The roles reply reduced to its documented keys, in the wizard's menu order."""
    from ssod.client.output import order  # the AWS CLI's keys (aws/aws-cli#10149)

    out = _project(roles, ("session", "start_url", "region"))
    accounts = [_project(a, ACCOUNT_KEYS) for a in _list(roles, "accounts")]
    for account in accounts:
        account["roles"] = order.roles(str(r) for r in account["roles"] or [])
    out["accounts"] = order.accounts(accounts)
    return out


def roles_json(roles: Mapping[str, Any]) -> str:
    """``ssod roles --json``."""
    return json.dumps(roles_data(roles), indent=2)


def roles_text(
    roles: Mapping[str, Any], profiles: Iterable[Mapping[str, Any]] = (), *, color: bool = False
) -> str:
    """One row per account and role, with the profiles already configured for it."""
    data = roles_data(roles)
    configured: dict[tuple[str, str], list[str]] = {}
    for p in profiles:
        key = (str(p.get("account_id")), str(p.get("role_name")))
        configured.setdefault(key, []).append(str(p.get("name")))
    rows: list[list[Cell]] = []
    for a in data["accounts"]:
        for role in a["roles"] or ["(no roles)"]:
            names = configured.get((str(a["account_id"]), role), [])
            rows.append(
                [
                    str(a["account_id"]),
                    str(a["account_name"] or "-"),
                    role,
                    (", ".join(names), "green") if names else "-",
                ]
            )
    count = sum(len(a["roles"]) for a in data["accounts"])
    head = (
        f"sso-session {data['session']} ({data['start_url']}, {data['region']}): "
        f"{len(data['accounts'])} accounts, {count} roles"
    )
    if not rows:
        return head
    return head + "\n\n" + table(("ACCOUNT", "NAME", "ROLE", "PROFILES"), rows, color=color)


# -- logout, token rotation and login ----------------------------------------------------------


def logout_text(result: Mapping[str, Any]) -> str:
    """One line per session logged out."""
    sessions = _list(result, "sessions")
    if not sessions:
        return "No SSO sessions are configured: nothing to log out of."
    lines = []
    for s in sessions:
        revoked = "token revoked" if s.get("revoked") else "no valid token to revoke"
        removed = int(s.get("cli_cache_removed") or 0)
        cached = f"{removed} cached AWS CLI role credential{'s' if removed != 1 else ''} deleted"
        lines.append(
            f"Logged out of {s.get('session')}: {revoked}, token cache file deleted, {cached}."
        )
    return "\n".join(lines)


def rotated_text(endpoint: Mapping[str, Any]) -> str:
    """What ``ssod token rotate`` says (never the token itself)."""
    return (
        f"Rotated the ECS endpoint's authorization token; the new one is in "
        f"{endpoint.get('token_file')}.\n"
        "Tools reading AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE pick it up by themselves. Shells "
        "that exported AWS_CONTAINER_AUTHORIZATION_TOKEN must run again:\n"
        '  eval "$(ssod env)"'
    )


def verification_text(
    event: Mapping[str, Any], *, opening: bool, joined: bool, retry: str, session: str
) -> str:
    """What ``ssod login`` prints (to stderr) when the daemon shows the verification step."""
    url = str(event.get("url") or "")
    lines = []
    if joined:
        lines.append(f"A login for {session} is already in progress; finish it in the page it")
        lines.append("opened, or open this URL:")
    elif opening:
        lines.append("Attempting to open the sign-in page in your browser. If it does not open,")
        lines.append("open this URL:")
    elif event.get("flow") == "device":
        lines.append("Open this URL in a browser on any device:")
    else:
        lines.append("Open this URL in a browser on this machine:")
    lines += ["", f"  {url}", ""]
    if event.get("flow") == "device":
        lines.append(f"or go to {event.get('verification_uri')} and enter the code:")
        lines += ["", f"  {event.get('user_code')}", ""]
    else:
        lines.append("The page returns to 127.0.0.1 on this machine; to sign in from another")
        lines.append(f"device, run `{retry} --use-device-code` instead.")
        lines.append("")
    lines.append("Waiting for the sign-in to complete (Ctrl-C cancels)...")
    return "\n".join(lines)


def login_done_text(event: Mapping[str, Any]) -> str:
    """The AWS CLI's success line (stdout), after its note of a region it rewrote."""
    text = f"Successfully logged into Start URL: {event.get('start_url')}"
    region = event.get("region_updated")
    return f"SSO region updated to {region}\n{text}" if region else text

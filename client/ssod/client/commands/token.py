"""``ssod token``: the ECS endpoint's tokens: rotate the main one; issue, revoke, list scoped ones.

``rotate`` replaces the main token (every profile) and never prints it. ``issue`` prints a new
scoped token (one profile, a lifetime) on stdout and nothing else there, so
``TOKEN=$(ssod token issue --profile dev)`` works; what it is and how to revoke it goes to
stderr. ``revoke`` takes an id or a name (never the token), a profile, or ``--all``; the
daemon refuses the token from that moment. ``list`` shows the live ones, as ``ssod status`` does.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ssod.client import common

if TYPE_CHECKING:
    from ssod.replies import IssueTokenReply


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod token`` (rotate, issue, revoke, list) to the command line."""
    p = sub.add_parser(
        "token",
        help="manage the ECS endpoint's tokens (rotate, issue, revoke, list)",
        description=(
            "Manage the authorization tokens of the daemon's ECS endpoint: the main token "
            "(every profile) and scoped tokens (one profile each, with a lifetime)."
        ),
    )
    actions = p.add_subparsers(dest="token_action", metavar="ACTION")
    rotate = actions.add_parser(
        "rotate",
        help="replace the main token (shells must run `ssod env` again)",
        description=(
            "Replace the ECS endpoint's authorization token. Tools that read "
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE follow by themselves; shells that exported "
            'AWS_CONTAINER_AUTHORIZATION_TOKEN must run eval "$(ssod env)" again. Scoped '
            "tokens are not affected."
        ),
    )
    common.add_no_start_argument(rotate)
    rotate.set_defaults(handler=common.handler(_rotate))

    issue = actions.add_parser(
        "issue",
        help="print a new token good for one profile only",
        description=(
            "Print a new scoped token on stdout: the ECS endpoint serves it for PROFILE only, "
            "until it expires or `ssod token revoke` revokes it. Give it to a container or a "
            "remote shell as AWS_CONTAINER_AUTHORIZATION_TOKEN. The daemon keeps only its "
            "SHA-256; it survives daemon restarts."
        ),
    )
    issue.add_argument("--profile", metavar="NAME", required=True, help="the one profile it serves")
    add_ttl_argument(issue)
    add_name_argument(issue)
    common.add_json_arguments(issue, "print id, name, profile, times and the token as JSON")
    common.add_no_start_argument(issue)
    issue.set_defaults(handler=common.handler(_issue))

    revoke = actions.add_parser(
        "revoke",
        help="revoke scoped tokens by id or name, by profile, or all",
        description="Revoke scoped tokens; the endpoint refuses them at once.",
    )
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("key", nargs="?", metavar="ID_OR_NAME", help="a token's id or name")
    which.add_argument("--profile", metavar="NAME", help="every scoped token of this profile")
    which.add_argument("--all", action="store_true", help="every scoped token")
    common.add_no_start_argument(revoke)
    revoke.set_defaults(handler=common.handler(_revoke))

    listing = actions.add_parser(
        "list", help="the live scoped tokens", description="List the live scoped tokens."
    )
    common.add_json_arguments(listing)
    common.add_no_start_argument(listing)
    listing.set_defaults(handler=common.handler(_list))

    p.set_defaults(handler=common.usage(p))


def add_ttl_argument(parser: argparse.ArgumentParser) -> None:
    """``--ttl DURATION`` (shared with ``ssod docker env`` and ``ssod env --remote``)."""
    parser.add_argument(
        "--ttl",
        metavar="DURATION",
        default=None,
        help="how long the token works: 90s, 15m, 12h, 7d, 1h30m (default 12h, at most 90d)",
    )


def add_name_argument(parser: argparse.ArgumentParser) -> None:
    """``--name LABEL``: a unique label to revoke the token by."""
    parser.add_argument(
        "--name", metavar="LABEL", default=None, help="a label to revoke it by (unique while live)"
    )


def issue_token(
    profile: str, ttl: str | None, name: str | None, *, start: bool = True
) -> IssueTokenReply:
    """Ask the daemon for a scoped token; ``--ttl`` is checked here first (exit 2 if bad)."""
    from ssod import scoped
    from ssod.client import common
    from ssod.wire import Op

    args: dict[str, str] = {"profile": profile}
    if ttl is not None:
        args["ttl"] = str(scoped.parse_ttl(ttl))
    if name:
        scoped.check_name(name)
        args["name"] = name
    with common.connect(start=start) as client:
        return client.request(Op.ISSUE_TOKEN, **args)


def _rotate(args: argparse.Namespace) -> int:
    from ssod.client import common
    from ssod.client.output import render
    from ssod.wire import Op

    with common.connect(start=common.wants_start(args)) as client:
        endpoint = client.request(Op.ROTATE_TOKEN)
    print(render.rotated_text(endpoint))
    return 0


def _issue(args: argparse.Namespace) -> int:
    import json
    from datetime import UTC, datetime

    from ssod.client.output import render

    issued = issue_token(args.profile, args.ttl, args.name, start=common.wants_start(args))
    if args.json:
        print(json.dumps(issued, indent=2))
    else:
        print(issued["token"])
        print(render.issued_text(issued, datetime.now(UTC)), file=sys.stderr)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from ssod.client import common
    from ssod.client.output import render
    from ssod.errors import EXIT_NOT_FOUND
    from ssod.wire import Op

    if args.all:
        which: dict[str, Any] = {"all": True}
    elif args.profile:
        which = {"profile": args.profile}
    else:
        which = {"id": args.key}
    with common.connect(start=common.wants_start(args)) as client:
        result = client.request(Op.REVOKE_TOKEN, **which)
    text = render.revoked_text(result)
    if not result["revoked"] and args.key:
        print(f"ssod: no live scoped token has the id or name {args.key!r}", file=sys.stderr)
        return EXIT_NOT_FOUND
    print(text)
    return 0


def _list(args: argparse.Namespace) -> int:
    import json
    from datetime import UTC, datetime

    from ssod.client import common
    from ssod.client.output import render
    from ssod.wire import Op

    with common.connect(start=common.wants_start(args)) as client:
        result = client.request(Op.LIST_TOKENS)
    tokens = [{k: t.get(k) for k in render.TOKEN_KEYS} for t in result["tokens"]]
    if args.json:
        print(json.dumps({"tokens": tokens}, indent=2))
    else:
        print(render.tokens_text(tokens, datetime.now(UTC), color=common.use_color()))
    return 0

"""``ssod eks``: EKS tokens for kubectl (``token``) and the kubeconfig entries that use them.

``token`` prints kubectl's ExecCredential, from the daemon's memory (docs/eks.md); the console
script answers it over the fast socket (``ssod.client.fastpath``), this full path when that
cannot (no daemon yet: one is started, as for ``credentials``). Only the ExecCredential goes to
stdout; an error is one ``ssod: ...`` line on stderr naming the fix, and a non-zero exit.
``kubeconfig`` writes or adopts kubeconfig users (``ssod.client.kubeconfig``).
"""

from __future__ import annotations

import argparse
from typing import Any

from ssod.client import common

#: The daemon signs from memory, or fetches credentials (and assumes a role) first.
TOKEN_TIMEOUT = 15.0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``ssod eks`` (token, kubeconfig) to the command line."""
    p = sub.add_parser(
        "eks",
        help="EKS tokens for kubectl, and kubeconfig entries that use them",
        description=(
            "Serve Amazon EKS authentication tokens to kubectl from the daemon (signed locally, "
            "reused for their lifetime), and write kubeconfig entries that use them."
        ),
    )
    actions = p.add_subparsers(dest="eks_action", metavar="ACTION")
    token = actions.add_parser(
        "token",
        help="print kubectl's ExecCredential for a cluster (an exec plugin)",
        description=(
            "Print the ExecCredential kubectl expects from an exec plugin: an EKS token for "
            "CLUSTER signed with PROFILE's credentials (or a role assumed with them). The AWS "
            "CLI's own arguments (--region R eks get-token --cluster-name N) are accepted too."
        ),
    )
    which = token.add_mutually_exclusive_group(required=True)
    which.add_argument("--cluster", metavar="NAME", help="the cluster's name")
    which.add_argument(
        "--cluster-id", metavar="ID", help="the cluster's id (EKS local clusters on Outposts)"
    )
    _add_profile_region(token)
    token.add_argument("--role-arn", metavar="ARN", help="sign with this role, assumed once")
    token.add_argument(
        "--session-name", metavar="NAME", help="the role session name (default EKSGetTokenAuth)"
    )
    common.add_no_start_argument(token)
    token.set_defaults(handler=common.handler(_token))

    config = actions.add_parser(
        "kubeconfig",
        help="write a cluster's kubeconfig entry, or adopt `aws eks get-token` users",
        description=(
            "Write or update the cluster, user and context of CLUSTER in the kubeconfig "
            "($KUBECONFIG or ~/.kube/config), as `aws eks update-kubeconfig` does, with ssod as "
            "the exec plugin (endpoint and CA from EKS DescribeCluster). --adopt instead points "
            "every `aws eks get-token` user at ssod, arguments unchanged, and leaves every other "
            "line as it is. kubectl does the YAML."
        ),
    )
    mode = config.add_mutually_exclusive_group(required=True)
    mode.add_argument("--cluster", metavar="NAME", help="the cluster's name")
    mode.add_argument(
        "--adopt", action="store_true", help="point existing `aws eks get-token` users at ssod"
    )
    _add_profile_region(config)
    config.add_argument("--alias", metavar="NAME", help="the context's name (default: the ARN)")
    config.add_argument(
        "--role-arn", metavar="ARN", help="the user signs with this role (assumed once by ssod)"
    )
    config.add_argument("--kubeconfig", metavar="PATH", help="the file to write")
    common.add_no_start_argument(config)
    config.set_defaults(handler=common.handler(_kubeconfig))

    p.set_defaults(handler=common.usage(p))


def _add_profile_region(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile", metavar="NAME", help="the profile (default: $AWS_PROFILE, then default)"
    )
    parser.add_argument(
        "--region", metavar="REGION", help="the cluster's region (default: the profile's)"
    )


def _token(args: argparse.Namespace) -> int:
    import os

    from ssod import eksargv
    from ssod.client.output import execcred
    from ssod.wire import Op

    fields = {
        name: value for name in eksargv.TOKEN_FLAGS.values() if (value := getattr(args, name, None))
    }
    request = execcred.request_args(fields, os.environ)
    with common.connect(TOKEN_TIMEOUT, start=common.wants_start(args)) as client:
        reply = client.request(Op.EKS_TOKEN, **request)
    print(execcred.render(reply, os.environ.get("KUBERNETES_EXEC_INFO")))
    return 0


def _kubeconfig(args: argparse.Namespace) -> int:
    from ssod.client import kubeconfig

    return kubeconfig.run(args)

"""The argv of an EKS exec plugin: ``ssod eks token ...`` and the AWS CLI's own ``eks get-token``.

kubectl runs the plugin before its first request, in a new process every time, so both forms are
read here without argparse (``ssod.client.fastpath`` sends the result over the fast socket). The
AWS CLI form is what ``aws eks update-kubeconfig`` writes into a kubeconfig: ``--region R eks
get-token --cluster-name N --output json`` with ``--cluster-id ID``, ``--role ARN`` (argparse's
abbreviation of ``--role-arn``) or ``--session-name S``, global flags anywhere; ``translate``
turns it into ssod's own argv, so a kubeconfig's ``command:`` can name ssod with its ``args:``
unchanged. Anything else, or any doubt, is argparse's business. Pure and import-free.
"""

from __future__ import annotations

CLUSTER = "cluster"
CLUSTER_ID = "cluster_id"
REGION = "region"
PROFILE = "profile"
ROLE_ARN = "role_arn"
SESSION_NAME = "session_name"

#: ``ssod eks token``'s flags and the request field each fills.
TOKEN_FLAGS = {
    "--cluster": CLUSTER,
    "--cluster-id": CLUSTER_ID,
    "--region": REGION,
    "--profile": PROFILE,
    "--role-arn": ROLE_ARN,
    "--session-name": SESSION_NAME,
}
#: The AWS CLI's flags (``eks get-token``'s and the globals) and ssod's flag for each.
_AWS_FLAGS = {
    "--cluster-name": "--cluster",
    "--cluster-id": "--cluster-id",
    "--role-arn": "--role-arn",
    "--role": "--role-arn",
    "--session-name": "--session-name",
    "--region": "--region",
    "--profile": "--profile",
}
#: The environment an EKS token depends on (kubeconfig ``env:`` sets AWS_PROFILE).
ENVIRONMENT = (
    "AWS_DEFAULT_PROFILE",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "KUBERNETES_EXEC_INFO",
)


def translate(argv: list[str]) -> list[str] | None:
    """ssod's argv for an AWS CLI ``eks get-token`` argv, or None if ``argv`` is not one.

    Known flags are renamed and ``--output json`` dropped; anything else is passed on, so
    argparse words the error for it.
    """
    positionals = []
    out = ["eks", "token"]
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if not word.startswith("--"):
            positionals.append(word)
            continue
        name, eq, value = word.partition("=")
        if not eq and i < len(argv) and not argv[i].startswith("--"):
            value = argv[i]
            i += 1
            eq = "="
        if name == "--output" and value == "json":
            continue
        renamed = _AWS_FLAGS.get(name, name)
        out.extend([renamed, value] if eq else [renamed])
    if positionals != ["eks", "get-token"]:
        return None
    return out


def token_fields(words: list[str]) -> dict[str, str] | None:
    """The fields of ``ssod eks token FLAGS`` exactly as argparse reads them, else None."""
    fields: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--no-start":
            continue
        name, eq, value = word.partition("=")
        if name not in TOKEN_FLAGS:
            return None
        if not eq:
            if i >= len(words) or words[i].startswith("-"):
                return None
            value = words[i]
            i += 1
        if not value:
            return None  # argparse takes it; the daemon would refuse an empty argument
        fields[TOKEN_FLAGS[name]] = value
    if (CLUSTER in fields) == (CLUSTER_ID in fields):
        return None  # exactly one of them: argparse words the error
    return fields

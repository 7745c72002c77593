"""STS over HTTP (query protocol): GetCallerIdentity and AssumeRole (role chaining).

Only SigV4-signed requests made with credentials this emulator issued are served: the signature
is recomputed from the raw request (``sigv4.py``), the session token must match, and expired
keys get ExpiredToken. Answers and errors are the real XML documents.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from aiohttp import web

from ssod.emulator import sigv4
from ssod.emulator.credentials import IssuedCredentials
from ssod.emulator.errors import STS_NS, StsError, request_id
from ssod.emulator.prologue import STATE, STS, begin, respond

_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
_CHAINING_LIMIT = 3600
_BAD_KEY_MESSAGE = "The security token included in the request is invalid."


def add_routes(app: web.Application) -> None:
    """Register the STS route."""
    app.router.add_post("/", _sts)


async def _sts(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    params = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    action = params.get("Action", "")
    if (early := await begin(request, action or "UnknownAction", STS)) is not None:
        return early
    try:
        caller = _authenticate(request, body)
        if action == "GetCallerIdentity":
            result = _identity_xml(caller)
        elif action == "AssumeRole":
            result = _assume_role(request, caller, params)
        else:
            raise StsError(
                "InvalidAction",
                f"Could not find operation {action} for version NO_VERSION_SPECIFIED",
            )
    except StsError as err:
        return respond(err)
    rid = request_id()
    xml = (
        f'<{action}Response xmlns="{STS_NS}">\n  <{action}Result>\n{result}  </{action}Result>\n'
        f"  <ResponseMetadata>\n    <RequestId>{rid}</RequestId>\n  </ResponseMetadata>\n"
        f"</{action}Response>\n"
    )
    return web.Response(
        body=xml.encode(), headers={"Content-Type": "text/xml", "x-amzn-RequestId": rid}
    )


def _authenticate(request: web.Request, body: bytes) -> IssuedCredentials:
    header = request.headers.get("Authorization")
    if header is None:
        raise StsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
    try:
        auth = sigv4.parse_authorization(header)
    except sigv4.MalformedAuthorization as err:
        raise StsError(
            "IncompleteSignature", f"Authorization header is invalid: {err}", 403
        ) from err
    state = request.app[STATE]
    creds = state.creds.lookup(auth.access_key_id)
    token = request.headers.get("X-Amz-Security-Token")
    if creds is None or token != creds.session_token:
        raise StsError("InvalidClientTokenId", _BAD_KEY_MESSAGE, 403)
    if "x-amz-security-token" not in auth.signed_headers or "host" not in auth.signed_headers:
        raise StsError("SignatureDoesNotMatch", "Host and session token must be signed.", 403)
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    expected = sigv4.expected_signature(
        auth,
        creds.secret_access_key,
        request.method,
        request.raw_path.partition("?")[0],
        request.query_string,
        headers,
        body,
    )
    if not sigv4.signature_matches(auth, expected):
        raise StsError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details.",
            403,
        )
    if state.creds.expired(creds):
        raise StsError("ExpiredToken", "The security token included in the request is expired")
    return creds


def _identity_xml(creds: IssuedCredentials) -> str:
    return (
        f"    <Arn>{escape(creds.arn)}</Arn>\n"
        f"    <UserId>{escape(creds.user_id)}</UserId>\n"
        f"    <Account>{creds.account_id}</Account>\n"
    )


def _assume_role(request: web.Request, caller: IssuedCredentials, params: dict[str, str]) -> str:
    state = request.app[STATE]
    arn, session_name = params.get("RoleArn", ""), params.get("RoleSessionName", "")
    match = _ROLE_ARN.match(arn)
    if match is None:
        raise StsError("ValidationError", f"{arn} is invalid")
    if not _SESSION_NAME.match(session_name):
        raise StsError(
            "ValidationError",
            f"1 validation error detected: Value '{session_name}' at 'roleSessionName' failed "
            "to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        )
    try:
        duration = int(params.get("DurationSeconds", "3600"))
    except ValueError as err:
        raise StsError("ValidationError", "DurationSeconds must be a number") from err
    if duration < 900:
        raise StsError(
            "ValidationError",
            f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
            "satisfy constraint: Member must have value greater than or equal to 900",
        )
    if duration > _CHAINING_LIMIT:  # every caller here is itself an assumed role
        raise StsError(
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit "
            "for roles assumed by role chaining.",
        )
    account_id, role_name = match.group(1), match.group(2)
    wanted_external = state.config.directory.external_ids.get(arn)
    if state.config.directory.account(account_id) is None or (
        wanted_external is not None and params.get("ExternalId") != wanted_external
    ):
        raise StsError(
            "AccessDenied",
            f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {arn}",
            403,
        )
    creds = state.creds.issue(account_id, role_name, session_name, duration, chained=True)
    expiration = _iso(creds.expires_at)
    return (
        "    <AssumedRoleUser>\n"
        f"      <AssumedRoleId>{escape(creds.user_id)}</AssumedRoleId>\n"
        f"      <Arn>{escape(creds.arn)}</Arn>\n"
        "    </AssumedRoleUser>\n"
        "    <Credentials>\n"
        f"      <AccessKeyId>{creds.access_key_id}</AccessKeyId>\n"
        f"      <SecretAccessKey>{escape(creds.secret_access_key)}</SecretAccessKey>\n"
        f"      <SessionToken>{escape(creds.session_token)}</SessionToken>\n"
        f"      <Expiration>{expiration}</Expiration>\n"
        "    </Credentials>\n"
    )


def _iso(epoch: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

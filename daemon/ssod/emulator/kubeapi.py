"""A Kubernetes API server stub for one EKS cluster, on HTTPS, that authenticates as EKS does.

Every request needs ``Authorization: Bearer <EKS token>`` that ``eksauth.verify`` accepts for
this cluster; anything else gets the API server's 401 ``Status``. Accepted requests get enough of
the API for ``kubectl get pods``: discovery (``/api``, ``/api/v1``, ``/apis``, ``/version``) and
the pods of a namespace (a ``Table`` when kubectl asks for one, else a ``PodList``). Counts
``KubeApi:accepted`` and ``KubeApi:refused`` in the emulator's call counters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ssod.emulator import eksauth
from ssod.emulator.state import EmulatorState

log = logging.getLogger("ssod.emulator.kube")

_STATE = web.AppKey("state", EmulatorState)
_CLUSTER = web.AppKey("cluster", str)
_POD = "hello-7d9c6b8f5-x2x9q"
_CREATED = "2026-12-01T00:00:00Z"


def _status(code: int, reason: str, message: str) -> web.Response:
    return web.json_response(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        },
        status=code,
    )


@web.middleware
async def _authenticate(
    request: web.Request, handler: Callable[[web.Request], Any]
) -> web.StreamResponse:
    state = request.app[_STATE]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise eksauth.Refused("no bearer token")
        eksauth.verify(token.strip(), request.app[_CLUSTER], state.creds.lookup, state.now())
    except eksauth.Refused as err:
        state.calls["KubeApi:refused"] += 1
        log.info("kube api refused a token: %s", err)
        return _status(401, "Unauthorized", "Unauthorized")
    state.calls["KubeApi:accepted"] += 1
    response: web.StreamResponse = await handler(request)
    return response


async def _api(request: web.Request) -> web.Response:
    host = request.host
    return web.json_response(
        {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
        }
    )


async def _apis(request: web.Request) -> web.Response:
    return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})


async def _api_v1(request: web.Request) -> web.Response:
    pods = {
        "name": "pods",
        "singularName": "pod",
        "namespaced": True,
        "kind": "Pod",
        "verbs": ["get", "list"],
        "shortNames": ["po"],
        "categories": ["all"],
    }
    return web.json_response({"kind": "APIResourceList", "groupVersion": "v1", "resources": [pods]})


async def _version(request: web.Request) -> web.Response:
    return web.json_response(
        {"major": "1", "minor": "32", "gitVersion": "v1.32.0-eks-emulator", "platform": "linux"}
    )


def _pod(namespace: str) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": _POD, "namespace": namespace, "creationTimestamp": _CREATED},
        "spec": {"containers": [{"name": "hello", "image": "hello:1"}]},
        "status": {"phase": "Running"},
    }


async def _pods(request: web.Request) -> web.Response:
    namespace = request.match_info["namespace"]
    if "as=Table" in request.headers.get("Accept", ""):
        return web.json_response(
            {
                "kind": "Table",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": {"resourceVersion": "1"},
                "columnDefinitions": [
                    {"name": "Name", "type": "string", "format": "name", "priority": 0},
                    {"name": "Ready", "type": "string", "format": "", "priority": 0},
                    {"name": "Status", "type": "string", "format": "", "priority": 0},
                    {"name": "Restarts", "type": "string", "format": "", "priority": 0},
                    {"name": "Age", "type": "string", "format": "", "priority": 0},
                ],
                "rows": [
                    {
                        "cells": [_POD, "1/1", "Running", "0", "4d"],
                        "object": {
                            "kind": "PartialObjectMetadata",
                            "apiVersion": "meta.k8s.io/v1",
                            "metadata": {"name": _POD, "namespace": namespace},
                        },
                    }
                ],
            }
        )
    return web.json_response(
        {
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": "1"},
            "items": [_pod(namespace)],
        }
    )


async def _not_found(request: web.Request) -> web.Response:
    return _status(404, "NotFound", "the server could not find the requested resource")


def build_app(state: EmulatorState, cluster: str) -> web.Application:
    """The API server of ``cluster``."""
    app = web.Application(middlewares=[_authenticate])
    app[_STATE] = state
    app[_CLUSTER] = cluster
    app.router.add_get("/api", _api)
    app.router.add_get("/apis", _apis)
    app.router.add_get("/api/v1", _api_v1)
    app.router.add_get("/version", _version)
    app.router.add_get("/api/v1/namespaces/{namespace}/pods", _pods)
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app

"""``/health/live``, ``/health/ready`` and ``/metrics`` for a service, built from what the service knows.

Each service says how it is, per request, with a probe: ``probe(request) -> (healthy, body)``;
the route answers the body as JSON, with 200 when healthy and 503 when not (what
orchestrators read: Docker's and Kubernetes' probes, the launcher's readiness wait).
``/metrics`` serves the service's Prometheus registry and stays out of the OpenAPI.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from semlink.http.serve import metrics_response

Probe = Callable[[Request], tuple[bool, dict[str, Any]]]
"""``(healthy, JSON body)`` for one request; its docstring documents the route in the OpenAPI."""


def always_live(request: Request) -> tuple[bool, dict[str, Any]]:
    """200 while the process answers."""
    return True, {"status": "live"}


def health_routes(ready: Probe, registry: Callable[[Request], Any], live: Probe = always_live,
                  model: type[BaseModel] | None = None, tags: list[str] | None = None) -> APIRouter:
    """The three routes, on their own router (so a service can guard them apart from its API).

    ``registry(request)`` is the Prometheus registry ``/metrics`` serves; ``model``, when
    given, is the schema both probes' bodies follow (200 and 503), for the OpenAPI.
    """
    router = APIRouter(tags=tags)
    documented = {"response_model": model, "responses": {503: {"model": model}}} if model is not None else {}

    def answer(probe: Probe, request: Request) -> JSONResponse:
        healthy, body = probe(request)
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def live_route(request: Request):
        return answer(live, request)

    async def ready_route(request: Request):
        return answer(ready, request)

    async def metrics(request: Request):
        return metrics_response(registry(request))

    # named as the services' own routes were: the same OpenAPI summaries and operation ids
    router.add_api_route("/health/live", live_route, methods=["GET"], name="live", description=inspect.getdoc(live),
                         **documented)
    router.add_api_route("/health/ready", ready_route, methods=["GET"], name="ready",
                         description=inspect.getdoc(ready), **documented)
    router.add_api_route("/metrics", metrics, methods=["GET"], name="metrics", include_in_schema=False)
    return router

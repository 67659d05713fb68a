"""One error schema for the services' REST APIs: ``{"detail": "<one line>"}``, always valid JSON.

FastAPI's default handlers echo the bad input back; an input of ``1e400``, ``NaN`` or a
lone surrogate then makes the error itself unserialisable (a 500 instead of the 422).
:func:`add_error_handlers` installs handlers that name the bad field in one line and
render every error body as strict ASCII JSON. :class:`ErrorBody` is that body in the
OpenAPI: :func:`error_responses` documents it for the statuses a route can answer, and
:func:`document_errors` for any error a route lists without a body (FastAPI's own 422
schema, an array of objects, is replaced: it is not what is sent).
A method a path does not serve gets 405 with ``Allow`` listing every method the path
does serve (Starlette names only the first route's).
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.routing import Match

from semlink.http.serve import validation_detail


def finite(value: Any) -> Any:
    """``value`` with non-finite floats written as strings (``"inf"``, ``"nan"``), which JSON can carry."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


class ErrorResponse(JSONResponse):
    """A JSON error body that always renders: ASCII escapes (lone surrogates included), no NaN or Infinity."""

    def render(self, content: Any) -> bytes:
        return json.dumps(finite(content), ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


class ErrorBody(BaseModel):
    """Every error answer of the three services (4xx and 5xx): one line saying what was wrong and what to do."""

    detail: str = Field(description="what was wrong and what to do next, in one line",
                        examples=["body.wait_ms: Input should be a valid integer (got False)"])


ERROR_SCHEMA = ErrorBody.model_json_schema()
ERROR_DESCRIPTIONS = {
    400: "a body that cannot be parsed (not UTF-8, broken multipart framing)",
    401: "missing or wrong bearer token (the service's API_TOKEN is set)",
    404: "no such resource (the detail says why)",
    405: "method not served on this path; Allow lists those that are",
    409: "conflicts with the current state",
    413: "request body over the service's limit",
    415: "a body of a media type this route does not take",
    422: "a body or parameter that fails validation (the detail names each field)",
    429: "queue full; retry after Retry-After seconds",
    500: "the request failed inside the service",
    503: "not ready (loading, or failed to start) or overloaded; retry after Retry-After seconds",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "string"}}}
HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer (RFC 6750)", "schema": {"type": "string"}}},
    429: RETRY_AFTER,
    503: RETRY_AFTER,
}


def error_responses(*codes: int, **descriptions: str) -> dict[int, dict[str, Any]]:
    """OpenAPI ``responses`` for ``codes``, each an :class:`ErrorBody`; ``descriptions`` (``e404="..."``)
    replace the generic text of a status."""
    responses = {}
    for code in codes:
        # the schema inline, under application/json: FastAPI files a ``model`` under the route's own media type,
        # which for the event feed or a thumbnail is not what an error is sent as
        entry: dict[str, Any] = {"content": {"application/json": {"schema": ERROR_SCHEMA}},
                                 "description": descriptions.get(f"e{code}", ERROR_DESCRIPTIONS[code])}
        if code in HEADERS:
            entry["headers"] = HEADERS[code]
        responses[code] = entry
    return responses


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """Every method some route of the app serves on ``request``'s path, for an ``Allow`` header: each method is
    tried against the routes (FastAPI's included routers hide their routes' methods, but answer ``matches``)."""
    routes = request.app.router.routes
    allowed = [method for method in HTTP_METHODS
               if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)]
    return ", ".join(allowed)


def error_response(status_code: int, detail: Any, headers: dict[str, str] | None = None) -> ErrorResponse:
    return ErrorResponse({"detail": detail}, status_code=status_code, headers=headers)


def add_error_handlers(app: FastAPI) -> None:
    """422 for bodies and parameters that fail validation, naming each field; HTTP errors in the same shape."""

    async def invalid(_: Request, err: RequestValidationError) -> ErrorResponse:
        return error_response(422, validation_detail(err))

    async def http_error(request: Request, err: HTTPException) -> ErrorResponse:
        headers = getattr(err, "headers", None)
        if err.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return error_response(err.status_code, err.detail, headers)

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)
    document_errors(app)


FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def document_errors(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document every error as :class:`ErrorBody` (what :func:`add_error_handlers` sends),
    also where a route lists an error without a body, or lists no 422 (FastAPI then adds its own, an array of
    objects that is never sent). Errors documented with a body of their own (health's 503) are left as they are."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    for status, response in operation.get("responses", {}).items():
                        body = response.get("content", {}).get("application/json", {}).get("schema", {})
                        if status[0] in "45" and ("content" not in response or body.get("$ref") == FASTAPI_422):
                            response["content"] = {"application/json": {"schema": ERROR_SCHEMA}}
            if FASTAPI_422 not in str(schema.get("paths")):
                schemas = schema.get("components", {}).get("schemas", {})
                schemas.pop("HTTPValidationError", None)
                schemas.pop("ValidationError", None)
        return app.openapi_schema

    app.openapi = openapi

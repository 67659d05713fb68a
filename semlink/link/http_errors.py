"""One error schema for the services' REST APIs: ``{"detail": "<one line>"}``, always valid JSON.

FastAPI's default handlers echo the bad input back; an input of ``1e400``, ``NaN`` or a
lone surrogate then makes the error itself unserialisable (a 500 instead of the 422).
:func:`add_error_handlers` installs handlers that name the bad field in one line and
render every error body as strict ASCII JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from semlink.link.serve import validation_detail


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


def error_response(status_code: int, detail: Any, headers: dict[str, str] | None = None) -> ErrorResponse:
    return ErrorResponse({"detail": detail}, status_code=status_code, headers=headers)


def add_error_handlers(app: FastAPI) -> None:
    """422 for bodies and parameters that fail validation, naming each field; HTTP errors in the same shape."""

    async def invalid(_: Request, err: RequestValidationError) -> ErrorResponse:
        return error_response(422, validation_detail(err))

    async def http_error(_: Request, err: HTTPException) -> ErrorResponse:
        return error_response(err.status_code, err.detail, getattr(err, "headers", None))

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)

"""The edge: plain exceptions from the receiver become JSON ``{"detail": ...}`` with a status that says what to do."""

from __future__ import annotations

from fastapi import FastAPI, Request

from semlink.florence import PromptTooLong, UnknownTask
from semlink.http.errors import ErrorResponse, error_response
from semlink.http.errors import add_error_handlers as add_http_error_handlers
from semlink.receiver import Overloaded
from receiver_service.receiver import FrameNotFound, NotReady, TaskFailed

RETRY_AFTER_S = "1"


def add_error_handlers(app: FastAPI) -> None:
    add_http_error_handlers(app)

    async def bad_task(_: Request, err: UnknownTask | PromptTooLong) -> ErrorResponse:
        return error_response(422, str(err))

    async def not_found(_: Request, err: FrameNotFound) -> ErrorResponse:
        return error_response(404, str(err))

    async def overloaded(_: Request, err: Overloaded) -> ErrorResponse:
        return error_response(503, f"overloaded: {err}", {"Retry-After": RETRY_AFTER_S})

    async def not_ready(_: Request, err: NotReady) -> ErrorResponse:
        return error_response(503, str(err), {"Retry-After": RETRY_AFTER_S})

    async def failed(_: Request, err: TaskFailed) -> ErrorResponse:
        return error_response(500, str(err))

    app.add_exception_handler(UnknownTask, bad_task)
    app.add_exception_handler(PromptTooLong, bad_task)
    app.add_exception_handler(FrameNotFound, not_found)
    app.add_exception_handler(Overloaded, overloaded)
    app.add_exception_handler(NotReady, not_ready)
    app.add_exception_handler(TaskFailed, failed)

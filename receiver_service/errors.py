"""The edge: plain exceptions from the receiver become JSON ``{"detail": ...}`` with a status that says what to do."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from semlink.florence import UnknownTask
from semlink.receiver import Overloaded
from receiver_service.receiver import FrameNotFound, NotReady

RETRY_AFTER_S = "1"


def add_error_handlers(app: FastAPI) -> None:
    async def unknown_task(_: Request, err: UnknownTask) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=422)

    async def not_found(_: Request, err: FrameNotFound) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=404)

    async def overloaded(_: Request, err: Overloaded) -> JSONResponse:
        return JSONResponse({"detail": f"overloaded: {err}"}, status_code=503, headers={"Retry-After": RETRY_AFTER_S})

    async def not_ready(_: Request, err: NotReady) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=503, headers={"Retry-After": RETRY_AFTER_S})

    app.add_exception_handler(UnknownTask, unknown_task)
    app.add_exception_handler(FrameNotFound, not_found)
    app.add_exception_handler(Overloaded, overloaded)
    app.add_exception_handler(NotReady, not_ready)

"""The receiver's FastAPI app: lifespan (boot and graceful stop), middleware, error handlers, routers."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from semlink.florence import FlorenceBundle
from receiver_service.errors import add_error_handlers
from receiver_service.limits import BodySizeLimit
from receiver_service.receiver import Receiver
from receiver_service.routers import events, frames, health, page, tasks
from receiver_service.settings import ReceiverSettings
from semlink.http.tokens import guarded


def create_app(settings: ReceiverSettings | None = None, bundle: FlorenceBundle | None = None) -> FastAPI:
    """The app; ``bundle`` (optional) is an already loaded model to use instead of loading ``settings.model``."""
    settings = settings or ReceiverSettings()
    receiver = Receiver(settings, bundle)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        receiver.start()
        yield
        await receiver.stop()

    app = FastAPI(title="semlink receiver", version="1", lifespan=lifespan,
                  description="Florence-2 tasks on vision features received over gRPC (FeatureLink).")
    app.state.receiver = receiver
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    add_error_handlers(app)
    api = guarded(settings.api_token)
    for module in (tasks, frames, events):
        app.include_router(module.router, **api)
    app.include_router(health.router, **(api if settings.protect_health else {}))
    app.include_router(page.router)
    return app

"""The transmitter's FastAPI app: the transmitter starts and stops with the app, routes serve it."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from semlink.http.cors import allow_origins
from semlink.http.errors import add_error_handlers
from semlink.http.tokens import guarded
from transmitter_service.transmitter import Transmitter
from transmitter_service.routes import health_router, router
from transmitter_service.settings import TransmitterSettings
from transmitter_service.source_routes import router as source_router


def create_app(settings: TransmitterSettings | None = None) -> FastAPI:
    settings = settings or TransmitterSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.transmitter = Transmitter(settings)
        await app.state.transmitter.start()
        yield
        await app.state.transmitter.close()

    app = FastAPI(title="semlink transmitter", version="1", lifespan=lifespan)
    allow_origins(app, settings.cors_origins)
    add_error_handlers(app)
    api = guarded(settings.api_token)
    app.include_router(router, **api)
    app.include_router(source_router, **api)
    app.include_router(health_router, **(api if settings.protect_health else {}))
    return app

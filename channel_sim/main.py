"""channel_sim's FastAPI app: the gRPC proxy starts and stops with the app, routes control it."""

from __future__ import annotations

from contextlib import asynccontextmanager

import grpc
from fastapi import FastAPI

from channel_sim.proxy import Proxy
from channel_sim.routes import router
from channel_sim.service import SERVER_OPTIONS, FeatureLinkProxy, add_to_server
from channel_sim.settings import ChannelSimSettings
from semlink.link.cors import allow_origins
from semlink.link.http_errors import add_error_handlers


def create_app(settings: ChannelSimSettings | None = None) -> FastAPI:
    settings = settings or ChannelSimSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        proxy = Proxy(settings.initial_spec(), settings.upstream, queue_size=settings.queue_size,
                      ack_timeout_s=settings.ack_timeout_s, session_timeout_s=settings.session_timeout_s,
                      delay_line_frames=settings.delay_line_frames, delay_line_bytes=settings.delay_line_bytes)
        server = grpc.aio.server(options=SERVER_OPTIONS)
        add_to_server(FeatureLinkProxy(proxy), server)
        app.state.proxy = proxy
        app.state.serving = False
        app.state.grpc_port = server.add_insecure_port(f"{settings.host}:{settings.grpc_port}")
        await proxy.start()
        await server.start()
        app.state.serving = True
        yield
        app.state.serving = False
        await server.stop(grace=1.0)
        await proxy.close()

    app = FastAPI(title="semlink channel_sim", version="1", lifespan=lifespan)
    allow_origins(app, settings.cors_origins)
    add_error_handlers(app)
    app.include_router(router)
    return app

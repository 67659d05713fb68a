"""channel_sim's FastAPI app: the gRPC proxy starts and stops with the app, routes control it."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from channel_sim.proxy import Proxy
from channel_sim.routes import health_router, router
from channel_sim.service import SERVER_OPTIONS, FeatureLinkProxy, add_to_server
from channel_sim.settings import ChannelSimSettings
from semlink.http.cors import allow_origins
from semlink.link.grpc_channel import LinkSecurity, secret
from semlink.link.grpc_server import LinkServer
from semlink.http.errors import add_error_handlers
from semlink.security.tls import server_tls
from semlink.http.tokens import guarded


def create_app(settings: ChannelSimSettings | None = None) -> FastAPI:
    settings = settings or ChannelSimSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        s = settings
        upstream = LinkSecurity.of_client(s)
        proxy = Proxy(settings.initial_spec(), settings.upstream, queue_size=settings.queue_size,
                      ack_timeout_s=settings.ack_timeout_s, session_timeout_s=settings.session_timeout_s,
                      delay_line_frames=settings.delay_line_frames, delay_line_bytes=settings.delay_line_bytes,
                      security=upstream)
        server = LinkServer(ready=lambda: app.state.serving, options=SERVER_OPTIONS, token=secret(s.grpc_token),
                            tls=server_tls(s.tls_cert, s.tls_key, s.tls_ca, s.tls_client_auth))
        add_to_server(FeatureLinkProxy(proxy), server.server)
        app.state.proxy = proxy
        app.state.serving = False
        app.state.grpc_port = server.bind(f"{settings.host}:{settings.grpc_port}", setting="SEMLINK_CH_GRPC_PORT")
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
    api = guarded(settings.api_token)
    app.include_router(router, **api)
    app.include_router(health_router, **(api if settings.protect_health else {}))
    return app

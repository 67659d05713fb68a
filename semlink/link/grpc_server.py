"""The one place gRPC servers are built: FeatureLink's message limits, TLS or plaintext, an optional bearer
token, the standard ``grpc.health.v1`` service following the service's readiness, and server reflection.

    server = LinkServer(ready=lambda: receiver.ready, tls=ServerTls(...), token="s3cret")
    add_feature_link(server.server, ...)
    port = server.bind("0.0.0.0:50051")
    await server.start()   # health SERVING while ready() is true, NOT_SERVING otherwise
    await server.stop(5.0) # health NOT_SERVING first, then a graceful stop

Health covers the whole server (service ``""``) and each served service by name, so
grpc's client-side health checking (``healthCheckConfig``), Envoy, Kubernetes' gRPC
probes and ``grpcurl ... grpc.health.v1.Health/Check`` all see the same thing. The
token guards the served services only; health and reflection stay open (probes send none).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1 import health as sync_health
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from semlink.link.grpc_channel import secret
from semlink.link.sender import MESSAGE_SIZE_OPTIONS
from semlink.security.tls import ServerTls

log = logging.getLogger(__name__)

FEATURE_LINK = "semlink.v2.FeatureLink"
HEALTH = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
READINESS_POLL_S = 0.25


def _abort_handler(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, reason: str) -> grpc.RpcMethodHandler:
    """A handler of ``handler``'s kind that refuses every call with ``code`` and ``reason``."""
    async def refuse(request, context):
        log.warning("refused a call from %s: %s", context.peer(), reason)
        await context.abort(code, reason)

    kind = {(False, False): grpc.unary_unary_rpc_method_handler, (False, True): grpc.unary_stream_rpc_method_handler,
            (True, False): grpc.stream_unary_rpc_method_handler, (True, True): grpc.stream_stream_rpc_method_handler}
    return kind[(handler.request_streaming, handler.response_streaming)](refuse)


class BearerToken(grpc.aio.ServerInterceptor):
    """Calls to ``services`` must carry ``authorization: Bearer <token>`` metadata (compared in constant
    time); others are refused ``UNAUTHENTICATED`` with the reason, and the refusal is logged."""

    def __init__(self, token: str, services: Sequence[str] = (FEATURE_LINK,)):
        if not token:
            raise ValueError("an empty token guards nothing; leave the interceptor out instead")
        self._expected = f"Bearer {token}".encode()
        self._prefixes = tuple(f"/{s}/" for s in services)

    def refusal(self, metadata) -> str | None:
        """Why a call with ``metadata`` is refused, or ``None`` when its token is right."""
        values = [v for k, v in (metadata or ()) if k == "authorization"]
        if not values:
            return "this FeatureLink requires a token: send 'authorization: Bearer <token>' metadata " \
                   "(set the client's upstream_token)"
        got = values[0].encode() if isinstance(values[0], str) else values[0]
        if not hmac.compare_digest(got, self._expected):
            return "wrong bearer token in 'authorization' metadata"
        return None

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or not handler_call_details.method.startswith(self._prefixes):
            return handler
        reason = self.refusal(handler_call_details.invocation_metadata)
        if reason is None:
            return handler
        return _abort_handler(handler, grpc.StatusCode.UNAUTHENTICATED, reason)


class LinkServer:
    """A ``grpc.aio`` server with health following ``ready()``, reflection, TLS and a token (see module doc)."""

    def __init__(self, *, ready: Callable[[], bool] = lambda: True, tls: ServerTls | None = None, token: str = "",
                 options: Sequence[tuple[str, object]] = MESSAGE_SIZE_OPTIONS,
                 services: Sequence[str] = (FEATURE_LINK,)):
        self.ready = ready
        self.tls = tls
        self.services = tuple(services)
        interceptors = [BearerToken(token, self.services)] if token else []
        self.server = grpc.aio.server(options=list(options), interceptors=interceptors)
        self.health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection([*self.services, HEALTH, reflection.SERVICE_NAME], self.server)
        self._serving: bool | None = None
        self._watch: asyncio.Task | None = None

    def bind(self, address: str, setting: str = "its grpc_port setting") -> int:
        """Listen on ``address`` (``host:port``, port 0 for any), with TLS when configured; returns the port.
        ``setting`` names what chooses the port, for the error when it is taken."""
        if self.tls is not None:
            port = self.server.add_secure_port(address, self.tls.credentials())
        else:
            port = self.server.add_insecure_port(address)
        if port == 0:
            raise OSError(f"could not bind gRPC to {address}; free the port or set {setting}")
        log.info("gRPC on %s (%s)", address, "mutual TLS" if self.tls and self.tls.mutual
                 else "TLS" if self.tls else "plaintext")
        return port

    async def start(self) -> None:
        await self._sync_health()
        await self.server.start()
        self._watch = asyncio.create_task(self._follow_readiness(), name="grpc-health")

    async def stop(self, grace: float | None) -> None:
        """Health ``NOT_SERVING`` (watchers and probes see the server leave), then grpc's graceful stop."""
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)

    async def _sync_health(self) -> None:
        try:
            serving = bool(self.ready())
        except Exception:  # a readiness check that fails means not ready
            log.exception("readiness check failed")
            serving = False
        if serving == self._serving:
            return
        self._serving = serving
        status = SERVING if serving else NOT_SERVING
        for service in ("", *self.services):
            await self.health.set(service, status)

    async def _follow_readiness(self) -> None:
        while True:
            await asyncio.sleep(READINESS_POLL_S)
            await self._sync_health()


def threaded_link_server(max_workers: int = 8, options: Sequence[tuple[str, object]] = MESSAGE_SIZE_OPTIONS,
                         services: Sequence[str] = (FEATURE_LINK,)) -> grpc.Server:
    """grpc's synchronous (thread pool) server with health ``SERVING`` and reflection, for test receivers and
    benchmarks that live outside an event loop; add the servicers, bind and start it as usual."""
    server = grpc.server(ThreadPoolExecutor(max_workers=max_workers), options=list(options))
    health = sync_health.HealthServicer()
    for service in ("", *services):
        health.set(service, SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection([*services, HEALTH, reflection.SERVICE_NAME], server)
    return server

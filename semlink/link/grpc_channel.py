"""The one place gRPC client channels are built: TLS or plaintext, the upstream's bearer token on every call,
and ``round_robin`` over several receivers with grpc's client-side health checking.

A target is what grpc accepts (``host:port``, ``dns:///name:port``, ``ipv4:a:p,b:p``)
or a comma list of addresses (``127.0.0.1:50051,127.0.0.1:50061``), which becomes an
``ipv4:``/``ipv6:`` target. Every channel uses the ``round_robin`` policy: a DNS name that
resolves to several receivers, or a list of them, spreads new streams over those whose
``grpc.health.v1`` status is ``SERVING``; a stream stays on the receiver it started on,
and when that receiver dies the stream ends and the next one goes to another.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass

import grpc

from semlink.security.tls import ClientTls, client_tls

SERVICE_CONFIG = json.dumps({
    "loadBalancingConfig": [{"round_robin": {}}],
    "healthCheckConfig": {"serviceName": ""},  # only receivers whose health is SERVING get streams
})


@dataclass(frozen=True)
class LinkSecurity:
    """How a client reaches its upstream: TLS (``None``: plaintext) and a bearer token (empty: none)."""

    tls: ClientTls | None = None
    token: str = ""

    @classmethod
    def of_client(cls, settings) -> LinkSecurity:
        """A client's own, from its settings (``tls_ca``, ``tls_cert``, ``tls_key``, ``upstream_token``): the
        transmitter's towards TARGET, channel_sim's towards its upstream."""
        return cls(client_tls(settings.tls_ca, settings.tls_cert, settings.tls_key), secret(settings.upstream_token))

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()


def secret(value) -> str:
    """A token setting's value: a pydantic ``SecretStr``, a plain string or ``None`` (no token: "")."""
    if value is None:
        return ""
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


def _address(part: str) -> tuple[str, str]:
    """``(scheme, address)`` of one ``host:port`` of a comma list: an IP literal (``localhost`` is 127.0.0.1)."""
    host, sep, port = part.strip().rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{part!r} in a list of receivers must be host:port")
    host = host.strip("[]")
    if host == "localhost":
        host = "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r}: a list of receivers takes IP addresses; for names use one DNS name that "
                         f"resolves to them all, e.g. dns:///receivers:{port}") from None
    return (f"ipv{ip.version}", f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}")


def resolve_target(target: str) -> str:
    """``target`` as grpc takes it: a comma list of addresses becomes one ``ipv4:``/``ipv6:`` target."""
    target = target.strip()
    if "," not in target or ":///" in target or target.startswith(("ipv4:", "ipv6:")):
        return target
    parts = [_address(p) for p in target.split(",") if p.strip()]
    schemes = {scheme for scheme, _ in parts}
    if len(schemes) > 1:
        raise ValueError(f"{target!r} mixes IPv4 and IPv6 addresses; grpc takes one family per target")
    return f"{schemes.pop()}:{','.join(address for _, address in parts)}"


class _AddMetadata:
    """Adds fixed metadata (the bearer token) to a call, on TLS and plaintext channels alike."""

    def __init__(self, metadata: Sequence[tuple[str, str]]):
        self.metadata = tuple(metadata)

    def details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()), *self.metadata)
        return grpc.aio.ClientCallDetails(details.method, details.timeout, metadata, details.credentials,
                                          details.wait_for_ready)


# grpc.aio files each interceptor under one call kind only, so one class per kind.
class _UnaryUnary(_AddMetadata, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation, details, request):
        return await continuation(self.details(details), request)


class _UnaryStream(_AddMetadata, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation, details, request):
        return await continuation(self.details(details), request)


class _StreamUnary(_AddMetadata, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation, details, request_iterator):
        return await continuation(self.details(details), request_iterator)


class _StreamStream(_AddMetadata, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation, details, request_iterator):
        return await continuation(self.details(details), request_iterator)


def metadata_interceptors(metadata: Sequence[tuple[str, str]]) -> list:
    """Client interceptors that add ``metadata`` to every call of every kind."""
    return [kind(metadata) for kind in (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)]


def link_channel(target: str, security: LinkSecurity | None = None,
                 options: Sequence[tuple[str, object]] = ()) -> grpc.aio.Channel:
    """A ``grpc.aio`` channel to ``target`` (see module doc) with ``security``; ``options`` are grpc channel
    options (the sender passes its message limits and reconnect backoff)."""
    security = security or LinkSecurity()
    all_options = [("grpc.service_config", SERVICE_CONFIG), *options]
    interceptors = metadata_interceptors(security.metadata()) if security.token else None
    target = resolve_target(target)
    if security.tls is not None:
        return grpc.aio.secure_channel(target, security.tls.credentials(), options=all_options,
                                       interceptors=interceptors)
    return grpc.aio.insecure_channel(target, options=all_options, interceptors=interceptors)

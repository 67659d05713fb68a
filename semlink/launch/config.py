"""One configuration for the three services, turned into each one's environment (``docs/services.md``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from semlink.launch.ports import LinkPorts
from semlink.wire.spread import DEFAULT_SLOT_MS

RECEIVER, CHANNEL, TRANSMITTER = "receiver_service", "channel_sim", "transmitter_service"
SERVICES = (RECEIVER, CHANNEL, TRANSMITTER)
"""In start order: each one's upstream is ready before it."""

ENV_PREFIX = {RECEIVER: "SEMLINK_RX_", CHANNEL: "SEMLINK_CH_", TRANSMITTER: "SEMLINK_TX_"}


SPREAD_DATAGRAMS = 8  # frames of up to this many datagrams finish in time (the built-in codecs send 4 to 8)


def spread_deadline_ms(spread: int) -> float:
    """The receiver's frame deadline for a transmitter spreading ``spread`` slots: the default 200 ms after a
    frame's last datagram left, for frames of up to :data:`SPREAD_DATAGRAMS` datagrams at the slowest slots."""
    return 200.0 + spread * (SPREAD_DATAGRAMS - 1) * DEFAULT_SLOT_MS


@dataclass(frozen=True)
class LinkConfig:
    """Model, codec, device and ports shared by the services, plus the channel's impairments.

    ``channel`` holds channel_sim's channel fields, the same names as its
    ``PUT /v1/channel`` body (``loss``, ``snr_db``, ``delay_ms``, ``jitter_ms``,
    ``rate_kbps``, ...): they become its ``SEMLINK_CH_*`` variables; ``None`` values are left out.
    ``source`` is what the transmitter sends on its own (``shapes``, ``folder``, ``video`` with
    ``source_path``, or ``none``) at ``source_fps``; the receiver also accepts ``reference_codecs``
    (the transmitter's comparison mode). ``api_token`` (if any) becomes each service's ``API_TOKEN``;
    ``grpc_token`` (if any) guards both gRPC hops (the servers' ``GRPC_TOKEN``, the clients' ``UPSTREAM_TOKEN``).
    ``certs`` (a directory ``semlink certs`` wrote) puts mutual TLS on both gRPC hops (REST stays HTTP).
    """

    model: str = "shapes-tiny"
    codec: str = "learned"
    device: str = "auto"
    dtype: str = "auto"
    host: str = "127.0.0.1"
    log_level: str = "info"
    ports: LinkPorts = field(default_factory=LinkPorts)
    channel: dict[str, Any] = field(default_factory=dict)
    source: str = "none"
    source_fps: float = 1.0
    source_path: str | None = None
    reference_codecs: str = "fp16,pixels-avif"  # what comparison mode sends: fp16 features, the best pixel peer
    api_token: str | None = None
    grpc_token: str | None = None
    certs: str | None = None
    spread: int = 0  # the transmitter's SPREAD (semlink.link.spreader); the receiver's frame deadline covers it
    pack: int = 1  # the transmitter's PACK (semlink.link.packer): frames a group of datagrams

    def url(self, service: str) -> str:
        """The REST base URL of ``service``."""
        port = {
            RECEIVER: self.ports.receiver_http,
            CHANNEL: self.ports.channel_http,
            TRANSMITTER: self.ports.transmitter_http,
        }[service]
        return f"http://{self.local_host}:{port}"

    def settings(self, service: str) -> dict[str, str]:
        """``service``'s settings (field name → value, as environment strings), before the prefix."""
        p = self.ports
        common = {"HOST": self.host, "LOG_LEVEL": self.log_level,
                  **({"API_TOKEN": self.api_token} if self.api_token else {})}
        model = {"MODEL": self.model, "CODEC": self.codec, "DEVICE": self.device, "DTYPE": self.dtype}
        page = {"CORS_ORIGINS": ",".join(self.page_origins)}  # the receiver's page calls the other two
        served = {"GRPC_TOKEN": self.grpc_token} if self.grpc_token else {}  # what a gRPC server requires
        sends = {"UPSTREAM_TOKEN": self.grpc_token} if self.grpc_token else {}  # what a gRPC client sends
        if service == RECEIVER:
            deadline = {"FRAME_DEADLINE_MS": str(spread_deadline_ms(self.spread))} if self.spread else {}
            return {**common, **model, **served, **deadline, "HTTP_PORT": str(p.receiver_http),
                    "GRPC_PORT": str(p.receiver_grpc),
                    "TRANSMITTER_URL": self.url(TRANSMITTER), "CHANNEL_URL": self.url(CHANNEL),
                    "REFERENCE_CODECS": self.reference_codecs}
        if service == CHANNEL:
            impairments = {name.upper(): str(v) for name, v in self.channel.items() if v is not None}
            return {**common, **impairments, **page, **served, **sends, "HTTP_PORT": str(p.channel_http),
                    "GRPC_PORT": str(p.channel_grpc), "UPSTREAM": f"{self.local_host}:{p.receiver_grpc}"}
        if service == TRANSMITTER:
            source = {"SOURCE": self.source, "RATE_FPS": str(self.source_fps),
                      **({"SOURCE_PATH": self.source_path} if self.source_path else {})}
            # counted from the first frame with channel_sim's overhead (its acks keep the two equal after a PUT)
            overhead = self.channel.get("datagram_overhead")
            transport = {"DATAGRAM_OVERHEAD": str(overhead)} if overhead is not None else {}
            spread = {"SPREAD": str(self.spread)} if self.spread else {}
            pack = {"PACK": str(self.pack)} if self.pack > 1 else {}
            return {**common, **model, **page, **source, **transport, **spread, **pack, **sends,
                    "HTTP_PORT": str(p.transmitter_http),
                    "TARGET": f"{self.local_host}:{p.channel_grpc}"}
        raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")

    def tls_settings(self, service: str) -> dict[str, str]:
        """``service``'s TLS settings with ``certs``: its certificate, the CA, and client certificates required
        by the two gRPC servers (mutual TLS on both hops); empty without ``certs``."""
        if not self.certs:
            return {}
        tls = {"TLS_CERT": f"{self.certs}/{service}.pem", "TLS_KEY": f"{self.certs}/{service}-key.pem",
               "TLS_CA": f"{self.certs}/ca.pem"}
        return {**tls, "TLS_CLIENT_AUTH": "true"} if service in (RECEIVER, CHANNEL) else tls

    def environment(self, service: str) -> dict[str, str]:
        """``service``'s environment variables (``SEMLINK_RX_MODEL=...``)."""
        prefix = ENV_PREFIX[service]
        settings = {**self.settings(service), **self.tls_settings(service)}
        return {prefix + name: value for name, value in settings.items()}

    @property
    def page_url(self) -> str:
        """The live page (served by the receiver at ``/``)."""
        return self.url(RECEIVER) + "/"

    @property
    def page_origins(self) -> list[str]:
        """Origins the page is loaded from: the receiver's URL, by ``localhost`` too when that is this machine."""
        origin = self.url(RECEIVER)
        local = origin.replace("//127.0.0.1:", "//localhost:", 1)
        return [origin] if local == origin else [origin, local]

    @property
    def local_host(self) -> str:
        """Where the services (and their clients) reach each other on this machine."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host

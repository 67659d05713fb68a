"""One configuration for the three services, turned into each one's environment (``docs/services.md``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from semlink.launch.ports import LinkPorts

RECEIVER, CHANNEL, TRANSMITTER = "receiver_service", "channel_sim", "transmitter_service"
SERVICES = (RECEIVER, CHANNEL, TRANSMITTER)
"""In start order: each one's upstream is ready before it."""

ENV_PREFIX = {RECEIVER: "SEMLINK_RX_", CHANNEL: "SEMLINK_CH_", TRANSMITTER: "SEMLINK_TX_"}


@dataclass(frozen=True)
class LinkConfig:
    """Model, codec, device and ports shared by the services, plus the channel's impairments.

    ``channel`` holds channel_sim's channel fields, the same names as its
    ``PUT /v1/channel`` body (``loss``, ``snr_db``, ``delay_ms``, ``jitter_ms``,
    ``rate_kbps``, ...): they become its ``SEMLINK_CH_*`` variables; ``None`` values are left out.
    """

    model: str = "shapes-tiny"
    codec: str = "learned"
    device: str = "auto"
    dtype: str = "auto"
    host: str = "127.0.0.1"
    log_level: str = "info"
    ports: LinkPorts = field(default_factory=LinkPorts)
    channel: dict[str, Any] = field(default_factory=dict)

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
        common = {"HOST": self.host, "LOG_LEVEL": self.log_level}
        model = {"MODEL": self.model, "CODEC": self.codec, "DEVICE": self.device, "DTYPE": self.dtype}
        if service == RECEIVER:
            return {**common, **model, "HTTP_PORT": str(p.receiver_http), "GRPC_PORT": str(p.receiver_grpc)}
        if service == CHANNEL:
            impairments = {name.upper(): str(v) for name, v in self.channel.items() if v is not None}
            return {**common, **impairments, "HTTP_PORT": str(p.channel_http), "GRPC_PORT": str(p.channel_grpc),
                    "UPSTREAM": f"{self.local_host}:{p.receiver_grpc}"}
        if service == TRANSMITTER:
            return {**common, **model, "HTTP_PORT": str(p.transmitter_http),
                    "TARGET": f"{self.local_host}:{p.channel_grpc}"}
        raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")

    def environment(self, service: str) -> dict[str, str]:
        """``service``'s environment variables (``SEMLINK_RX_MODEL=...``)."""
        prefix = ENV_PREFIX[service]
        return {prefix + name: value for name, value in self.settings(service).items()}

    @property
    def local_host(self) -> str:
        """Where the services (and their clients) reach each other on this machine."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host

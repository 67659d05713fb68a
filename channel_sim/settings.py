"""channel_sim's settings: one pydantic ``BaseSettings``, environment prefix ``SEMLINK_CH_``.

Besides ports and the upstream it carries the initial channel (every
:class:`~channel_sim.spec.ChannelSpec` field: ``SEMLINK_CH_LOSS``, ``SEMLINK_CH_DELAY_MS``...).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from channel_sim.spec import ChannelSpec
from semlink.http.cors import PAGE_ORIGINS
from semlink.security.settings import GrpcServerAuth, ServiceSecurity, UpstreamAuth


class ChannelSimSettings(ChannelSpec, ServiceSecurity, GrpcServerAuth, UpstreamAuth, BaseSettings):
    """Everything channel_sim reads from flags or ``SEMLINK_CH_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="SEMLINK_CH_", extra="ignore")

    host: str = Field("127.0.0.1", description="bind address for gRPC and REST (0.0.0.0 in Docker)")
    grpc_port: int = Field(50052, ge=0, le=65535, description="gRPC FeatureLink port transmitters stream to")
    http_port: int = Field(8002, ge=0, le=65535, description="REST control port")
    upstream: str = Field("localhost:50051", description="gRPC FeatureLink to forward to (the receiver)")
    queue_size: int = Field(256, ge=1, description="frames waiting for upstream; beyond it they are lost")
    delay_line_frames: int = Field(1024, ge=1, description="frame messages the delay line may hold (delay, rate "
                                   "cap); beyond, a new one is acked lost at once")
    delay_line_bytes: int = Field(256 * 2**20, ge=1, description="bytes the delay line may hold; beyond, a new "
                                  "message is acked lost at once")
    ack_timeout_s: float = Field(30.0, gt=0, description="a forwarded frame unacked this long is reported lost")
    session_timeout_s: float = Field(10.0, gt=0, description="how long a stream's session waits for the receiver's "
                                     "answer before it is refused as 'upstream unreachable'")
    log_level: str = Field("info", description="debug, info, warning, error")
    cors_origins: str = Field(PAGE_ORIGINS, description="origins (comma-separated) whose browser pages may call this "
                              "API: the receiver's page; empty for none")

    def initial_spec(self) -> ChannelSpec:
        return ChannelSpec(**self.spec_dict())

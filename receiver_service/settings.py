"""The receiver's settings: one ``BaseSettings``, environment prefix ``SEMLINK_RX_``, command-line flags on top."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from semlink.link.sender import MAX_MESSAGE_BYTES
from semlink.security.settings import GrpcServerAuth, ServiceSecurity


class ReceiverSettings(ServiceSecurity, GrpcServerAuth, BaseSettings):
    """semlink receiver: takes coded Florence-2 vision features over gRPC (FeatureLink), keeps the
decoded features of recent frames, and answers any Florence-2 task on them over REST, as often as asked.

Every flag is also an environment variable SEMLINK_RX_<FLAG> (e.g. --http-port is SEMLINK_RX_HTTP_PORT);
flags override the environment. REST API docs: http://HOST:HTTP_PORT/docs."""

    model_config = SettingsConfigDict(
        env_prefix="SEMLINK_RX_",
        cli_prog_name="python -m receiver_service",
        cli_kebab_case=True,
        cli_implicit_flags=True,
        cli_hide_none_type=True,
        cli_avoid_json=True,
    )

    model: str = Field("shapes-tiny", description="Florence-2: preset (shapes-tiny, tiny-random, base-random), "
                                                  "hub id or local directory; must match the transmitter's")
    codec: str = Field("learned", description="codec name (raw, fp16, q8, pca, learned) or checkpoint path; "
                                              "must match the transmitter's")
    device: str = Field("auto", description="torch device: auto (cuda if available), cpu, cuda, cuda:1...")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="model dtype: auto is float16 on CUDA, float32 on CPU")
    host: str = Field("127.0.0.1", description="interface for both servers (0.0.0.0 in Docker)")
    http_port: int = Field(8000, ge=0, le=65535, description="REST port")
    grpc_port: int = Field(50051, ge=0, le=65535, description="gRPC FeatureLink port")
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="logging level")

    store_size: int = Field(256, ge=1, description="decoded frames kept (least recently used evicted)")
    frame_deadline_ms: float = Field(200.0, ge=0, description="a frame missing packets is finished this long "
                                                              "after its first message; what is missing is lost")
    max_pending_frames: int = Field(256, ge=1, description="frames reassembling at once; beyond, the oldest "
                                                            "is finished early")
    max_batch: int = Field(8, ge=1, description="task requests per model call")
    max_delay_ms: float = Field(10.0, ge=0, description="how long the first request of a batch waits for others")
    queue_size: int = Field(64, ge=1, description="task requests waiting for the model; beyond, 503 at once")
    auto_task: str = Field("", description="run this task (e.g. <CAPTION>) on every frame as it arrives and "
                                           "publish it as an event; empty for none")
    max_new_tokens: int | None = Field(None, ge=1, description="cap on generated tokens; unset: the model's "
                                                               "generation config")
    max_event_subscribers: int = Field(100, ge=1, description="GET /v1/events subscribers served at once (503 "
                                       "beyond); each one's events are dropped, oldest first, if it reads too slowly")
    max_request_bytes: int = Field(64 * 1024, ge=1, description="largest REST request body (413 above)")
    max_grpc_message_bytes: int = Field(MAX_MESSAGE_BYTES, ge=1024, description="largest gRPC message (the "
                                        "transmitter and channel_sim use the same limit)")
    grace_s: float = Field(5.0, ge=0, description="graceful shutdown: seconds for in-flight gRPC and HTTP work")
    torch_threads: int = Field(0, ge=0, description="torch CPU threads (0: torch's default)")
    transmitter_url: str = Field("", description="the transmitter's REST URL as a browser reaches it, for the "
                                 "page at /; empty: the page's own host, port 8001")
    channel_url: str = Field("", description="channel_sim's REST URL as a browser reaches it, for the page at /; "
                             "empty: the page's own host, port 8002")
    reference_codecs: str = Field("", description="codecs (comma-separated, e.g. fp16,pixels-avif) whose sessions "
                                  "are accepted besides CODEC: the transmitter's comparison mode sends each frame "
                                  "with one too; pixels-avif (pixels-webp, pixels-jpeg) takes the image in streaming "
                                  "form and runs the vision tower on it; empty for none (semlink up sets "
                                  "fp16,pixels-avif)")
    store: str = Field("memory", description="frames shared between replicas: memory (this receiver's own only) "
                       "or redis://host:port/db (Redis or Valkey; any replica answers for a frame any one received)")
    store_ttl_s: float = Field(600.0, gt=0, description="with a shared store: seconds a frame is kept there")
    store_max_frames: int = Field(4096, ge=1, description="with a shared store: frames kept there at most "
                                                          "(oldest deleted first)")
    store_max_bytes: int = Field(1 << 30, ge=1, description="with a shared store: coded bytes kept there at most")
    store_timeout_s: float = Field(1.0, gt=0, description="with a shared store: a call to it failing after this "
                                                          "long answers 503")

    @property
    def reference_codec_names(self) -> list[str]:
        return [name.strip() for name in self.reference_codecs.split(",") if name.strip()]

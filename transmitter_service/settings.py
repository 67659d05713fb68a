"""The transmitter's settings: one pydantic ``BaseSettings``, environment prefix ``SEMLINK_TX_``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from semlink.http.cors import PAGE_ORIGINS
from semlink.packets.transport import MAX_OVERHEAD
from semlink.link.packer import DEFAULT_WAIT_MS
from semlink.packets.packing import MAX_PACK
from semlink.wire.spread import DEFAULT_SLOT_MS, MAX_SPREAD
from semlink.security.settings import ServiceSecurity, UpstreamAuth
from transmitter_service.comparison import DEFAULT_REFERENCE
from transmitter_service.images import DEFAULT_MAX_PIXELS
from transmitter_service.sources.base import SourceSpec


class TransmitterSettings(ServiceSecurity, UpstreamAuth, BaseSettings):
    """Everything the transmitter reads from flags or ``SEMLINK_TX_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="SEMLINK_TX_", protected_namespaces=())

    model: str = Field("shapes-tiny", description="Florence-2: preset (tiny-random, shapes-tiny...), hub id or dir")
    codec: str = Field("learned", description="codec: raw, fp16, q8, pca, learned, or a .safetensors checkpoint")
    device: str = Field("auto", description="auto, cpu, cuda or cuda:N")
    dtype: str = Field("auto", description="auto (fp16 on CUDA, fp32 on CPU), float32, float16, bfloat16")
    target: str = Field("localhost:50052", description="gRPC FeatureLink to stream to (channel_sim or receiver)")
    host: str = Field("127.0.0.1", description="REST bind address (0.0.0.0 in Docker)")
    http_port: int = Field(8001, ge=0, le=65535, description="REST port")
    queue_size: int = Field(32, ge=1, description="images waiting for the encoder; uploads get 429 beyond it")
    max_batch: int = Field(8, ge=1, description="most images encoded in one batch")
    max_delay_ms: float = Field(10.0, ge=0, description="longest wait for a batch to fill after its first image")
    max_upload_bytes: int = Field(20 * 1024 * 1024, ge=1, description="largest accepted upload (413 above)")
    max_image_pixels: int = Field(DEFAULT_MAX_PIXELS, ge=1, description="largest image, width × height, checked "
                                  "from its header before decoding (413 above)")
    max_queued_bytes: int = Field(512 * 1024 * 1024, ge=1, description="decoded image bytes waiting for or in the "
                                  "encoder; uploads get 429 beyond it")
    folder: str | None = Field(None, description="a directory of images (the folder source; same as SOURCE=folder "
                               "SOURCE_PATH=...)")
    rate_fps: float = Field(1.0, gt=0, le=60, description="frames per second taken from the source (SOURCE or FOLDER)")
    loop: bool = Field(True, description="go round FOLDER (or a video file) forever (else one pass)")
    source: Literal["none", "shapes", "folder", "video"] = Field(
        "none", description="frames sent without uploads: shapes (built-in scenes), folder, video (a file or "
        "rtsp:// URL, PyAV), none; GET/PUT /v1/source changes it while running")
    source_path: str | None = Field(None, description="the folder source's folder or the video source's file/URL")
    source_paused: bool = Field(False, description="start with the source paused")
    source_schemes: str = Field("rtsp,rtsps", description="URL schemes (comma-separated) a video source may use "
                                "besides plain files; FFmpeg's other protocols (http, tcp, udp, concat, subfile...) "
                                "are refused unless listed")
    source_hosts: str = Field("", description="hosts (comma-separated) a video source URL may name; empty: any")
    source_open_timeout_s: float = Field(10.0, gt=0, le=120, description="a source that has not opened after this "
                                         "long fails its switch (422) and the old source keeps running")
    thumbnails_kept: int = Field(256, ge=0, description="JPEG thumbnails kept for GET /v1/frames/{id}/thumbnail "
                                 "(the last frames; a few kB each: 1.4 kB a shapes scene, ~5 kB a 256 px photo)")
    thumbnail_size: int = Field(256, ge=16, le=1024, description="a thumbnail's longest side, pixels")
    comparison: bool = Field(False, description="send each frame twice, also with COMPARISON_REFERENCE through the "
                             "same channel (the receiver needs SEMLINK_RX_REFERENCE_CODECS to include it: fp16, "
                             "pixels-avif)")
    comparison_reference: str = Field(DEFAULT_REFERENCE, description="the comparison's reference: avif:20 (the best "
                                      "pixel peer, the image in streaming form), fp16 (features), or one pixel point "
                                      "such as webp:30; PUT /v1/comparison changes it")
    wire_timeout_s: float = Field(10.0, gt=0, description="POST waits this long for its frame to reach the wire")
    ack_timeout_s: float = Field(30.0, gt=0, description="a sent frame unacked this long is reported lost")
    datagram_overhead: int = Field(0, ge=0, le=MAX_OVERHEAD, description="transport bytes per datagram counted "
                                   "into wire_bytes (0 the link as simulated, 28 UDP/IPv4, 40 RTP/UDP/IPv4, 60 "
                                   "RTP/UDP/IPv6) until the link's acks say otherwise (a channel_sim counts its own)")
    spread: int = Field(0, ge=0, le=MAX_SPREAD, description="send datagram j of each frame SPREAD*j slots (frames) "
                        "after its first, between the other frames' datagrams, so a loss burst rarely takes a whole "
                        "frame (0: each frame's datagrams back to back); the receiver's FRAME_DEADLINE_MS must "
                        "cover SPREAD x (datagrams - 1) x SPREAD_SLOT_MS")
    spread_slot_ms: float = Field(DEFAULT_SLOT_MS, gt=0, le=10000, description="with SPREAD, a slot ends when the next frame "
                                  "comes or after this long without one")
    pack: int = Field(1, ge=1, le=MAX_PACK, description="send frames in groups of PACK: datagram j of a group "
                      "carries slice j of each of its frames, so a frame pays 1/PACK of each datagram's header, check "
                      "and transport bytes, and a lost datagram takes a slice of PACK frames, not a whole slice of "
                      "one; a frame waits for its group up to PACK - 1 frame periods (1: every frame alone)")
    pack_wait_ms: float = Field(DEFAULT_WAIT_MS, gt=0, le=10000, description="with PACK, a group goes when it holds "
                                "PACK frames or its first frame has waited this long")
    frames_kept: int = Field(10000, ge=1, description="frame statuses kept for GET /v1/frames/{id}")
    log_level: str = Field("info", description="debug, info, warning, error")
    cors_origins: str = Field(PAGE_ORIGINS, description="origins (comma-separated) whose browser pages may call this "
                              "API: the receiver's page; empty for none")

    @model_validator(mode="after")
    def _pack_or_spread(self) -> "TransmitterSettings":
        if self.pack > 1 and self.spread:
            raise ValueError(f"pack {self.pack} with spread {self.spread}: the services pack or spread, not both yet "
                             "(semlink eval --pack K --spread S measures the two together); choose one")
        return self

    @model_validator(mode="after")
    def _source_has_a_path(self) -> "TransmitterSettings":
        self.initial_source()  # a folder or video source without SOURCE_PATH (or FOLDER) says so at start
        return self

    def initial_source(self) -> SourceSpec:
        """The source to run at start: SOURCE, or the folder loop when only FOLDER is set."""
        kind = "folder" if self.source == "none" and self.folder else self.source
        path = self.source_path or (self.folder if kind == "folder" else None)
        return SourceSpec(kind=kind, fps=self.rate_fps, paused=self.source_paused, path=path)

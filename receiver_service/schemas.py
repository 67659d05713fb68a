"""Request and response bodies of the REST API."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from semlink.receiver import ReceivedFrame

MAX_WAIT_MS = 10_000


class TaskBody(BaseModel):
    """One question about a received frame."""

    task: str = Field("<CAPTION>", max_length=64, description="a Florence-2 task token, e.g. <CAPTION>, "
                      "<DETAILED_CAPTION>, <OD>, <OCR>, <CAPTION_TO_PHRASE_GROUNDING>")
    text: str | None = Field(None, max_length=2048, description="the task's text input, for tasks that take one "
                             "(grounding, referring expressions, regions)")
    wait_ms: int = Field(0, ge=0, le=MAX_WAIT_MS, description="how long to wait for a frame that has not "
                         "arrived yet before answering 404")

    # strict: no unknown fields (additionalProperties: false), and ``"wait_ms": false`` or ``"1"`` is not a number
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"task": "<CAPTION>", "text": None, "wait_ms": 2000}]})

    @field_validator("task", "text")
    @classmethod
    def _unicode(cls, value: str | None) -> str | None:
        """Text that cannot be UTF-8 (a lone surrogate such as ``"\\ud800"``) is refused here, not by the tokenizer."""
        if value is not None:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as err:
                raise ValueError(f"not valid Unicode text: {err.reason} at character {err.start}") from None
        return value


class TaskResult(BaseModel):
    """A task's answer on one frame's cached features, and what the frame cost on the link."""

    frame_id: int
    task: str
    result: Any = Field(description="post-processed answer: a string for captions and OCR, "
                        "{'bboxes', 'labels'} for <OD>, ...")
    model: str
    codec: str
    wire_bytes: int = Field(description="bytes of the frame's packets that arrived (headers, payloads and checks), "
                            "plus datagram_overhead for each of its datagrams")
    datagrams: int = Field(description="datagrams that arrived for it")
    datagram_overhead: int = Field(description="transport bytes counted per datagram, as the link stamped the frame "
                                   "(0: the link as simulated; 28 UDP/IPv4, 40 RTP/UDP/IPv4, 60 RTP/UDP/IPv6)")
    payload_bytes: int
    packets: int
    packets_lost: int
    latency_ms: float = Field(description="from the frame being available to the answer (queue + model)")
    queue_ms: float
    batch_size: int


class FrameSummary(BaseModel):
    frame_id: int
    codec: str
    status: str = Field(description="ok (all packets) or partial (some lost)")
    wire_bytes: int = Field(description="bytes of the frame's packets that arrived (headers, payloads and checks), "
                            "plus datagram_overhead for each of its datagrams")
    datagrams: int = Field(description="datagrams that arrived for it")
    datagram_overhead: int = Field(description="transport bytes counted per datagram, as the link stamped the frame "
                                   "(0: the link as simulated; 28 UDP/IPv4, 40 RTP/UDP/IPv4, 60 RTP/UDP/IPv6)")
    payload_bytes: int
    packets: int
    packets_lost: int
    age_s: float

    @classmethod
    def of(cls, frame: ReceivedFrame) -> "FrameSummary":
        return cls(frame_id=frame.frame_id, codec=frame.codec, status=frame.status,
                   wire_bytes=frame.wire_bytes, datagrams=frame.datagrams, datagram_overhead=frame.datagram_overhead,
                   payload_bytes=frame.payload_bytes, packets=frame.packets, packets_lost=frame.packets_lost,
                   age_s=round(time.time() - frame.received_at, 3))


class FrameDetail(FrameSummary):
    fingerprint: str
    packets_missing: int
    packets_corrupted: int
    messages: int = Field(description="messages merged into this frame (duplicates, parts)")
    lost_rows: list[int] = Field(description="latent rows erased (filled by the decompressor)")
    feature_shape: list[int]
    image_size: list[int] = Field(description="(width, height) used for box post-processing")
    decode_ms: float
    received_at: float
    meta: dict[str, str]
    auto_result: Any = Field(None, description="the SEMLINK_RX_AUTO_TASK answer, once computed")

    @classmethod
    def of(cls, frame: ReceivedFrame) -> "FrameDetail":
        return cls(
            **FrameSummary.of(frame).model_dump(), fingerprint=frame.fingerprint,
            packets_missing=frame.packets_missing, packets_corrupted=frame.packets_corrupted,
            messages=frame.messages, lost_rows=frame.lost_rows.nonzero().flatten().tolist(),
            feature_shape=list(frame.features.shape), image_size=list(frame.image_size), decode_ms=frame.decode_ms,
            received_at=frame.received_at, meta=frame.meta,
            auto_result=frame.auto_result,
        )


class Health(BaseModel):
    status: str
    detail: str = ""

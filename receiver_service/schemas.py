"""Request and response bodies of the REST API."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator, model_validator

from semlink.tasks import TASKS_WITH_TEXT, TASKS_WITHOUT_TEXT
from semlink.http.bodies import JsonInt
from semlink.receiver import ReceivedFrame

MAX_WAIT_MS = 10_000
TEXT_LIMIT = 2048
TASK_DOC = "a Florence-2 task token; omitted: <CAPTION>"
WAIT_DOC = "how long to wait for a frame that has not arrived yet before answering 404"


def _utf8(value: str | None) -> str | None:
    """Text that cannot be UTF-8 (a lone surrogate such as ``"\\ud800"``) is refused here, not by the tokenizer."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            raise ValueError(f"not valid Unicode text: {err.reason} at character {err.start}") from None
    return value


class TaskWithoutText(BaseModel):
    """A task that takes no text input (captions, OCR, detection, region proposals): ``text`` is absent, null or
    empty."""

    task: Literal[TASKS_WITHOUT_TEXT] = Field("<CAPTION>", description=TASK_DOC)
    text: Annotated[str, Field(max_length=0)] | None = Field(None, description="none: this task takes no text")
    wait_ms: JsonInt = Field(0, ge=0, le=MAX_WAIT_MS, description=WAIT_DOC)

    # strict: no unknown fields (additionalProperties: false), and ``"wait_ms": false`` or ``"1"`` is not a number
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"task": "<CAPTION>", "text": None, "wait_ms": 2000}]})

    @model_validator(mode="before")
    @classmethod
    def _no_text(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("text"), str) and data["text"]:
            raise ValueError(f"task {data.get('task')} takes no text input; drop 'text' or use a task that takes "
                             f"one ({', '.join(TASKS_WITH_TEXT)})")
        return data


class TaskWithText(BaseModel):
    """A task that needs a text input (grounding, referring expressions, regions as ``<loc_N>`` tokens)."""

    task: Literal[TASKS_WITH_TEXT] = Field(description="a Florence-2 task token that takes a text")
    text: str = Field(min_length=1, max_length=TEXT_LIMIT, description="the task's text input: a phrase, or a "
                      "region as <loc_N> tokens; its tokens must fit the model's input beside the image's")
    wait_ms: JsonInt = Field(0, ge=0, le=MAX_WAIT_MS, description=WAIT_DOC)

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"task": "<CAPTION_TO_PHRASE_GROUNDING>", "text": "a red circle", "wait_ms": 2000}]})

    @model_validator(mode="before")
    @classmethod
    def _needs_text(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("text") in (None, ""):
            raise ValueError(f"task {data.get('task')} needs a text input (e.g. a phrase or region); pass 'text'")
        return data

    _unicode = field_validator("text")(_utf8)


class TaskBody(RootModel[Annotated[TaskWithoutText | TaskWithText, Field(discriminator="task")]]):
    """One question about a received frame, one shape per kind of task (``task`` is the discriminator): a task
    that takes a text requires it, a task that takes none has none."""

    @model_validator(mode="before")
    @classmethod
    def _caption_by_default(cls, data: Any) -> Any:
        return {"task": "<CAPTION>", **data} if isinstance(data, dict) and "task" not in data else data


class TaskResult(BaseModel):
    """A task's answer on one frame's cached features, and what the frame cost on the link."""

    frame_id: int
    task: str
    result: Any = Field(description="post-processed answer: a string for captions and OCR, "
                        "{'bboxes', 'labels'} for <OD>, ...")
    model: str
    codec: str
    wire_bytes: float = Field(description="bytes of the frame's packets that arrived (headers, payloads and checks), "
                              "plus datagram_overhead for each of its datagrams (a packed frame: its share of its "
                              "group's)")
    datagrams: float = Field(description="datagrams that arrived for it (a packed frame: its share of its group's)")
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
    wire_bytes: float = Field(description="bytes of the frame's packets that arrived (headers, payloads and checks), "
                              "plus datagram_overhead for each of its datagrams (a packed frame: its share of its "
                              "group's)")
    datagrams: float = Field(description="datagrams that arrived for it (a packed frame: its share of its group's)")
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

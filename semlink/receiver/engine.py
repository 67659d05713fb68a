"""The receiver's compute: decode a reassembled frame into features, and answer batches of task requests.

Both run in executor threads (they are torch work); neither touches asyncio.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from semlink.codecs import Codec
from semlink.florence import FlorenceBundle, LanguageHalf, TaskRequest, check_task
from semlink.receiver.reassembly import Reassembled
from semlink.receiver.store import ReceivedFrame


class FrameDecoder:
    """Reassembled frame → :class:`ReceivedFrame` with features ``(C, H, W)`` on the model's device and dtype."""

    def __init__(self, codec: Codec, bundle: FlorenceBundle):
        self.codec = codec
        self.device = bundle.device
        self.dtype = bundle.dtype
        height, width = bundle.image_size
        self.default_image_size = (width, height)

    def decode(self, reassembled: Reassembled) -> ReceivedFrame:
        """Decompress with the frame's lost and corrupted packets as the erasure mask.

        Raises ``CodecError``/``MalformedFrame`` for a frame this codec cannot decode.
        """
        frame, header = reassembled.frame, reassembled.frame.header
        started = time.perf_counter()
        features, lost_rows, reports = self.codec.decompress_with_reports([frame])
        report = reports[0]
        return ReceivedFrame(
            frame_id=header.frame_id,
            codec=header.codec,
            fingerprint=header.fingerprint,
            features=features[0].to(self.device, self.dtype),
            lost_rows=lost_rows[0].cpu(),
            image_size=header.image_size or self.default_image_size,
            wire_bytes=reassembled.wire_bytes,
            datagrams=reassembled.datagrams,
            datagram_overhead=reassembled.datagram_overhead,
            payload_bytes=frame.payload_bytes,
            packets=report.packet_count,
            packets_missing=report.missing_count,
            packets_corrupted=report.corrupted_count,
            messages=reassembled.messages,
            decode_ms=(time.perf_counter() - started) * 1000,
            meta=dict(header.meta),
        )


@dataclass(frozen=True)
class TaskJob:
    """One question about one received frame."""

    frame: ReceivedFrame
    task: str
    text: str | None = None


class TaskRunner:
    """Answer a batch of :class:`TaskJob` in one ``generate`` call: stacked features ``(B, C, H, W)``."""

    def __init__(self, bundle: FlorenceBundle, **generate_kwargs):
        self.language = LanguageHalf(bundle)
        self.processor = bundle.processor
        self.generate_kwargs = generate_kwargs

    def check(self, task: str, text: str | None) -> None:
        """Raise ``UnknownTask`` (naming the known tasks) or ``PromptTooLong`` (naming the token limit)
        before a bad request reaches a batch."""
        check_task(self.processor, task, text)
        self.language.check_length(task, text)

    def __call__(self, jobs: Sequence[TaskJob]) -> list[Any]:
        features = torch.stack([job.frame.features for job in jobs])
        requests = [TaskRequest(job.task, job.frame.image_size, job.text) for job in jobs]
        with torch.inference_mode():
            answers = self.language.answer(features, requests, **self.generate_kwargs)
        return [jsonable(a) for a in answers]


def jsonable(value: Any) -> Any:
    """Post-processed answers with tensors and numpy values turned into plain Python."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value

"""The whole link in one process: VisionHalf → codec → channel → codec → LanguageHalf.

Used by ``semlink check``, ``semlink eval`` and tests; the services run the
same pieces split across processes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from semlink.channel import Channel
from semlink.codecs import Codec
from semlink.florence import FlorenceBundle, LanguageHalf, TaskRequest, VisionHalf
from semlink.packets import Frame
from semlink.wire import frame_to_message


@dataclass(frozen=True)
class LinkResult:
    """One frame's answer and what the link did to it."""

    frame_id: int
    task: str
    result: Any
    payload_bytes: int
    header_bytes: int
    packets: int
    packets_lost: int
    latency_ms: float


class InProcessLink:
    """Send images through codec and channel and answer tasks on the received features."""

    def __init__(self, bundle: FlorenceBundle, codec: Codec, channel: Channel | None = None):
        self.bundle = bundle
        self.vision = VisionHalf(bundle)
        self.language = LanguageHalf(bundle)
        self.codec = codec
        self.channel = channel
        self._next_id = 0

    def transmit(self, images: Sequence[Image.Image]) -> tuple[list[Frame], list[Frame], torch.Tensor]:
        """Images → sent frames, received frames, decoded features ``(B, C, H, W)``."""
        features = self.vision.encode(images)
        ids = list(range(self._next_id, self._next_id + len(images)))
        self._next_id += len(images)
        sent = self.codec.compress(features, ids)
        received = [self.channel.transmit_frame(f)[0] if self.channel else f for f in sent]
        decoded, _ = self.codec.decompress(received)
        return sent, received, decoded.to(self.bundle.device, self.bundle.dtype)

    def run(self, images: Sequence[Image.Image], task: str, text: str | None = None,
            **generate_kwargs) -> list[LinkResult]:
        start = time.perf_counter()
        sent, received, features = self.transmit(images)
        requests = [TaskRequest(task, im.size, text) for im in images]
        answers = self.language.answer(features, requests, **generate_kwargs)
        latency = (time.perf_counter() - start) * 1000 / max(1, len(images))
        return [
            LinkResult(
                frame_id=s.header.frame_id,
                task=task,
                result=a,
                payload_bytes=s.payload_bytes,
                header_bytes=header_bytes(s),
                packets=s.header.packet_count,
                packets_lost=len(r.damaged_indices()),
                latency_ms=latency,
            )
            for s, r, a in zip(sent, received, answers)
        ]


def header_bytes(frame: Frame) -> int:
    """Bytes the frame's header costs on the wire (its message with no packets)."""
    return frame_to_message(frame.with_packets(())).ByteSize()

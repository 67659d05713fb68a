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
from semlink.packets import Frame, Session
from semlink.wire import session_to_message
from semlink.wire.carry import carry


@dataclass(frozen=True)
class LinkResult:
    """One frame's answer and what the link did to it."""

    frame_id: int
    task: str
    result: Any
    wire_bytes: int
    payload_bytes: int
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
        self.session: Session | None = None
        self._next_seq = 0
        self.wire_bytes: list[int] = []

    def transmit(self, images: Sequence[Image.Image]) -> tuple[list[Frame], list[Frame], torch.Tensor]:
        """Images → sent frames, received frames, decoded features ``(B, C, H, W)``.

        The first call opens the link's session (its image size is the first
        image's); ``wire_bytes`` holds what each sent frame put on the channel.
        """
        if self.session is None:
            self.session = self.codec.session(1, images[0].size)
        features = self.vision.encode(images)
        ids = [self.session.frame_id(seq) for seq in range(self._next_seq, self._next_seq + len(images))]
        self._next_seq += len(images)
        sent = [f.with_image_size(im.size) for f, im in zip(self.codec.compress(features, ids), images)]
        carried = [carry(f, self.session, self.channel) for f in sent]
        self.wire_bytes = [c.wire_bytes for c in carried]
        received = [c.received for c in carried]
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
                wire_bytes=w,
                payload_bytes=s.payload_bytes,
                packets=s.total_packets,
                packets_lost=len(r.lost_indices()),
                latency_ms=latency,
            )
            for s, r, a, w in zip(sent, received, answers, self.wire_bytes)
        ]


def session_bytes(session: Session) -> int:
    """Bytes the session message costs, once per stream (on the reliable control plane)."""
    return session_to_message(session).ByteSize()

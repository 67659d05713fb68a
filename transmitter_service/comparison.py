"""Comparison mode: each frame sent a second time with a reference codec (fp16) through the same channel.

The reference frames travel on a stream of their own (a second
:class:`~semlink.link.FrameSender` to the same target, its own session id), so
the channel treats both alike and the receiver answers both; the two frame
records are linked by ``pair_id`` (the learned frame's id). The receiver must
accept the reference codec's sessions (``SEMLINK_RX_REFERENCE_CODECS=fp16``).
Only fp16 is offered: the reference must decode to the same vision features the
receiver's language half takes, which JPEG/WebP pixels would not without a vision
tower at the receiver.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Callable

import torch

from semlink.codecs import Codec
from semlink.florence import FlorenceBundle
from semlink.link import Delivery, FrameSender
from semlink.link.grpc_channel import LinkSecurity
from semlink.packets import Frame
from semlink.packets.session import frame_id_of, new_session_id, session_number, split_frame_id
from semlink.runtime import load_codec_for

log = logging.getLogger(__name__)

REFERENCES = ("fp16",)


class ComparisonSender:
    """The reference codec, its sender and its session; ``enabled`` says whether frames are sent twice now."""

    def __init__(self, target: str, reference: str, *, enabled: bool, ack_timeout_s: float, queue_size: int,
                 on_outcome: Callable[[Delivery], None], security: LinkSecurity | None = None):
        if reference not in REFERENCES:
            raise ValueError(f"comparison reference {reference!r} is not offered; one of {', '.join(REFERENCES)}")
        self.reference = reference
        self.enabled = enabled
        self.codec: Codec | None = None
        self.sender = FrameSender(target, queue_size=queue_size, ack_timeout_s=ack_timeout_s, on_outcome=on_outcome,
                                  name="transmitter-reference", security=security)
        self.session_id = new_session_id()  # 64 bits from the OS, never shown (stats show its number)
        self.counts: Counter[str] = Counter()
        self._counter = itertools.count()

    def load(self, bundle: FlorenceBundle) -> None:
        """Load the reference codec for ``bundle`` (in the encoder thread, beside the main codec)."""
        self.codec = load_codec_for(bundle, self.reference)

    async def set_enabled(self, enabled: bool) -> None:
        """Turn comparison on or off; the reference stream connects the first time it is turned on."""
        if enabled:
            await self.sender.start()
        self.enabled = enabled

    def open_session(self, image_size: tuple[int, int]) -> None:
        """Give the reference stream its session (on the event loop), with the first frame's image size."""
        if self.sender.session is None:
            self.sender.set_session(self.codec.session(self.session_id, image_size))

    def owns(self, frame_id: int) -> bool:
        """Whether ``frame_id`` is one of the reference stream's frames."""
        return split_frame_id(frame_id)[0] == session_number(self.session_id)

    def compress(self, features: torch.Tensor, sizes: list[tuple[int, int]]) -> list[Frame]:
        """Reference frames of ``features (B, C, H, W)``, new frame ids of the reference session (encoder thread)."""
        ids = [frame_id_of(self.session_id, next(self._counter)) for _ in sizes]
        frames = self.codec.compress(features, ids)
        return [frame.with_image_size(size) for frame, size in zip(frames, sizes)]

    def describe(self) -> dict:
        return {"enabled": self.enabled, "reference": self.reference}

    def stats(self) -> dict:
        return {**self.describe(), "session": {"id": session_number(self.session_id), "open": self.sender.session_open,
                                               "refused": self.sender.refusal},
                "frames": {k: self.counts[k] for k in ("accepted", "sent", "acked", "partial", "lost")}}

    async def close(self) -> None:
        await self.sender.close(grace_s=1.0)

"""Comparison mode: each frame sent a second time with a reference through the same channel: the best pixel peer
(the image itself in streaming form, by default) or fp16 features.

The reference frames travel on a stream of their own (a second
:class:`~semlink.link.FrameSender` to the same target, its own session id), so
the channel treats both alike and the receiver answers both; the two frame
records are linked by ``pair_id`` (the learned frame's id).

The default reference, :data:`DEFAULT_REFERENCE`, is the best pixel peer of the
verdict at the learned default's quality: the model's input image coded as AVIF
(:class:`~semlink.pixels.stream.PixelStream`), its stream-constant bytes once in
the session, the frame alone per frame, in the features' datagram framing. The
receiver rebuilds the file, decodes it and runs its own vision tower on it (it
holds the whole Florence-2), so both answers come from the same language half.
``fp16`` (the uncompressed features) stays selectable, and any one hand-codec
point (``webp:30``, ``jpeg@32:50``, ``avif-s0:20``) can be asked for. The
receiver must accept the reference's sessions: ``SEMLINK_RX_REFERENCE_CODECS``
lists ``fp16`` and ``pixels-avif`` (``pixels-webp``, ``pixels-jpeg``) as
``semlink up`` and compose set them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

import torch
from PIL import Image

from semlink.codecs import Codec, CodecError
from semlink.florence import FlorenceBundle
from semlink.link import Delivery, FrameSender
from semlink.link.grpc_channel import LinkSecurity
from semlink.packets import Frame, MalformedFrame
from semlink.packets.outcome import FrameStatus
from semlink.packets.session import frame_id_of, new_session_id, session_number, split_frame_id, validate_session
from semlink.pipeline import session_bytes
from semlink.pixels.codecs import HAND_FORMATS, hand_format_available
from semlink.pixels.stream import PixelStream
from semlink.runtime import load_reference_for

log = logging.getLogger(__name__)

# The best pixel peer at shapes-tiny's learned default quality (exact match 0.965 on 600 held-back scenes): the
# lowest-bytes AVIF point within 0.01 exact match of the learned default, measured with
#   semlink eval --codec learned --baselines avif:10,20,30,40 --n 200 --seed 9181
# (docs/services.md, "Comparison mode", gives the table).
DEFAULT_REFERENCE = "avif:20"
FEATURES_REFERENCE = "fp16"
OFFERED = (DEFAULT_REFERENCE, FEATURES_REFERENCE)  # what the page lists; any one hand-codec point is taken too


def _reference_pattern() -> str:
    """What ``PUT /v1/comparison`` takes as a reference, as a regular expression (JSON Schema ``pattern``): fp16,
    or one point ``FMT[@S][-sN]:Q`` of a format this Pillow encodes (S 8..4096, N 0..10 and AVIF's only, Q 0..100),
    written as :func:`check_reference` reads it."""
    side = "(?:[89]|[1-9][0-9]{1,2}|[1-3][0-9]{3}|40[0-8][0-9]|409[0-6])"
    quality = "(?:[0-9]|[1-9][0-9]|100)"
    points = [f"{fmt}(?:@{side})?{'(?:-s(?:[0-9]|10))?' if fmt == 'avif' else ''}:{quality}"
              for fmt in HAND_FORMATS if hand_format_available(fmt)]
    return f"^(?:{'|'.join([FEATURES_REFERENCE, *points])})$"


REFERENCE_PATTERN = _reference_pattern()


def check_reference(name: str) -> str:
    """``name`` if it can be a reference (fp16, or one hand-codec point, written as ``PUT /v1/comparison`` takes
    it, so that the page can send the configured one back), else ``ValueError`` naming the forms."""
    if re.fullmatch(REFERENCE_PATTERN, name):
        return name
    raise ValueError(f"comparison reference {name!r} is not offered; {' or '.join(OFFERED)}, or one pixel point "
                     "such as webp:30, jpeg@32:50, avif-s0:20")


class ComparisonSender:
    """The reference, its sender and its session; ``enabled`` says whether frames are sent twice now.

    Choosing another reference opens a new stream (a new session id) for it and
    closes the previous one.
    """

    def __init__(self, target: str, reference: str, *, enabled: bool, ack_timeout_s: float, queue_size: int,
                 on_outcome: Callable[[Delivery], None], security: LinkSecurity | None = None):
        self.reference = check_reference(reference)
        self.enabled = enabled
        self.codec: Codec | PixelStream | None = None
        self._link = dict(target=target, queue_size=queue_size, ack_timeout_s=ack_timeout_s, on_outcome=on_outcome,
                          name="transmitter-reference", security=security)
        self.sender = FrameSender(**self._link)
        self.session_id = new_session_id()  # 64 bits from the OS, never shown (stats show its number)
        self._session_ids = {session_number(self.session_id)}  # every stream's, so late acks of an earlier one match
        self.counts: Counter[str] = Counter()
        self._counter = itertools.count()
        self._bundle: FlorenceBundle | None = None
        self._switching = asyncio.Lock()

    def load(self, bundle: FlorenceBundle) -> None:
        """Load the reference for ``bundle`` (in the encoder thread, beside the main codec)."""
        self._bundle = bundle
        self.codec = load_reference_for(bundle, self.reference)

    @property
    def pixels(self) -> bool:
        return isinstance(self.codec, PixelStream)

    async def set_enabled(self, enabled: bool) -> None:
        """Turn comparison on or off; the reference stream connects the first time it is turned on."""
        if enabled:
            await self.sender.start()
        self.enabled = enabled

    async def set_reference(self, reference: str) -> None:
        """Switch to ``reference`` (raises ``ValueError`` for one not offered, ``CodecError`` if it cannot load);
        switches asked for at once run one after the other."""
        async with self._switching:
            await self._switch(reference)

    async def update(self, reference: str | None, enabled: bool) -> None:
        """Choose ``reference`` (if given) and turn comparison on or off as one change: changes asked for at once
        (a page's two quick clicks) end in the state the last one asked for, never a mix of two."""
        async with self._switching:
            if reference is not None:
                await self._switch(reference)
            await self.set_enabled(enabled)

    async def _switch(self, reference: str) -> None:
        if check_reference(reference) == self.reference:
            return
        if self._bundle is None:
            raise CodecError("the model is still loading; choose the reference once it is ready")
        codec = load_reference_for(self._bundle, reference)
        old, self.sender = self.sender, FrameSender(**self._link)
        if hasattr(old, "datagram_overhead"):  # set on the sender after it was made: carried over
            self.sender.datagram_overhead = old.datagram_overhead
        self.reference, self.codec = reference, codec
        self.session_id = new_session_id()
        self._session_ids.add(session_number(self.session_id))
        self._counter = itertools.count()
        if self.enabled:
            await self.sender.start()
        await old.close(grace_s=1.0)

    def open_session(self, image_size: tuple[int, int], pack: int = 1) -> None:
        """Give the reference stream its session (on the event loop), with the first frame's image size, packing
        ``pack`` frames a group as the main stream does where its frames can be packed (else they go alone)."""
        if self.sender.session is None:
            session = self.codec.session(self.session_id, image_size)
            if pack > 1:
                try:
                    validate_session(packed := replace(session, pack=pack))
                    session = packed
                except MalformedFrame as err:
                    log.warning("comparison: %s frames go alone, not packed %d a group: %s", self.reference, pack, err)
            self.sender.set_session(session)

    def owns(self, frame_id: int) -> bool:
        """Whether ``frame_id`` is one of the reference streams' frames."""
        return split_frame_id(frame_id)[0] in self._session_ids

    def is_current(self, frame_id: int) -> bool:
        """Whether ``frame_id`` belongs to the current reference's stream (not to one switched away from)."""
        return split_frame_id(frame_id)[0] == session_number(self.session_id)

    def compress(self, images: Sequence[Image.Image], features: torch.Tensor) -> list[Frame]:
        """Reference frames of a batch (encoder thread): the images themselves for a pixel peer, else the
        features ``(B, C, H, W)``; new frame ids of the reference session, each with its image's size."""
        codec, session_id = self.codec, self.session_id
        ids = [frame_id_of(session_id, next(self._counter)) for _ in images]
        frames = codec.compress_images(images, ids) if isinstance(codec, PixelStream) else codec.compress(features, ids)
        return [frame.with_image_size(image.size) for frame, image in zip(frames, images)]

    def describe(self) -> dict:
        return {"enabled": self.enabled, "reference": self.reference}

    def stats(self) -> dict:
        session = self.sender.session
        frames = ("accepted", FrameStatus.SENT, FrameStatus.ACKED, FrameStatus.PARTIAL, FrameStatus.LOST)
        return {**self.describe(), "domain": "pixels" if self.pixels else "features",
                "session": {"id": session_number(self.session_id), "open": self.sender.session_open,
                            "refused": self.sender.refusal, "bytes": session_bytes(session) if session else None},
                "frames": {k: self.counts[k] for k in frames}}

    async def close(self) -> None:
        await self.sender.close(grace_s=1.0)

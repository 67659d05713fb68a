"""Pixel peers: senders of the model's input image, through the same datagrams and channel as the features.

Every pixel sender follows :class:`PixelPeer`: a row ``name``, the stream's
``session_bytes`` (sent once), and ``send``, which codes a batch of images,
carries each frame's datagrams through the channel, and hands back a
:class:`Delivery` per frame (the image the receiver rebuilt and what it cost).

:class:`HandPeer` is a hand-designed codec (JPEG, WebP, AVIF). In ``stream``
framing (the default) only the frame travels per frame (``framing.py``); in
``file`` framing the encoder's whole file does (the form older tables used).
Either is cut into datagrams of at most :data:`PACKET_BYTES` payload bytes in
the features' datagram framing (3-byte header, CRC-16). A frame of a codec
without restart markers cannot be resumed after a gap, so the receiver rebuilds
the file from the bytes before the first lost or corrupted datagram and decodes
as far as they go; a frame of which nothing usable arrived is a grey image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

from PIL import Image

from semlink.channel import Channel
from semlink.packets import CorruptDatagram, decode_datagram, encode_datagram
from semlink.packets.datagram import SEQ_MODULUS
from semlink.packets.packing import pack_group, unpack_group
from semlink.packets.pixels import decodable_prefix, frame_chunks
from semlink.pixels.framing import UnsplittableFile, rebuild, split
from semlink.pixels.codecs import GREY, decode_file, encode_file
from semlink.pixels.spec import HandSpec
from semlink.wire.spread import transmit_spread

CHECK = "crc16"


class PixelFraming(str, Enum):
    """How a hand codec's frame travels: as a streaming system sends it, or as the encoder's whole file."""

    STREAM = "stream"
    FILE = "file"


@dataclass(frozen=True)
class Delivery:
    """One frame of a pixel peer, as received."""

    image: Image.Image  # what the receiver rebuilt, at the model input size
    wire_bytes: float  # every byte of the frame's datagrams, or its share of its group's (no transport overhead)
    payload_bytes: int
    datagrams: float  # its datagrams, or its share of its group's
    datagrams_lost: int


@runtime_checkable
class PixelPeer(Protocol):
    """A sender of the model's input image (hand codecs here, ``learned-pixels`` in ``learned.py``)."""

    name: str  # row label, e.g. "avif-q20", "webp@32-q60", "learned-pixels:rate10"

    def session_bytes(self, size: tuple[int, int]) -> int:
        """Stream-constant bytes, once per stream, for model input ``size`` = (width, height)."""
        ...

    def send(self, images: list[Image.Image], seqs: list[int], channel: Channel | None,
             size: tuple[int, int], pack: int = 1, spread: int = 0) -> list[Delivery]:
        """Code, carry through ``channel`` (None: clean) and rebuild each image; with ``pack`` > 1 consecutive
        frames travel packed ``pack`` at a time (:mod:`semlink.packets.packing`), and each frame's (group's)
        datagrams ``spread`` slots apart (:mod:`semlink.wire.spread`)."""
        ...


def frame_datagrams(payload: bytes, seq: int) -> list[bytes]:
    """``payload`` as datagrams of at most :data:`PACKET_BYTES` payload bytes each (one, empty, for no bytes)."""
    return [encode_datagram(seq, i, chunk, CHECK) for i, chunk in enumerate(frame_chunks(payload))]


def received_prefix(datagrams: Sequence[bytes], count: int, seq: int) -> tuple[bytes, int]:
    """The frame's bytes up to the first missing or corrupted datagram, and how many of ``count`` were lost."""
    by_index: dict[int, bytes] = {}
    for data in datagrams:
        try:
            datagram = decode_datagram(data, CHECK)
        except CorruptDatagram:
            continue
        if datagram.seq16 == seq % SEQ_MODULUS and datagram.index < count:
            by_index.setdefault(datagram.index, datagram.payload)
    return decodable_prefix(by_index, count), count - len(by_index)


class HandPeer:
    """A hand-designed image codec at one setting (``spec``), framed as ``framing`` says."""

    def __init__(self, spec: HandSpec, framing: PixelFraming = PixelFraming.STREAM):
        self.spec, self.framing = spec, PixelFraming(framing)
        self.name = spec.name
        self._sessions: dict[tuple[int, int], bytes] = {}

    def encode(self, image: Image.Image, size: tuple[int, int]) -> bytes:
        """The encoder's whole file for ``image`` at the model input ``size``."""
        s = self.spec
        return encode_file(image, s.fmt, s.quality, size, s.side, s.encoder_speed)

    def session(self, size: tuple[int, int]) -> bytes:
        """The stream's session bytes (empty in file framing): the constant part of any frame at this setting."""
        if self.framing is PixelFraming.FILE:
            return b""
        if size not in self._sessions:
            self._sessions[size] = split(self.spec.fmt, self.encode(Image.new("RGB", size, GREY), size)).session
        return self._sessions[size]

    def session_bytes(self, size: tuple[int, int]) -> int:
        return len(self.session(size))

    def frame(self, image: Image.Image, size: tuple[int, int]) -> bytes:
        """What travels for ``image``: the frame in stream framing, the whole file in file framing."""
        data = self.encode(image, size)
        if self.framing is PixelFraming.FILE:
            return data
        form = split(self.spec.fmt, data)
        if form.session != self.session(size):
            raise RuntimeError(f"{self.name}: a frame's headers differ from the stream's session, so they are not "
                               "stream-constant; use --pixel-framing file for this codec")
        return form.frame

    def receive(self, payload: bytes, size: tuple[int, int]) -> Image.Image:
        """The image the receiver rebuilds from the frame bytes that arrived (a prefix of the frame)."""
        if not payload:
            return Image.new("RGB", size, GREY)
        if self.framing is PixelFraming.FILE:
            return decode_file(payload, size)
        try:
            data = rebuild(self.spec.fmt, self.session(size), payload)
        except UnsplittableFile:
            return Image.new("RGB", size, GREY)
        return decode_file(data, size)

    def send(self, images: list[Image.Image], seqs: list[int], channel: Channel | None,
             size: tuple[int, int], pack: int = 1, spread: int = 0) -> list[Delivery]:
        """Code, carry through ``channel`` (None: clean) and rebuild each image: each frame alone, or ``pack`` > 1
        consecutive frames a group, chunk ``j`` of every frame in datagram ``j`` (:mod:`semlink.packets.packing`);
        each frame's (group's) datagrams ``spread`` slots apart (:mod:`semlink.wire.spread`)."""
        payloads = [self.frame(image, size) for image in images]
        if pack == 1:
            units = [frame_datagrams(p, seq) for p, seq in zip(payloads, seqs)]
            out = []
            for p, seq, sent, (arrived, _) in zip(payloads, seqs, units, transmit_spread(units, channel, spread)):
                got, lost = received_prefix(arrived, len(sent), seq)
                out.append(Delivery(self.receive(got, size), sum(map(len, sent)), len(p), len(sent), lost))
            return out
        starts = range(0, len(images), pack)
        chunks = [[frame_chunks(p) for p in payloads[s:s + pack]] for s in starts]
        units = [pack_group(c, seqs[s], CHECK) for c, s in zip(chunks, starts)]
        out = []
        for s, group, sent, (arrived, _) in zip(starts, chunks, units, transmit_spread(units, channel, spread)):
            got = unpack_group(arrived, seqs[s], [len(c) for c in group], CHECK)
            share, k = sum(map(len, sent)) / len(group), len(group)
            out += [Delivery(self.receive(decodable_prefix(pieces, len(c)), size), share, len(p), len(sent) / k,
                             len(c) - len(pieces))
                    for p, c, pieces in zip(payloads[s:s + pack], group, got)]
        return out


def hand_peers(specs: Sequence[HandSpec], framing: PixelFraming | str = PixelFraming.STREAM) -> list[HandPeer]:
    return [HandPeer(s, PixelFraming(framing)) for s in specs]

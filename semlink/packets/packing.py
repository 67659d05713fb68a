"""Packing across frames: datagram ``j`` of a group carries slice ``j`` of ``K`` consecutive frames (DESIGN.md).

A packed datagram is an ordinary semlink datagram (:mod:`semlink.packets.datagram`:
header, payload, check) whose header names the group's first frame and, in its
7-bit index, both the group's size and the slice index: ``(K - 1) << 3 | j``
(so a group holds at most 15 frames of at most 8 slices, and no byte is added
for it: a receiver that was not told ``K`` reads it there). Its payload holds
slice ``j`` of each frame of the group in order, every one but the last after
its length as a LEB128 varint (one byte for a slice under 128 bytes). A frame
with fewer slices than ``j + 1`` puts an empty one there. So each frame pays
``1/K`` of a datagram's header, check and transport overhead, plus a byte of
length; one lost or corrupted datagram erases slice ``j`` of every frame of its
group (``1/K`` of each, where a frame sent alone loses a whole slice); and a
frame waits for its group, up to ``K - 1`` frame periods.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass

from semlink.packets.datagram import SEQ_MODULUS, CorruptDatagram, Datagram, decode_datagram, encode_datagram

MAX_PACK = 15  # frames a group may hold: K - 1 takes the index's top 4 bits, and index 127 is never used
MAX_SLICES = 8  # slices (datagrams) a packed frame may have: j takes the index's low 3 bits
_SLICE_BITS = 3


class MalformedPack(ValueError):
    """A packed datagram whose payload does not split into the group's slices."""


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(data) or shift > 28:
            raise MalformedPack("a slice length runs past the datagram")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at


def join_slices(parts: Sequence[bytes]) -> bytes:
    """One packed payload: each part but the last after its length."""
    return b"".join(_varint(len(p)) + p for p in parts[:-1]) + (parts[-1] if parts else b"")


def split_slices(payload: bytes, frames: int) -> list[bytes]:
    """Inverse of :func:`join_slices` for a group of ``frames``; :class:`MalformedPack` if it does not split."""
    parts, at = [], 0
    for _ in range(frames - 1):
        length, at = _read_varint(payload, at)
        if at + length > len(payload):
            raise MalformedPack(f"a slice of {length} B runs past the datagram's {len(payload)} B")
        parts.append(payload[at:at + length])
        at += length
    return parts + [payload[at:]]


def group_index(frames: int, j: int) -> int:
    """The header index of slice ``j`` of a group of ``frames``."""
    if not 1 <= frames <= MAX_PACK:
        raise ValueError(f"a group packs 1 to {MAX_PACK} frames, got {frames}")
    if not 0 <= j < MAX_SLICES:
        raise ValueError(f"a packed frame has at most {MAX_SLICES} datagrams, this one {j + 1}; send it alone "
                         "(pack 1), or code it into fewer")
    return (frames - 1) << _SLICE_BITS | j


@dataclass(frozen=True)
class PackedDatagram:
    """A packed datagram as parsed: the group's first sequence number (mod 2**16), its size, the slice index, each
    frame's slice, and the image size the group's frames have when it is not the session's."""

    seq16: int
    frames: int
    index: int
    slices: list[bytes]
    image_size: tuple[int, int] | None = None


def decode_packed(data: bytes, check: str) -> PackedDatagram:
    """Parse one packed datagram; :class:`CorruptDatagram` if it fails its check, :class:`MalformedPack` if its
    payload does not split into the slices of the group its header names."""
    datagram: Datagram = decode_datagram(data, check)
    frames = (datagram.index >> _SLICE_BITS) + 1
    if frames > MAX_PACK:
        raise MalformedPack(f"the header names a group of {frames} frames, over {MAX_PACK}")
    return PackedDatagram(datagram.seq16, frames, datagram.index & (MAX_SLICES - 1),
                          split_slices(datagram.payload, frames), datagram.image_size)


def pack_group(slices: Sequence[Sequence[bytes]], first_seq: int, check: str,
               image_size: tuple[int, int] | None = None) -> list[bytes]:
    """The datagrams of a group: ``slices[k][j]`` is slice ``j`` of the group's frame ``k`` (sequence number
    ``first_seq + k``); datagram ``j`` holds slice ``j`` of each (and ``image_size``, when given, for all)."""
    count = max(len(s) for s in slices) if slices else 0
    return [encode_datagram(first_seq, group_index(len(slices), j),
                            join_slices([s[j] if j < len(s) else b"" for s in slices]), check, image_size)
            for j in range(count)]


def unpack_group(datagrams: Sequence[bytes], first_seq: int, counts: Sequence[int], check: str) -> list[dict[int, bytes]]:
    """What arrived of each frame of a group whose frame ``k`` has ``counts[k]`` slices: ``{j: slice}`` per frame.

    A datagram that fails its check, names another group (another first frame or size) or does not split is lost
    to every frame of the group.
    """
    got: list[dict[int, bytes]] = [{} for _ in counts]
    for data in datagrams:
        try:
            packed = decode_packed(data, check)
        except (CorruptDatagram, MalformedPack):
            continue
        if packed.seq16 != first_seq % SEQ_MODULUS or packed.frames != len(counts):
            continue
        for k, part in enumerate(packed.slices):
            if packed.index < counts[k]:
                got[k].setdefault(packed.index, part)
    return got

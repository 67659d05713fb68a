"""Packing across frames: datagram ``j`` of a group carries slice ``j`` of ``K`` consecutive frames (DESIGN.md).

A packed datagram is an ordinary semlink datagram (:mod:`semlink.packets.datagram`:
header, payload, check) whose header names the group's first frame and the slice
index ``j``, and whose payload holds slice ``j`` of each frame of the group in
order, every one but the last after its length as a LEB128 varint (one byte for
a slice under 128 bytes). A frame with fewer slices than ``j + 1`` puts an empty
one there. So each frame pays ``1/K`` of a datagram's header, check and
transport overhead, plus a byte of length; one lost or corrupted datagram
erases slice ``j`` of every frame of its group (``1/K`` of each, where a frame
sent alone loses a whole slice); and a frame waits for its group, up to
``K - 1`` frame periods.
"""

from __future__ import annotations

from collections.abc import Sequence

from semlink.packets.datagram import SEQ_MODULUS, CorruptDatagram, decode_datagram, encode_datagram

MAX_PACK = 16  # frames a group may hold


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


def pack_group(slices: Sequence[Sequence[bytes]], first_seq: int, check: str) -> list[bytes]:
    """The datagrams of a group: ``slices[k][j]`` is slice ``j`` of the group's frame ``k`` (sequence number
    ``first_seq + k``); datagram ``j`` holds slice ``j`` of each."""
    if not 1 <= len(slices) <= MAX_PACK:
        raise ValueError(f"a group packs 1 to {MAX_PACK} frames, got {len(slices)}")
    count = max(len(s) for s in slices)
    return [encode_datagram(first_seq, j, join_slices([s[j] if j < len(s) else b"" for s in slices]), check)
            for j in range(count)]


def unpack_group(datagrams: Sequence[bytes], first_seq: int, counts: Sequence[int], check: str) -> list[dict[int, bytes]]:
    """What arrived of each frame of a group whose frame ``k`` has ``counts[k]`` slices: ``{j: slice}`` per frame.

    A datagram that fails its check, names another group or does not split is lost to every frame of the group.
    """
    got: list[dict[int, bytes]] = [{} for _ in counts]
    for data in datagrams:
        try:
            datagram = decode_datagram(data, check)
            if datagram.seq16 != first_seq % SEQ_MODULUS:
                continue
            parts = split_slices(datagram.payload, len(counts))
        except (CorruptDatagram, MalformedPack):
            continue
        for k, part in enumerate(parts):
            if datagram.index < counts[k]:
                got[k].setdefault(datagram.index, part)
    return got

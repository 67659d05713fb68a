"""Structural checks on a frame from an untrusted source: everything except payload bytes.

A frame that fails these checks cannot be decoded at all (``MalformedFrame``); a
frame that passes them decodes, with any unusable packet costing only its rows.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from semlink.packets.errors import MalformedFrame
from semlink.packets.frame import WIRE_VERSION, FrameHeader, Packet

# Element types a latent may travel as (numpy names, sent little-endian).
SUPPORTED_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float16", "float32")
# Largest latent a receiver will allocate for one frame. Florence-2-large at 768² in
# float32 is 4.7 MB; the bound only stops a hostile header from exhausting memory.
MAX_LATENT_BYTES = 1 << 26
_UINT32 = 1 << 32
_UINT64 = 1 << 64


def _is_uint(value: object, bound: int) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < bound


def _check_dims(frame_id: int, name: str, dims: object) -> None:
    if not isinstance(dims, (tuple, list)) or len(dims) != 3:
        raise MalformedFrame(
            f"frame {frame_id}: header.{name} is {dims!r}, expected 3 dims (C, H, W); "
            "the sender built the header wrongly"
        )
    if not all(_is_uint(d, _UINT32) for d in dims):
        raise MalformedFrame(
            f"frame {frame_id}: header.{name} {tuple(dims)!r} has a dim that is not an integer in [0, 2**32)"
        )


def packet_count_for(height: int, rows_per_packet: int) -> int:
    """How many packets carry ``height`` rows at ``rows_per_packet`` rows each."""
    return -(-height // rows_per_packet)


def validate_header(header: FrameHeader) -> None:
    """Raise ``MalformedFrame`` naming the first field that makes ``header`` undecodable."""
    fid = header.frame_id
    if not _is_uint(fid, _UINT64):
        raise MalformedFrame(f"header.frame_id {fid!r} is not an integer in [0, 2**64)")
    if header.version != WIRE_VERSION:
        raise MalformedFrame(
            f"frame {fid}: header.version is {header.version!r} but this end speaks wire version "
            f"{WIRE_VERSION}; run the same semlink release at both ends"
        )
    _check_dims(fid, "shape", header.shape)
    _check_dims(fid, "feature_shape", header.feature_shape)
    if header.dtype not in SUPPORTED_DTYPES:
        raise MalformedFrame(
            f"frame {fid}: header.dtype {header.dtype!r} is not one of {', '.join(SUPPORTED_DTYPES)}"
        )
    if not _is_uint(header.rows_per_packet, _UINT32) or header.rows_per_packet < 1:
        raise MalformedFrame(f"frame {fid}: header.rows_per_packet is {header.rows_per_packet!r}, must be >= 1")
    channels, height, width = header.shape
    expected = packet_count_for(height, header.rows_per_packet)
    if header.packet_count != expected:
        raise MalformedFrame(
            f"frame {fid}: header.packet_count is {header.packet_count!r} but shape {tuple(header.shape)} "
            f"at {header.rows_per_packet} rows per packet needs {expected}"
        )
    nbytes = int(channels) * int(height) * int(width) * np.dtype(header.dtype).itemsize
    if nbytes > MAX_LATENT_BYTES:
        raise MalformedFrame(
            f"frame {fid}: a {tuple(header.shape)} {header.dtype} latent is {nbytes} bytes, over the "
            f"{MAX_LATENT_BYTES}-byte limit (semlink.packets.validate.MAX_LATENT_BYTES)"
        )


def validate_packets(header: FrameHeader, packets: Iterable[Packet]) -> None:
    """Raise ``MalformedFrame`` if a packet does not belong where ``header`` says it should.

    ``header`` must already have passed ``validate_header``. Payload bytes are not
    looked at: a bad payload is a lost packet, not a malformed frame.
    """
    fid = header.frame_id
    seen: set[int] = set()
    for packet in packets:
        if packet.frame_id != fid:
            raise MalformedFrame(
                f"packet {packet.index} has frame_id {packet.frame_id!r} inside frame {fid}; "
                "packets of different frames were mixed"
            )
        count = header.packet_count + int(header.side_info)
        if not _is_uint(packet.index, count):
            raise MalformedFrame(
                f"frame {fid}: packet index {packet.index!r} is outside [0, {count}) "
                "(header.packet_count, plus the side packet if any)"
            )
        if packet.index in seen:
            raise MalformedFrame(f"frame {fid}: packet index {packet.index} appears twice; deduplicate upstream")
        seen.add(packet.index)
        rows = header.rows_of(packet.index) if packet.index < header.packet_count else (0, 0)
        if (packet.row_start, packet.row_stop) != rows:
            raise MalformedFrame(
                f"frame {fid}: packet {packet.index} claims rows [{packet.row_start}, {packet.row_stop}) "
                f"but the header puts it at [{rows[0]}, {rows[1]})"
            )
        if not isinstance(packet.payload, (bytes, bytearray, memoryview)):
            raise MalformedFrame(
                f"frame {fid}: packet {packet.index} payload is {type(packet.payload).__name__}, not bytes"
            )


def validate_frame(frame) -> None:
    """``validate_header`` then ``validate_packets`` on a ``Frame``."""
    validate_header(frame.header)
    validate_packets(frame.header, frame.packets)

"""One packet as the channel carries it: a 3-byte header, the payload, and a check over both.

Layout (little-endian)::

    byte 0      bit 7: an image size follows; bits 0-6: packet index (0..126)
    bytes 1-2   frame sequence number modulo 2**16 (the session extends it, as RTP does)
    [4 bytes]   image width and height, uint16 each, only when bit 7 is set
    payload     the coded rows (or the frame's side information)
    check       CRC-16/CCITT (2 bytes, big-endian) or CRC-32 (4 bytes), over everything before it

Every byte of it is exposed to the channel: a datagram whose check fails is
unusable as a whole (its header may be the part that was hit), and counts as a
lost packet of whichever frame it can be attributed to.
"""

from __future__ import annotations

import binascii
import struct
import zlib
from dataclasses import dataclass

from semlink.packets.errors import MalformedFrame

HEADER_BYTES = 3
IMAGE_SIZE_BYTES = 4
MAX_INDEX = 126  # index 127 is never used, so a byte of all ones never parses as a packet of a long frame
CHECK_BYTES = {"crc16": 2, "crc32": 4}
SEQ_MODULUS = 1 << 16
_HAS_SIZE = 0x80


class CorruptDatagram(ValueError):
    """A datagram failed its check or is too short to hold a header and a check."""


@dataclass(frozen=True)
class Datagram:
    """A parsed datagram: its frame's sequence number (mod 2**16), packet index, image size and payload."""

    seq16: int
    index: int
    payload: bytes
    image_size: tuple[int, int] | None = None


def check_bytes(check: str) -> int:
    if check not in CHECK_BYTES:
        raise MalformedFrame(f"unknown packet check {check!r}; use one of {', '.join(CHECK_BYTES)}")
    return CHECK_BYTES[check]


def _crc(data, check: str, start: int | None = None) -> int:
    """The CRC of ``data`` (any bytes-like object); ``start``, a CRC of bytes before it, continues it."""
    if check == "crc16":
        return binascii.crc_hqx(data, 0xFFFF if start is None else start)
    return zlib.crc32(data, 0 if start is None else start) & 0xFFFFFFFF


def _check_value(data, check: str, start: int | None = None) -> bytes:
    """The check bytes of ``data`` as the wire carries them."""
    return struct.pack(">H" if check == "crc16" else "<I", _crc(data, check, start))


def overhead_bytes(check: str, with_image_size: bool = False) -> int:
    """Bytes a datagram adds to its payload."""
    return HEADER_BYTES + check_bytes(check) + (IMAGE_SIZE_BYTES if with_image_size else 0)


def encode_datagram(seq: int, index: int, payload: bytes, check: str,
                    image_size: tuple[int, int] | None = None) -> bytes:
    """The bytes of one packet; ``seq`` is taken modulo 2**16."""
    if not 0 <= index <= MAX_INDEX:
        raise ValueError(f"packet index {index} is outside [0, {MAX_INDEX}]; use more rows per packet")
    head = struct.pack("<BH", index | (_HAS_SIZE if image_size else 0), seq % SEQ_MODULUS)
    if image_size:
        width, height = image_size
        if not (0 < width < 1 << 16 and 0 < height < 1 << 16):
            raise ValueError(f"image size {image_size} does not fit the wire's uint16 width and height")
        head += struct.pack("<HH", width, height)
    # head, payload and check joined in one copy; the check runs over head then payload without joining them first
    return b"".join((head, payload, _check_value(payload, check, _crc(head, check))))


def decode_datagram(data: bytes, check: str) -> Datagram:
    """Parse one packet; raise :class:`CorruptDatagram` when its check fails or it is too short."""
    size = check_bytes(check)
    view = memoryview(data)  # the check and the header are read in place: the payload is the one copy made
    if len(view) < HEADER_BYTES + size:
        raise CorruptDatagram(f"{len(view)} bytes cannot hold a {HEADER_BYTES}-byte header and a {check}")
    body = view[:-size]
    if _check_value(body, check) != view[-size:]:
        raise CorruptDatagram(f"{check} mismatch")
    first, seq16 = struct.unpack_from("<BH", body)
    index, offset, image_size = first & 0x7F, HEADER_BYTES, None
    if first & _HAS_SIZE:
        if len(body) < HEADER_BYTES + IMAGE_SIZE_BYTES:
            raise CorruptDatagram("the header announces an image size the datagram does not hold")
        image_size = struct.unpack_from("<HH", body, HEADER_BYTES)
        offset += IMAGE_SIZE_BYTES
    if index > MAX_INDEX:
        raise CorruptDatagram(f"packet index {index} is outside [0, {MAX_INDEX}]")
    return Datagram(seq16, index, body[offset:].tobytes(), image_size)


def unchecked_seq16(data: bytes) -> int | None:
    """The sequence number (mod 2**16) a datagram's header names, read without its check: whose a datagram that
    failed its check most likely was (its header may be the part that was hit); ``None`` if too short for one."""
    return struct.unpack_from("<H", data, 1)[0] if len(data) >= HEADER_BYTES else None


def extend_seq(seq16: int, highest: int | None) -> int:
    """The full sequence number nearest to ``highest`` whose low 16 bits are ``seq16`` (RFC 3550's rule)."""
    if highest is None:
        return seq16
    candidate = (highest & ~(SEQ_MODULUS - 1)) | seq16
    if candidate - highest > SEQ_MODULUS // 2:
        candidate -= SEQ_MODULUS
    elif highest - candidate > SEQ_MODULUS // 2:
        candidate += SEQ_MODULUS
    return max(candidate, 0)

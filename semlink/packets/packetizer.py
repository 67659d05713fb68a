"""Cut a latent ``(C, H, W)`` into row packets, each zstd-coded and CRC32-protected, and join them back.

Packet ``i`` carries the C-order bytes of ``latent[:, r0:r1, :]`` (little-endian),
compressed as one zstd frame with its content size, and ``zlib.crc32`` of those
compressed bytes. On the way back a packet that is missing, fails its CRC, does
not decode, or decodes to the wrong size costs exactly its rows: they come back
as zeros and are flagged in ``lost_rows``.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import zstandard

from semlink.packets.errors import MalformedFrame
from semlink.packets.frame import Frame, FrameHeader, Packet
from semlink.packets.validate import SUPPORTED_DTYPES, packet_count_for, validate_frame, validate_header

# One row per packet: a Florence-2-base row (1024 channels x 24) is already far
# above an MTU, and the finest slicing makes a lost packet cost the least.
ROWS_PER_PACKET_DEFAULT = 1
ENTROPY_CODER = "zstd"

Corruption = Literal["crc", "zstd", "size"]

# zstd contexts are reusable but not thread-safe: one set per thread.
_contexts = threading.local()


def _compressor(level: int) -> zstandard.ZstdCompressor:
    cache = _contexts.__dict__.setdefault("compressors", {})
    if level not in cache:
        cache[level] = zstandard.ZstdCompressor(level=level, write_content_size=True)
    return cache[level]


def _decompressor() -> zstandard.ZstdDecompressor:
    if not hasattr(_contexts, "decompressor"):
        _contexts.decompressor = zstandard.ZstdDecompressor()
    return _contexts.decompressor


@dataclass(frozen=True)
class DecodeReport:
    """What happened to a frame's packets: ``lost`` never arrived, ``corrupted`` arrived unusable.

    ``corrupted`` maps a packet index to why: ``"crc"`` (CRC32 mismatch), ``"zstd"``
    (not a decodable zstd frame) or ``"size"`` (decodes to the wrong number of bytes).
    """

    packet_count: int
    lost: tuple[int, ...] = ()
    corrupted: Mapping[int, Corruption] = field(default_factory=dict)

    @property
    def lost_count(self) -> int:
        return len(self.lost)

    @property
    def corrupted_count(self) -> int:
        return len(self.corrupted)

    @property
    def decoded_count(self) -> int:
        return self.packet_count - self.lost_count - self.corrupted_count

    @property
    def complete(self) -> bool:
        return self.decoded_count == self.packet_count


def rows_per_packet_for(shape: Sequence[int], dtype, target_packet_bytes: int = 1200) -> int:
    """Rows per packet so that an uncompressed packet is about ``target_packet_bytes`` (an MTU).

    Never less than one row (a wide row alone may exceed the target) nor more than ``H``.
    """
    channels, height, width = (int(d) for d in shape)
    row_bytes = channels * width * np.dtype(dtype).itemsize
    rows = target_packet_bytes // row_bytes if row_bytes else height
    return max(1, min(rows, height))


def _float32s(values: Sequence[float]) -> tuple[float, ...]:
    # The wire carries scale/offset as float32; rounding here makes the sender's
    # frame equal to what the receiver parses, so both ends dequantise alike.
    return tuple(float(v) for v in np.asarray(values, dtype=np.float32).reshape(-1))


def packetize(
    latent: np.ndarray,
    *,
    frame_id: int,
    codec: str,
    fingerprint: str,
    feature_shape: Sequence[int],
    rows_per_packet: int = ROWS_PER_PACKET_DEFAULT,
    scale: Sequence[float] = (),
    offset: Sequence[float] = (),
    level: int = 3,
    sent_at_ns: int = 0,
    meta: Mapping[str, str] | None = None,
) -> Frame:
    """Slice ``latent`` ``(C, H, W)`` into ``ceil(H / rows_per_packet)`` packets of rows.

    ``level`` is the zstd level. ``scale``/``offset`` are rounded to float32 (their
    wire type). Raises ``ValueError`` for a latent or parameters that cannot be sent.
    """
    latent = np.asarray(latent)
    if latent.ndim != 3:
        raise ValueError(f"latent must be (C, H, W), got shape {latent.shape}")
    if latent.dtype.name not in SUPPORTED_DTYPES:
        raise ValueError(f"latent dtype {latent.dtype} cannot be sent; cast it to one of {SUPPORTED_DTYPES}")
    if rows_per_packet < 1:
        raise ValueError(f"rows_per_packet must be >= 1, got {rows_per_packet}")
    channels, height, width = latent.shape
    header = FrameHeader(
        frame_id=frame_id,
        codec=codec,
        fingerprint=fingerprint,
        shape=(channels, height, width),
        dtype=latent.dtype.name,
        packet_count=packet_count_for(height, rows_per_packet),
        rows_per_packet=rows_per_packet,
        feature_shape=tuple(int(d) for d in feature_shape),
        scale=_float32s(scale),
        offset=_float32s(offset),
        entropy_coder=ENTROPY_CODER,
        sent_at_ns=sent_at_ns,
        meta=dict(meta or {}),
    )
    validate_header(header)
    wire = latent.astype(latent.dtype.newbyteorder("<"), copy=False)
    compressor = _compressor(level)
    packets = []
    for index in range(header.packet_count):
        start, stop = header.rows_of(index)
        payload = compressor.compress(np.ascontiguousarray(wire[:, start:stop, :]).tobytes())
        packets.append(Packet(frame_id, index, start, stop, payload, zlib.crc32(payload)))
    return Frame(header, tuple(packets))


def _decode_payload(packet: Packet, expected_bytes: int) -> tuple[bytes | None, Corruption | None]:
    payload = bytes(packet.payload)
    if zlib.crc32(payload) != packet.crc32:
        return None, "crc"
    try:
        # Check the declared size before decoding: zstd sizes its output buffer from
        # the frame header, so a lying header must not get that far.
        if zstandard.frame_content_size(payload) != expected_bytes:
            return None, "size"
        data = _decompressor().decompress(payload, allow_extra_data=False)
    except zstandard.ZstdError:
        return None, "zstd"
    if len(data) != expected_bytes:
        return None, "size"
    return data, None


def depacketize_with_report(frame: Frame) -> tuple[np.ndarray, np.ndarray, DecodeReport]:
    """Reassemble a frame: ``(latent (C, H, W) of header.dtype, lost_rows (H,) bool, report)``.

    Rows of lost or corrupted packets are zero and ``True`` in ``lost_rows``. Raises
    ``MalformedFrame`` only for a header or packet layout that cannot be decoded.
    """
    validate_frame(frame)
    header = frame.header
    if header.entropy_coder != ENTROPY_CODER:
        raise MalformedFrame(
            f"frame {header.frame_id}: header.entropy_coder is {header.entropy_coder!r}; "
            f"depacketize decodes {ENTROPY_CODER!r} packets only, the codec must decode these itself"
        )
    channels, height, width = header.shape
    wire_dtype = np.dtype(header.dtype).newbyteorder("<")
    latent = np.zeros((channels, height, width), dtype=wire_dtype)
    lost_rows = np.ones(height, dtype=bool)
    corrupted: dict[int, Corruption] = {}
    for packet in frame.packets:
        start, stop = packet.row_start, packet.row_stop
        data, reason = _decode_payload(packet, channels * (stop - start) * width * wire_dtype.itemsize)
        if reason is not None:
            corrupted[packet.index] = reason
            continue
        latent[:, start:stop, :] = np.frombuffer(data, dtype=wire_dtype).reshape(channels, stop - start, width)
        lost_rows[start:stop] = False
    report = DecodeReport(header.packet_count, tuple(frame.lost_indices()), corrupted)
    return latent.astype(np.dtype(header.dtype), copy=False), lost_rows, report


def depacketize(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """Reassemble a frame: ``(latent (C, H, W) of header.dtype, lost_rows (H,) bool)``.

    See ``depacketize_with_report`` for the counts of lost and corrupted packets.
    """
    latent, lost_rows, _ = depacketize_with_report(frame)
    return latent, lost_rows

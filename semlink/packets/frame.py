"""The data types every part of semlink agrees on: a frame header and its packets.

A frame is one image's coded features. Its latent has shape ``(C, H, W)``; a
packet carries rows ``[row_start, row_stop)`` of that latent, entropy-coded on
its own and protected by CRC32, so a lost packet costs its rows and nothing else.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace

WIRE_VERSION = 1


@dataclass(frozen=True)
class FrameHeader:
    """What a receiver needs to decode a frame's packets.

    ``shape`` is the latent's ``(C, H, W)``; ``dtype`` the numpy dtype name of its
    elements on the wire (``"float16"``, ``"uint8"``...). ``scale``/``offset`` are
    per-channel dequantisation parameters (empty for unquantised codecs):
    ``value = q * scale[c] + offset[c]``. ``feature_shape`` is the ``(C, H, W)`` the
    decoder must reproduce (the vision tower's output).
    """

    frame_id: int
    codec: str
    fingerprint: str
    shape: tuple[int, int, int]
    dtype: str
    packet_count: int
    rows_per_packet: int
    feature_shape: tuple[int, int, int]
    scale: tuple[float, ...] = ()
    offset: tuple[float, ...] = ()
    entropy_coder: str = "zstd"
    version: int = WIRE_VERSION
    sent_at_ns: int = 0
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    def rows_of(self, index: int) -> tuple[int, int]:
        """The latent rows ``[start, stop)`` that packet ``index`` carries."""
        start = index * self.rows_per_packet
        return start, min(start + self.rows_per_packet, self.shape[1])


@dataclass(frozen=True)
class Packet:
    """One independently decodable slice of a frame: rows ``[row_start, row_stop)``."""

    frame_id: int
    index: int
    row_start: int
    row_stop: int
    payload: bytes
    crc32: int


@dataclass(frozen=True)
class Frame:
    """A header and the packets that arrived; missing indices are lost packets."""

    header: FrameHeader
    packets: tuple[Packet, ...]

    @property
    def payload_bytes(self) -> int:
        return sum(len(p.payload) for p in self.packets)

    def lost_indices(self) -> list[int]:
        present = {p.index for p in self.packets}
        return [i for i in range(self.header.packet_count) if i not in present]

    def damaged_indices(self) -> list[int]:
        """Packets the decoder cannot use: missing, or failing their CRC32."""
        ok = {p.index for p in self.packets if zlib.crc32(p.payload) & 0xFFFFFFFF == p.crc32}
        return [i for i in range(self.header.packet_count) if i not in ok]

    def with_packets(self, packets) -> "Frame":
        return replace(self, packets=tuple(packets))

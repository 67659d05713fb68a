"""The data types every part of semlink agrees on: a frame header and its packets.

A frame is one image's coded features. Its latent has shape ``(C, H, W)``; a
packet carries rows ``[row_start, row_stop)`` of that latent, entropy-coded on
its own, so a lost packet costs its rows and nothing else. The header is the
decoder's whole view of a frame; on the wire almost all of it is the stream's
:class:`~semlink.packets.session.Session`, sent once, and each packet carries
only its frame's sequence number and its index (:mod:`semlink.packets.datagram`).
With ``side_info`` a frame's per-frame dequantisation constants travel in one
more packet, index ``packet_count``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

WIRE_VERSION = 2
IMAGE_SIZE_KEY = "image_size"  # FrameHeader.meta key: the original image's "W,H" (the receiver scales boxes with it)


def image_size_meta(size: tuple[int, int]) -> dict[str, str]:
    """``FrameHeader.meta`` entry for an image of ``(width, height)``."""
    return {IMAGE_SIZE_KEY: f"{size[0]},{size[1]}"}


@dataclass(frozen=True)
class FrameHeader:
    """What a receiver needs to decode a frame's packets.

    ``shape`` is the latent's ``(C, H, W)``; ``dtype`` the numpy dtype name of its
    elements on the wire (``"float16"``, ``"uint8"``...). ``scale``/``offset`` are
    per-channel dequantisation parameters (empty for unquantised codecs):
    ``value = q * scale[c] + offset[c]``. ``feature_shape`` is the ``(C, H, W)`` the
    decoder must reproduce (the vision tower's output). With ``side_info`` the
    constants are per frame and travel in packet ``packet_count`` as float16.
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
    side_info: bool = False
    version: int = WIRE_VERSION
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def image_size(self) -> tuple[int, int] | None:
        """``meta["image_size"]`` as ``(width, height)``; None when absent or not two sizes in ``(0, 2**16)``."""
        try:
            width, height = (int(v) for v in self.meta[IMAGE_SIZE_KEY].split(","))
        except (KeyError, ValueError):
            return None
        return (width, height) if 0 < width < 1 << 16 and 0 < height < 1 << 16 else None

    def rows_of(self, index: int) -> tuple[int, int]:
        """The latent rows ``[start, stop)`` that packet ``index`` carries."""
        start = index * self.rows_per_packet
        return start, min(start + self.rows_per_packet, self.shape[1])


@dataclass(frozen=True)
class Packet:
    """One independently decodable slice of a frame: rows ``[row_start, row_stop)`` (empty for the side packet)."""

    frame_id: int
    index: int
    row_start: int
    row_stop: int
    payload: bytes


@dataclass(frozen=True)
class Frame:
    """A header and the packets that arrived intact; missing indices are lost packets.

    ``damaged`` counts datagrams of this frame that arrived but failed their check
    (their index is unknown: their header may be what was hit).
    """

    header: FrameHeader
    packets: tuple[Packet, ...]
    damaged: int = 0

    @property
    def payload_bytes(self) -> int:
        return sum(len(p.payload) for p in self.packets)

    @property
    def total_packets(self) -> int:
        """Row packets plus the side packet, if the frame has one."""
        return self.header.packet_count + int(self.header.side_info)

    def lost_indices(self) -> list[int]:
        """Indices (side packet included) of packets that did not arrive intact."""
        present = {p.index for p in self.packets}
        return [i for i in range(self.total_packets) if i not in present]

    def with_packets(self, packets) -> "Frame":
        return replace(self, packets=tuple(packets))

    def with_image_size(self, size: tuple[int, int]) -> "Frame":
        """This frame with its image's ``(width, height)`` in the header (the receiver scales boxes with it)."""
        return replace(self, header=replace(self.header, meta={**self.header.meta, **image_size_meta(size)}))

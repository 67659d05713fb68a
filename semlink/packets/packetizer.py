"""Cut a latent ``(C, H, W)`` into row packets, each coded on its own, and join them back.

Packet ``i`` carries ``latent[:, r0:r1, :]`` coded by a payload coder
(:mod:`semlink.packets.coders`: zstd by default, the learned codec's entropy
coder for it). With per-frame dequantisation constants (``side_info``) one more
packet, index ``packet_count``, carries them as float16 ``scale`` then
``offset``; without it no row of the frame can be dequantised, so the whole frame
counts as erased. On the way back a packet that is missing or does not decode
costs exactly its rows: they come back as zeros and are flagged in ``lost_rows``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from semlink.packets.coders import PayloadCoder, PayloadError, ZstdCoder
from semlink.packets.errors import MalformedFrame
from semlink.packets.frame import Frame, FrameHeader, Packet
from semlink.packets.validate import SUPPORTED_DTYPES, packet_count_for, validate_frame, validate_header

# One row per packet: a Florence-2-base row (1024 channels x 24) is already far
# above an MTU, and the finest slicing makes a lost packet cost the least.
ROWS_PER_PACKET_DEFAULT = 1
ENTROPY_CODER = "zstd"
SIDE_DTYPE = np.dtype("<f2")


@dataclass(frozen=True)
class DecodeReport:
    """What happened to a frame's packets: ``lost`` never arrived intact, ``corrupted`` arrived but did not decode.

    ``packet_count`` counts every packet of the frame, the side packet included.
    ``corrupted`` maps a packet index to why (``"zstd"``, ``"size"``, the entropy
    coder's name...); ``damaged`` counts datagrams that failed their check on the
    way (their indices are among ``lost``).
    """

    packet_count: int
    lost: tuple[int, ...] = ()
    corrupted: Mapping[int, str] = field(default_factory=dict)
    damaged: int = 0

    @property
    def lost_count(self) -> int:
        return len(self.lost)

    @property
    def corrupted_count(self) -> int:
        """Packets that arrived unusable: failed their check, or did not decode."""
        return len(self.corrupted) + self.damaged

    @property
    def missing_count(self) -> int:
        """Packets that never arrived at all."""
        return self.lost_count - self.damaged

    @property
    def decoded_count(self) -> int:
        return self.packet_count - self.lost_count - len(self.corrupted)

    @property
    def complete(self) -> bool:
        return self.decoded_count == self.packet_count


@dataclass(frozen=True)
class Unpacked:
    """A frame's latent ``(C, H, W)``, its ``lost_rows (H,)``, the report and its dequantisation constants."""

    latent: np.ndarray
    lost_rows: np.ndarray
    report: DecodeReport
    scale: np.ndarray
    offset: np.ndarray


def rows_per_packet_for(shape: Sequence[int], dtype, target_packet_bytes: int = 1200) -> int:
    """Rows per packet so that an uncompressed packet is about ``target_packet_bytes`` (an MTU).

    Never less than one row (a wide row alone may exceed the target) nor more than ``H``.
    """
    channels, height, width = (int(d) for d in shape)
    row_bytes = channels * width * np.dtype(dtype).itemsize
    rows = target_packet_bytes // row_bytes if row_bytes else height
    return max(1, min(rows, height))


def side_constants(values: Sequence[float]) -> tuple[float, ...]:
    """``values`` rounded to float16, the side packet's type: what the receiver will read back."""
    return tuple(np.asarray(values, dtype=np.float32).astype(SIDE_DTYPE).reshape(-1).tolist())


def _float32s(values: Sequence[float]) -> tuple[float, ...]:
    return tuple(np.asarray(values, dtype=np.float32).reshape(-1).tolist())


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
    side_info: bool = False,
    coder: PayloadCoder | None = None,
    meta: Mapping[str, str] | None = None,
) -> Frame:
    """Slice ``latent`` ``(C, H, W)`` into ``ceil(H / rows_per_packet)`` packets of rows (+ the side packet).

    With ``side_info`` the constants travel as float16 in the side packet (give them
    already rounded with :func:`side_constants`, so both ends dequantise alike);
    otherwise they are static (the session carries them). Raises ``ValueError`` for
    a latent or parameters that cannot be sent.
    """
    coder = coder or ZstdCoder()
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
        scale=side_constants(scale) if side_info else _float32s(scale),
        offset=side_constants(offset) if side_info else _float32s(offset),
        entropy_coder=coder.name,
        side_info=side_info,
        meta=dict(meta or {}),
    )
    validate_header(header)
    if hasattr(coder, "for_frame"):  # a coder that adapts to the frame (zstd: whether entropy coding pays)
        coder = coder.for_frame(latent)
    packets = []
    for index in range(header.packet_count):
        start, stop = header.rows_of(index)
        packets.append(Packet(frame_id, index, start, stop, coder.encode(latent[:, start:stop, :])))
    if side_info:
        side = np.concatenate([np.asarray(header.scale), np.asarray(header.offset)]).astype(SIDE_DTYPE)
        packets.append(Packet(frame_id, header.packet_count, 0, 0, side.tobytes()))
    return Frame(header, tuple(packets))


def _side(frame: Frame) -> tuple[np.ndarray, np.ndarray] | str:
    """The frame's dequantisation constants, or why there are none: ``"missing"`` (no side packet),
    ``"size"`` (the wrong length) or ``"non-finite"`` (a NaN or infinity, which would poison every value)."""
    header = frame.header
    if not header.side_info:
        return np.asarray(header.scale, np.float32), np.asarray(header.offset, np.float32)
    channels = header.shape[0]
    for packet in frame.packets:
        if packet.index == header.packet_count:
            if len(packet.payload) != 2 * channels * SIDE_DTYPE.itemsize:
                return "size"
            values = np.frombuffer(bytes(packet.payload), dtype=SIDE_DTYPE).astype(np.float32)
            if not np.isfinite(values).all():
                return "non-finite"
            return values[:channels], values[channels:]
    return "missing"


def unpack(frame: Frame, coder: PayloadCoder | None = None) -> Unpacked:
    """Reassemble a frame with ``coder`` (zstd by default; it must be the one the header names).

    Raises ``MalformedFrame`` only for a header or packet layout that cannot be decoded.
    """
    validate_frame(frame)
    coder = coder or ZstdCoder()
    header = frame.header
    if header.entropy_coder != coder.name:
        raise MalformedFrame(
            f"frame {header.frame_id}: header.entropy_coder is {header.entropy_coder!r}, this decoder codes "
            f"{coder.name!r}; the two ends must use the same codec"
        )
    channels, height, width = header.shape
    dtype = np.dtype(header.dtype)
    latent = np.zeros((channels, height, width), dtype=dtype)
    lost_rows = np.ones(height, dtype=bool)
    corrupted: dict[int, str] = {}
    for packet in frame.packets:
        if packet.index == header.packet_count:  # the side packet
            continue
        start, stop = packet.row_start, packet.row_stop
        try:
            block = coder.decode(bytes(packet.payload), (channels, stop - start, width), dtype)
        except PayloadError as err:
            corrupted[packet.index] = err.reason
            continue
        latent[:, start:stop, :] = block
        lost_rows[start:stop] = False
    side = _side(frame)
    if isinstance(side, str):
        if side != "missing":
            corrupted[header.packet_count] = side
        side = np.zeros(0, np.float32), np.zeros(0, np.float32)
        lost_rows[:] = True  # nothing can be dequantised without the frame's constants
        latent[:] = 0
    report = DecodeReport(frame.total_packets, tuple(frame.lost_indices()), corrupted, frame.damaged)
    return Unpacked(latent, lost_rows, report, *side)


def depacketize_with_report(frame: Frame, coder: PayloadCoder | None = None) -> tuple[np.ndarray, np.ndarray, DecodeReport]:
    """Reassemble a frame: ``(latent (C, H, W) of header.dtype, lost_rows (H,) bool, report)``."""
    out = unpack(frame, coder)
    return out.latent, out.lost_rows, out.report


def depacketize(frame: Frame, coder: PayloadCoder | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reassemble a frame: ``(latent (C, H, W) of header.dtype, lost_rows (H,) bool)``."""
    out = unpack(frame, coder)
    return out.latent, out.lost_rows

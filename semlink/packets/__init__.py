"""Frames and packets: the unit a codec emits and the unit a channel loses."""

from semlink.packets.errors import MalformedFrame, UnknownCodec
from semlink.packets.frame import WIRE_VERSION, Frame, FrameHeader, Packet
from semlink.packets.packetizer import (
    ENTROPY_CODER,
    ROWS_PER_PACKET_DEFAULT,
    DecodeReport,
    depacketize,
    depacketize_with_report,
    packetize,
    rows_per_packet_for,
)
from semlink.packets.validate import (
    MAX_LATENT_BYTES,
    SUPPORTED_DTYPES,
    validate_frame,
    validate_header,
    validate_packets,
)

__all__ = [
    "Frame",
    "FrameHeader",
    "Packet",
    "WIRE_VERSION",
    "MalformedFrame",
    "UnknownCodec",
    "DecodeReport",
    "ENTROPY_CODER",
    "ROWS_PER_PACKET_DEFAULT",
    "MAX_LATENT_BYTES",
    "SUPPORTED_DTYPES",
    "packetize",
    "depacketize",
    "depacketize_with_report",
    "rows_per_packet_for",
    "validate_frame",
    "validate_header",
    "validate_packets",
]

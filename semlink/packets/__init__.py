"""Frames, sessions and packets: the unit a codec emits, what a stream agrees on once, and the unit a channel loses."""

from semlink.packets.coders import PayloadCoder, PayloadError, ZstdCoder
from semlink.packets.datagram import CorruptDatagram, Datagram, decode_datagram, encode_datagram, extend_seq
from semlink.packets.errors import MalformedFrame, SessionRefused, UnknownCodec
from semlink.packets.frame import IMAGE_SIZE_KEY, WIRE_VERSION, Frame, FrameHeader, Packet
from semlink.packets.packetizer import (
    ENTROPY_CODER,
    ROWS_PER_PACKET_DEFAULT,
    DecodeReport,
    Unpacked,
    depacketize,
    depacketize_with_report,
    packetize,
    rows_per_packet_for,
    side_constants,
    unpack,
)
from semlink.packets.session import Session, frame_id_of, split_frame_id, validate_session
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
    "Session",
    "IMAGE_SIZE_KEY",
    "WIRE_VERSION",
    "MalformedFrame",
    "SessionRefused",
    "UnknownCodec",
    "CorruptDatagram",
    "Datagram",
    "DecodeReport",
    "Unpacked",
    "PayloadCoder",
    "PayloadError",
    "ZstdCoder",
    "ENTROPY_CODER",
    "ROWS_PER_PACKET_DEFAULT",
    "MAX_LATENT_BYTES",
    "SUPPORTED_DTYPES",
    "decode_datagram",
    "encode_datagram",
    "extend_seq",
    "frame_id_of",
    "split_frame_id",
    "packetize",
    "depacketize",
    "depacketize_with_report",
    "unpack",
    "rows_per_packet_for",
    "side_constants",
    "validate_frame",
    "validate_header",
    "validate_packets",
    "validate_session",
]

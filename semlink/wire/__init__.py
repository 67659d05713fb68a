"""The wire: protobuf messages for sessions and frames (``semlink.v2``) and the one converter to and from them."""

from semlink.packets.errors import MalformedFrame, UnknownCodec
from semlink.wire.acks import ack_message, ack_outcome
from semlink.wire.convert import (
    ParsedPackets,
    Unparsable,
    frame_datagrams,
    group_datagrams,
    frame_message,
    identify_frame,
    identify_group,
    lost_frame,
    max_datagram_bytes,
    message_to_session,
    parse_packets,
    parse_uplink,
    session_to_message,
    wire_bytes,
)

__all__ = [
    "MalformedFrame",
    "ParsedPackets",
    "Unparsable",
    "UnknownCodec",
    "ack_message",
    "ack_outcome",
    "frame_datagrams",
    "group_datagrams",
    "frame_message",
    "identify_frame",
    "identify_group",
    "lost_frame",
    "max_datagram_bytes",
    "message_to_session",
    "parse_packets",
    "parse_uplink",
    "session_to_message",
    "wire_bytes",
]

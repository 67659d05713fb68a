"""The wire: protobuf messages for frames (``semlink.v1``) and the one converter to and from them."""

from semlink.packets.errors import MalformedFrame, UnknownCodec
from semlink.wire.convert import frame_from_bytes, frame_to_bytes, frame_to_message, message_to_frame

__all__ = [
    "MalformedFrame",
    "UnknownCodec",
    "frame_from_bytes",
    "frame_to_bytes",
    "frame_to_message",
    "message_to_frame",
]

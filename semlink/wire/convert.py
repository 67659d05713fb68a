"""The one place a ``Frame`` becomes a ``semlink.v1.FrameMessage`` (and bytes), and back.

Going in (``message_to_frame``, ``frame_from_bytes``) everything is validated:
whatever the bytes, the result is a ``Frame`` that ``depacketize`` can decode, or
a ``MalformedFrame`` saying which field is wrong.
"""

from __future__ import annotations

from collections.abc import Collection

from google.protobuf.message import DecodeError

from semlink.packets.errors import MalformedFrame, UnknownCodec
from semlink.packets.frame import Frame, FrameHeader, Packet
from semlink.packets.validate import validate_header, validate_packets
from semlink.v1 import semlink_pb2 as pb


def frame_to_message(frame: Frame) -> pb.FrameMessage:
    """Build the ``FrameMessage`` for ``frame``; ``scale``/``offset`` travel as float32."""
    h = frame.header
    header = pb.FrameHeader(
        frame_id=h.frame_id,
        codec=h.codec,
        fingerprint=h.fingerprint,
        shape=h.shape,
        dtype=h.dtype,
        packet_count=h.packet_count,
        rows_per_packet=h.rows_per_packet,
        feature_shape=h.feature_shape,
        scale=h.scale,
        offset=h.offset,
        entropy_coder=h.entropy_coder,
        version=h.version,
        sent_at_ns=h.sent_at_ns,
        meta=h.meta,
    )
    packets = [
        pb.Packet(
            frame_id=p.frame_id,
            index=p.index,
            row_start=p.row_start,
            row_stop=p.row_stop,
            payload=bytes(p.payload),
            crc32=p.crc32,
        )
        for p in frame.packets
    ]
    return pb.FrameMessage(header=header, packets=packets)


def message_to_frame(msg: pb.FrameMessage, known_codecs: Collection[str] | None = None) -> Frame:
    """Validate ``msg`` and turn it into a ``Frame``.

    Raises ``MalformedFrame`` (naming the field) for a missing header, a wire
    version mismatch, bad shapes or dtype, a packet count that does not match the
    shape, or packets that do not belong to this frame; ``UnknownCodec`` when
    ``known_codecs`` is given and does not contain the frame's codec.
    """
    if not msg.HasField("header"):
        raise MalformedFrame("FrameMessage has no header; the sender must set FrameMessage.header")
    h = msg.header
    header = FrameHeader(
        frame_id=h.frame_id,
        codec=h.codec,
        fingerprint=h.fingerprint,
        shape=tuple(h.shape),
        dtype=h.dtype,
        packet_count=h.packet_count,
        rows_per_packet=h.rows_per_packet,
        feature_shape=tuple(h.feature_shape),
        scale=tuple(h.scale),
        offset=tuple(h.offset),
        entropy_coder=h.entropy_coder,
        version=h.version,
        sent_at_ns=h.sent_at_ns,
        meta=dict(h.meta),
    )
    validate_header(header)
    if known_codecs is not None and header.codec not in known_codecs:
        raise UnknownCodec(
            f"frame {header.frame_id}: codec {header.codec!r} is not one of {sorted(known_codecs)}; "
            "load that codec's checkpoint here or send with a codec this end knows"
        )
    packets = tuple(
        Packet(
            frame_id=p.frame_id,
            index=p.index,
            row_start=p.row_start,
            row_stop=p.row_stop,
            payload=p.payload,
            crc32=p.crc32,
        )
        for p in msg.packets
    )
    validate_packets(header, packets)
    return Frame(header, packets)


def frame_to_bytes(frame: Frame) -> bytes:
    """The serialized ``FrameMessage`` for ``frame``."""
    return frame_to_message(frame).SerializeToString()


def frame_from_bytes(data: bytes, known_codecs: Collection[str] | None = None) -> Frame:
    """Parse and validate a serialized ``FrameMessage``; any bad bytes raise ``MalformedFrame``."""
    msg = pb.FrameMessage()
    try:
        msg.ParseFromString(bytes(data))
    except DecodeError as exc:
        raise MalformedFrame(f"{len(data)} bytes are not a semlink.v1.FrameMessage: {exc}") from exc
    return message_to_frame(msg, known_codecs)

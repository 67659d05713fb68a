"""The one place sessions and frames become ``semlink.v2`` messages and datagrams, and back.

Going in, everything is validated: a session message becomes a :class:`Session`
or a ``MalformedFrame`` naming the field; a frame's datagrams become frames that
``unpack`` can decode, the datagrams that failed their check counted, never
trusted. ``wire_bytes`` of a frame is the sum of its datagrams' lengths: every
byte the channel carries for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from google.protobuf.message import DecodeError

from semlink.packets import (
    CorruptDatagram,
    Frame,
    MalformedFrame,
    Packet,
    Session,
    decode_datagram,
    encode_datagram,
    extend_seq,
    split_frame_id,
    validate_session,
)
from semlink.packets.datagram import overhead_bytes, unchecked_seq16
from semlink.packets.packing import MalformedPack, PackedDatagram, decode_packed, pack_group
from semlink.packets.pixels import claimed_count
from semlink.v2 import semlink_pb2 as pb


def session_to_message(session: Session) -> pb.Session:
    """The session's message; a features session leaves ``domain`` empty (the default), a pixel one says so."""
    width, height = session.image_size
    return pb.Session(
        version=session.version, session_id=session.session_id, codec=session.codec,
        codec_config=session.codec_config, fingerprint=session.fingerprint, entropy_model=session.entropy_model,
        entropy_coder=session.entropy_coder, feature_shape=session.feature_shape, latent_shape=session.shape,
        dtype=session.dtype, rows_per_packet=session.rows_per_packet, scale=session.scale, offset=session.offset,
        side_info=session.side_info, check=session.check, image_width=width, image_height=height,
        domain="" if session.domain == "features" else session.domain, stream_header=session.stream_header,
        pack=session.pack if session.pack > 1 else 0,
    )


def message_to_session(msg: pb.Session) -> Session:
    """Validate a session message; raise ``MalformedFrame`` naming the first bad field."""
    session = Session(
        session_id=msg.session_id, codec=msg.codec, codec_config=msg.codec_config, fingerprint=msg.fingerprint,
        feature_shape=tuple(msg.feature_shape), shape=tuple(msg.latent_shape), dtype=msg.dtype,
        rows_per_packet=msg.rows_per_packet, scale=tuple(msg.scale), offset=tuple(msg.offset),
        side_info=msg.side_info, entropy_coder=msg.entropy_coder, entropy_model=msg.entropy_model,
        check=msg.check, image_size=(msg.image_width, msg.image_height), version=msg.version,
        domain=msg.domain or "features", stream_header=bytes(msg.stream_header), pack=msg.pack or 1,
    )
    for name in ("feature_shape", "shape"):
        if len(getattr(session, name)) != 3:
            raise MalformedFrame(f"session.{name} is {getattr(session, name)!r}, expected 3 dims (C, H, W)")
    validate_session(session)
    return session


def frame_datagrams(frame: Frame, session: Session) -> list[bytes]:
    """The datagrams of ``frame`` (a frame of ``session``): what the channel carries for it."""
    _, seq = split_frame_id(frame.header.frame_id)
    size = frame.header.image_size
    size = size if size != session.image_size else None
    return [encode_datagram(seq, p.index, p.payload, session.check, size) for p in frame.packets]


def group_datagrams(frames: Sequence[Frame], session: Session) -> list[bytes]:
    """The datagrams of consecutive ``frames`` packed as one group (:mod:`semlink.packets.packing`): datagram ``j``
    holds packet ``j`` of each. Frames of another image size than the session's say it in every datagram, so a
    group's frames share one size (``ValueError`` otherwise)."""
    first = split_frame_id(frames[0].header.frame_id)[1]
    seqs = [split_frame_id(f.header.frame_id)[1] for f in frames]
    if seqs != list(range(first, first + len(frames))):
        raise ValueError(f"a group's frames are consecutive, these have sequence numbers {seqs}")
    sizes = {f.header.image_size for f in frames}
    if len(sizes) != 1:
        raise ValueError(f"a group's frames share one image size, these have {sorted(sizes)}")
    size = sizes.pop()
    ordered = [sorted(f.packets, key=lambda p: p.index) for f in frames]
    if any([p.index for p in packets] != list(range(len(packets))) for packets in ordered):
        raise ValueError("a packed frame sends its packets 0 to n - 1, each once")
    return pack_group([[p.payload for p in packets] for packets in ordered], first, session.check,
                      size if size != session.image_size else None)


class Unparsable:
    """Request bytes that are not a ``semlink.v2.Uplink``: their size and protobuf's reason."""

    def __init__(self, size: int, error: str):
        self.size = size
        self.error = error


def parse_uplink(data: bytes) -> pb.Uplink | Unparsable:
    """An incoming message's bytes as an ``Uplink``, or :class:`Unparsable`: the one tolerant parser both
    services read their streams with, so bytes that do not parse are answered on the stream, never fail it."""
    try:
        return pb.Uplink.FromString(data)
    except DecodeError as err:
        return Unparsable(len(data), str(err))


def frame_message(datagrams: Sequence[bytes]) -> pb.Uplink:
    return pb.Uplink(frame=pb.FramePackets(packets=list(datagrams)))


def wire_bytes(datagrams: Sequence[bytes]) -> int:
    """Every byte the channel carries for a frame: each datagram's header, payload and check."""
    return sum(len(d) for d in datagrams)


@dataclass(frozen=True)
class ParsedPackets:
    """One message's datagrams as frames (one per sequence number present, normally one).

    ``unattributed`` counts datagrams that failed their check in a message with no
    intact datagram to tell whose they were; ``claimed_seq`` is then the sequence
    number their unchecked headers all name (``None`` if they disagree), which the
    receiver may trust only where it cannot open a gap. ``highest_seq`` is the
    session's highest sequence number after this message.
    """

    frames: tuple[Frame, ...]
    unattributed: int
    highest_seq: int | None
    claimed_seq: int | None = None


def max_datagram_bytes(session: Session) -> int:
    """The largest datagram a frame of ``session`` can honestly need (bigger ones are refused unread).

    A payload never needs more than twice its rows' raw bytes plus a little: zstd
    expands incompressible data by well under that, and the entropy coder spends at
    most 16 bits on an 8-bit symbol (its tables give every symbol >= 2**-16).
    """
    c, _, w = session.shape
    raw = c * session.rows_per_packet * w * np.dtype(session.dtype).itemsize
    side = 4 * c if session.side_info else 0
    return max(2 * raw + 64, side) + overhead_bytes(session.check, with_image_size=True)


def _check_sizes(datagrams: Sequence[bytes], session: Session) -> None:
    if len(datagrams) > session.packets_per_frame:
        raise MalformedFrame(f"{len(datagrams)} packets in one message; a frame of this session has "
                             f"{session.packets_per_frame}")
    limit = max_datagram_bytes(session) * session.pack + 5 * (session.pack - 1)  # packed: K slices and lengths
    if any(len(d) > limit for d in datagrams):
        raise MalformedFrame(f"a packet of {max(len(d) for d in datagrams)} bytes is over the {limit} bytes a "
                             "packet of this session can need")


def parse_packets(datagrams: Sequence[bytes], session: Session, highest_seq: int | None) -> ParsedPackets:
    """Datagrams of one message → frames of ``session``, checked before anything is decoded.

    Raises ``MalformedFrame`` (cheaply, before parsing any datagram) for more
    datagrams than a frame has or one longer than a frame's packet can be. A packed
    session's datagrams (:mod:`semlink.packets.packing`) each hold a slice of every
    frame of their group: a damaged one is damage to each of them.
    """
    _check_sizes(datagrams, session)
    by_seq: dict[int, dict[int, Packet]] = {}
    sizes: dict[int, tuple[int, int]] = {}
    damaged = 0
    for data in datagrams:
        try:
            pieces = _pieces(data, session, highest_seq)
        except (CorruptDatagram, MalformedPack):
            damaged += 1
            continue
        if not pieces:
            damaged += 1  # passed its check but cannot be ours: as good as corrupted
        for seq, index, payload, size in pieces:
            by_seq.setdefault(seq, {}).setdefault(index, _packet(session, seq, index, payload))
            if size:
                sizes[seq] = size
    frames = []
    for seq, packets in sorted(by_seq.items()):
        attributed = damaged if len(by_seq) == 1 or session.pack > 1 else 0
        count = None
        if session.domain == "pixels":
            count, packets, unusable = _pixel_frame(packets)
            attributed += unusable
        header = session.header(session.frame_id(seq), sizes.get(seq), count)
        frames.append(Frame(header, tuple(packets[i] for i in sorted(packets)), attributed))
    highest = max([highest_seq or 0, *by_seq]) if by_seq else highest_seq
    claimed = None
    if not by_seq and damaged:
        named = {unchecked_seq16(data) for data in datagrams}
        claimed = extend_seq(named.pop(), highest_seq) if len(named) == 1 and None not in named else None
    unattributed = damaged if len(by_seq) != 1 and session.pack == 1 or not by_seq else 0
    return ParsedPackets(tuple(frames), unattributed, highest, claimed)


def _pieces(data: bytes, session: Session, highest_seq: int | None) -> list[tuple[int, int, bytes, tuple | None]]:
    """``(seq, packet index, payload, image size)`` of each frame's packet in one datagram: one, or a packed
    datagram's slice of each frame of its group (a pixel frame's empty slice is no packet: it has fewer); none
    when the datagram cannot be one of ``session``'s."""
    if session.pack == 1:
        datagram = decode_datagram(data, session.check)
        if datagram.index >= session.packets_per_frame:
            return []
        return [(extend_seq(datagram.seq16, highest_seq), datagram.index, datagram.payload, datagram.image_size)]
    packed = decode_packed(data, session.check)
    if not _fits(packed, session):
        return []
    first = extend_seq(packed.seq16, highest_seq)
    return [(first + k, packed.index, part, packed.image_size) for k, part in enumerate(packed.slices)
            if part or session.domain != "pixels"]


def _fits(packed: PackedDatagram, session: Session) -> bool:
    """Whether a packed datagram can be one of ``session``'s: a group it may pack, a slice its frames have."""
    return packed.frames <= session.pack and packed.index < session.packets_per_frame


def _packet(session: Session, seq: int, index: int, payload: bytes) -> Packet:
    rows = (0, 0)
    if index < session.packet_count:
        start = index * session.rows_per_packet
        rows = (start, min(start + session.rows_per_packet, session.shape[1]))
    return Packet(session.frame_id(seq), index, *rows, payload)


def _pixel_frame(packets: dict[int, Packet]) -> tuple[int, dict[int, Packet], int]:
    """A pixel frame's packet count (what most of its packets claim; on a tie, the lowest-indexed one's), the
    packets that agree with it and fit in it, and how many do not (as good as corrupted)."""
    claims = [c for _, c in sorted((i, claimed_count(p.payload)) for i, p in packets.items()) if c is not None]
    count = max(claims, key=lambda c: (claims.count(c), -claims.index(c))) if claims else None
    kept = {i: p for i, p in packets.items() if count is not None and claimed_count(p.payload) == count and i < count}
    if not kept:  # nothing usable: the frame still counts as one that arrived damaged
        return count or 1, {}, len(packets)
    return count, kept, len(packets) - len(kept)


def identify_frame(datagrams: Sequence[bytes], session: Session, highest_seq: int | None) -> tuple[int, int | None]:
    """``(frame_id, highest_seq)`` of the one frame a message's datagrams carry: what a hop that forwards them
    needs, without parsing every payload.

    Reads each datagram's 3-byte header and checks only the first datagram: when it is
    intact and every header names its sequence number and a packet of the session, that
    is the frame (a damaged datagram among them is the receiver's to find, as it would
    be had the damage happened after this hop). Any other message is parsed in full by
    :func:`parse_packets`, so the frame named is the one it would name. Raises
    ``MalformedFrame`` as :func:`parse_packets` does, and for a message that does not
    hold packets of exactly one frame.
    """
    _check_sizes(datagrams, session)
    smallest = overhead_bytes(session.check)
    if datagrams and len(datagrams[0]) >= smallest:
        low, high, packets = datagrams[0][1], datagrams[0][2], session.packets_per_frame
        if all(len(d) >= smallest and d[1] == low and d[2] == high and d[0] & 0x7F < packets for d in datagrams):
            try:
                seq = extend_seq(decode_datagram(datagrams[0], session.check).seq16, highest_seq)
            except CorruptDatagram:
                pass
            else:
                return session.frame_id(seq), max(highest_seq or 0, seq)
    parsed = parse_packets(datagrams, session, highest_seq)
    if len(parsed.frames) != 1:
        raise MalformedFrame(f"a frame message must hold packets of one frame, these belong to {len(parsed.frames)}")
    return parsed.frames[0].header.frame_id, parsed.highest_seq


def identify_group(datagrams: Sequence[bytes], session: Session,
                   highest_seq: int | None) -> tuple[int, int, int | None]:
    """``(first frame id, frames, highest_seq)`` of what a message's datagrams carry: one frame
    (:func:`identify_frame`), or, in a packed session, the group of consecutive frames whose slices they hold.

    A packed message's every datagram must pass its check and name the same group (a hop sees them before the
    channel does); ``MalformedFrame`` says why not.
    """
    if session.pack == 1:
        frame_id, highest = identify_frame(datagrams, session, highest_seq)
        return frame_id, 1, highest
    _check_sizes(datagrams, session)
    groups = set()
    for data in datagrams:
        try:
            packed = decode_packed(data, session.check)
        except (CorruptDatagram, MalformedPack) as err:
            raise MalformedFrame(f"a datagram of a packed message is unusable: {err}") from None
        if not _fits(packed, session):
            raise MalformedFrame(f"a datagram names slice {packed.index} of a group of {packed.frames}; this "
                                 f"session packs up to {session.pack} frames of {session.packets_per_frame} packets")
        groups.add((packed.seq16, packed.frames))
    if len(groups) != 1:
        raise MalformedFrame(f"a packed message must hold datagrams of one group, these name {len(groups)}")
    seq16, frames = groups.pop()
    first = extend_seq(seq16, highest_seq)
    return session.frame_id(first), frames, max(highest_seq or 0, first + frames - 1)


def lost_frame(session: Session, seq: int) -> Frame:
    """A frame of ``session`` of which nothing arrived (known only from the sequence gap; a pixel frame of unknown
    length counts as one packet)."""
    return Frame(session.header(session.frame_id(seq), packet_count=1 if session.domain == "pixels" else None), ())


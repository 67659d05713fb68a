"""Carry frames through a channel in one process, as the services do across three: datagrams in, datagrams out.

Used by ``semlink eval``, the trainer's evaluation, ``semlink codecs`` and the
benches, so that every in-process figure counts the same bytes and loses the
same packets as the live link: a frame becomes its datagrams, the channel drops
and corrupts them (headers and checks too), and what survives is parsed back
with the session, exactly as the receiver parses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from semlink.channel import Channel, ChannelReport
from semlink.packets import Frame, Session, split_frame_id
from semlink.packets.packing import pack_group, unpack_group
from semlink.wire.convert import frame_datagrams, lost_frame, parse_packets, wire_bytes


@dataclass(frozen=True)
class Carried:
    """A frame as received, the wire bytes and datagrams it was sent as (its share of them when packed with
    others), and what the channel did (to its whole group when packed)."""

    received: Frame
    wire_bytes: float
    report: ChannelReport
    datagrams: float


def _transmit(datagrams: list[bytes], channel: Channel | None) -> tuple[list[bytes], ChannelReport]:
    if channel is None:
        return datagrams, ChannelReport(packets_in=len(datagrams))
    return channel.transmit_datagrams(datagrams)


def carry(frame: Frame, session: Session, channel: Channel | None) -> Carried:
    """Send ``frame`` of ``session`` through ``channel`` (None = a perfect link) and parse what arrives."""
    datagrams = frame_datagrams(frame, session)
    sent = wire_bytes(datagrams)
    arrived, report = _transmit(datagrams, channel)
    _, seq = split_frame_id(frame.header.frame_id)
    parsed = parse_packets(arrived, session, seq)
    mine = [f for f in parsed.frames if f.header.frame_id == frame.header.frame_id]
    if mine:
        received = mine[0]
    else:  # nothing of it arrived intact; a corrupted datagram is still a damaged packet of it
        received = lost_frame(session, seq)
        if arrived:
            received = Frame(received.header, (), damaged=len(arrived))
    return Carried(received, sent, report, len(datagrams))


def carry_group(frames: Sequence[Frame], session: Session, channel: Channel | None) -> list[Carried]:
    """Send consecutive ``frames`` of ``session`` packed as one group (:mod:`semlink.packets.packing`): each frame's
    share of the group's bytes and datagrams, and what of it arrived."""
    _, first = split_frame_id(frames[0].header.frame_id)
    ordered = [sorted(f.packets, key=lambda p: p.index) for f in frames]
    datagrams = pack_group([[p.payload for p in packets] for packets in ordered], first, session.check)
    arrived, report = _transmit(datagrams, channel)
    got = unpack_group(arrived, first, [f.total_packets for f in frames], session.check)
    share, k = wire_bytes(datagrams) / len(frames), len(frames)
    return [Carried(Frame(f.header, tuple(replace(p, payload=pieces[p.index]) for p in packets if p.index in pieces)),
                    share, report, len(datagrams) / k)
            for f, packets, pieces in zip(frames, ordered, got)]


def carry_frames(frames: Sequence[Frame], session: Session, channel: Channel | None, pack: int = 1) -> list[Carried]:
    """Consecutive ``frames`` of ``session``, each alone (``pack=1``) or packed ``pack`` at a time."""
    if pack == 1:
        return [carry(f, session, channel) for f in frames]
    return [c for i in range(0, len(frames), pack) for c in carry_group(frames[i:i + pack], session, channel)]

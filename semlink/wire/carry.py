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
from semlink.packets.packing import unpack_group
from semlink.wire.convert import frame_datagrams, group_datagrams, lost_frame, parse_packets, wire_bytes
from semlink.wire.spread import transmit_spread


@dataclass(frozen=True)
class Carried:
    """A frame as received, the wire bytes and datagrams it was sent as (its share of them when packed with
    others), and what the channel did (to its whole group when packed)."""

    received: Frame
    wire_bytes: float
    report: ChannelReport
    datagrams: float


def _frame_received(frame: Frame, session: Session, arrived: list[bytes]) -> Frame:
    """What the receiver makes of ``arrived``, the datagrams that came of ``frame``."""
    _, seq = split_frame_id(frame.header.frame_id)
    mine = [f for f in parse_packets(arrived, session, seq).frames if f.header.frame_id == frame.header.frame_id]
    if mine:
        return mine[0]
    received = lost_frame(session, seq)  # nothing of it arrived intact; a corrupted datagram is still damage to it
    return Frame(received.header, (), damaged=len(arrived)) if arrived else received


def carry(frame: Frame, session: Session, channel: Channel | None) -> Carried:
    """Send ``frame`` of ``session`` through ``channel`` (None = a perfect link) and parse what arrives."""
    return carry_frames([frame], session, channel)[0]


def _group_received(frames: Sequence[Frame], session: Session, datagrams: list[bytes], arrived: list[bytes],
                    report: ChannelReport) -> list[Carried]:
    """Each frame of a packed group as received from ``arrived``, with its share of the group's bytes and
    datagrams."""
    _, first = split_frame_id(frames[0].header.frame_id)
    ordered = [sorted(f.packets, key=lambda p: p.index) for f in frames]
    got = unpack_group(arrived, first, [f.total_packets for f in frames], session.check)
    share, k = wire_bytes(datagrams) / len(frames), len(frames)
    return [Carried(Frame(f.header, tuple(replace(p, payload=pieces[p.index]) for p in packets if p.index in pieces)),
                    share, report, len(datagrams) / k)
            for f, packets, pieces in zip(frames, ordered, got)]


def carry_group(frames: Sequence[Frame], session: Session, channel: Channel | None) -> list[Carried]:
    """Send consecutive ``frames`` of ``session`` packed as one group (:mod:`semlink.packets.packing`): each frame's
    share of the group's bytes and datagrams, and what of it arrived."""
    return carry_frames(frames, session, channel, pack=len(frames))


def carry_frames(frames: Sequence[Frame], session: Session, channel: Channel | None, pack: int = 1,
                 spread: int = 0) -> list[Carried]:
    """Consecutive ``frames`` of ``session``, each alone (``pack=1``) or packed ``pack`` at a time, their
    datagrams spread ``spread`` slots apart (:mod:`semlink.wire.spread`; 0: each frame or group back to back)."""
    if pack == 1:
        units = [frame_datagrams(f, session) for f in frames]
        sent = transmit_spread(units, channel, spread)
        return [Carried(_frame_received(f, session, arrived), wire_bytes(datagrams), report, len(datagrams))
                for f, datagrams, (arrived, report) in zip(frames, units, sent)]
    groups = [frames[i:i + pack] for i in range(0, len(frames), pack)]
    units = [group_datagrams(g, session) for g in groups]
    sent = transmit_spread(units, channel, spread)
    return [c for g, datagrams, (arrived, report) in zip(groups, units, sent)
            for c in _group_received(g, session, datagrams, arrived, report)]

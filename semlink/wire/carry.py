"""Carry frames through a channel in one process, as the services do across three: datagrams in, datagrams out.

Used by ``semlink eval``, the trainer's evaluation, ``semlink codecs`` and the
benches, so that every in-process figure counts the same bytes and loses the
same packets as the live link: a frame becomes its datagrams, the channel drops
and corrupts them (headers and checks too), and what survives is parsed back
with the session, exactly as the receiver parses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from semlink.channel import Channel, ChannelReport
from semlink.packets import Frame, Session, split_frame_id
from semlink.wire.convert import frame_datagrams, lost_frame, parse_packets, wire_bytes


@dataclass(frozen=True)
class Carried:
    """A frame as received, the wire bytes it was sent as, and what the channel did."""

    received: Frame
    wire_bytes: int
    report: ChannelReport


def carry(frame: Frame, session: Session, channel: Channel | None) -> Carried:
    """Send ``frame`` of ``session`` through ``channel`` (None = a perfect link) and parse what arrives."""
    datagrams = frame_datagrams(frame, session)
    sent = wire_bytes(datagrams)
    arrived, report = channel.transmit_datagrams(datagrams) if channel is not None else (datagrams, ChannelReport(
        packets_in=len(datagrams)))
    _, seq = split_frame_id(frame.header.frame_id)
    parsed = parse_packets(arrived, session, seq)
    mine = [f for f in parsed.frames if f.header.frame_id == frame.header.frame_id]
    if mine:
        received = mine[0]
    else:  # nothing of it arrived intact; a corrupted datagram is still a damaged packet of it
        received = lost_frame(session, seq)
        if arrived:
            received = Frame(received.header, (), damaged=len(arrived))
    return Carried(received, sent, report)

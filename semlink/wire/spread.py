"""Spreading a stream's datagrams over time, so that one burst of losses does not take a whole frame.

A frame (or a packed group, :mod:`semlink.packets.packing`) is ``n`` datagrams,
which a sender sends back to back. A burst on the link (Gilbert–Elliott, mean
length 4) then often takes all of them: at 20% loss in bursts of mean 4 about 8%
of four-datagram frames lose every datagram, against 0.2% at 20% random loss,
and a frame with nothing left cannot be answered. With spread ``S`` datagram
``j`` of unit ``u`` goes out in slot ``u + S·j`` instead (a slot is one frame
period, or one group's), after the datagrams of units sent before it, so a
frame's datagrams sit about ``S·n`` datagrams apart and the bursts that hit one
of them rarely reach the next. Nothing is added to the wire: every datagram
still names its frame and index, and the receiver reassembles as before. What
it costs is latency: a frame is whole ``S·(n − 1)`` periods after its first
datagram left.
"""

from __future__ import annotations

from collections.abc import Sequence

from semlink.channel import Channel, ChannelReport

MAX_SPREAD = 16  # slots between a unit's consecutive datagrams
DEFAULT_SLOT_MS = 50.0  # live (semlink.link.spreader): a slot ends after this long when no next frame ends it


def spread_order(counts: Sequence[int], spread: int) -> list[tuple[int, int]]:
    """``(unit, datagram)`` pairs in send order when datagram ``j`` of unit ``u`` (which has ``counts[u]``)
    goes out in slot ``u + spread * j``; within a slot the earlier units' datagrams go first."""
    if not 0 <= spread <= MAX_SPREAD:
        raise ValueError(f"spread must be 0 to {MAX_SPREAD} slots, got {spread}")
    pairs = [(u, j) for u, n in enumerate(counts) for j in range(n)]
    return sorted(pairs, key=lambda p: (p[0] + spread * p[1], p[1]))


def transmit_spread(units: Sequence[Sequence[bytes]], channel: Channel | None,
                    spread: int = 0) -> list[tuple[list[bytes], ChannelReport]]:
    """Send each unit's datagrams through ``channel`` (None: a perfect link) in :func:`spread_order`: what
    arrived of each unit, in its own order, and what the channel did to it.

    ``spread=0`` sends each unit whole, one call of the channel a unit.
    """
    if channel is None:
        return [(list(unit), ChannelReport(packets_in=len(unit))) for unit in units]
    if spread == 0:
        return [channel.transmit_datagrams(list(unit)) for unit in units]
    arrived: list[list[tuple[int, bytes]]] = [[] for _ in units]
    reports = [ChannelReport() for _ in units]
    for u, j in spread_order([len(unit) for unit in units], spread):
        got, report = channel.transmit_datagrams([units[u][j]])
        arrived[u] += [(j, data) for data in got]
        reports[u] = reports[u] + report
    return [([data for _, data in sorted(got, key=lambda x: x[0])], report) for got, report in zip(arrived, reports)]

"""Per-frame reassembly: merge one frame's packets from one or more messages until complete or its deadline.

A frame becomes pending with its first intact packet, or, when none of its
packets arrived, with the gap its sequence number leaves (``expect``). Later
messages for the same frame id (duplicates, a frame split in parts) add the
packet indices still missing. A frame is finished as soon as every packet index
has arrived, or when its deadline (measured from when it became pending, on
this receiver's clock) passes; whatever is still missing then is lost.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from semlink.packets import Frame, FrameHeader, MalformedFrame, Packet


@dataclass
class _Pending:
    header: FrameHeader
    deadline: float
    packets: dict[int, Packet] = field(default_factory=dict)
    messages: int = 0
    damaged: int = 0
    wire_bytes: float = 0
    datagrams: float = 0
    datagram_overhead: int = 0

    def merge(self, frame: Frame, wire_bytes: float = 0, datagrams: float = 0, datagram_overhead: int = 0) -> None:
        for p in frame.packets:
            self.packets.setdefault(p.index, p)
        self.damaged += frame.damaged
        self.wire_bytes += wire_bytes
        self.datagrams += datagrams
        self.datagram_overhead = datagram_overhead
        self.messages += 1

    def finished(self, timed_out: bool) -> Reassembled:
        return Reassembled(self.frame(), self.messages, timed_out, self.wire_bytes, self.datagrams,
                           self.datagram_overhead)

    @property
    def complete(self) -> bool:
        return len(self.packets) == self.header.packet_count + int(self.header.side_info)

    def frame(self) -> Frame:
        missing = self.header.packet_count + int(self.header.side_info) - len(self.packets)
        return Frame(self.header, tuple(self.packets[i] for i in sorted(self.packets)), min(self.damaged, missing))


@dataclass(frozen=True)
class Reassembled:
    """A finished frame, how many messages made it, and whether its deadline cut it short."""

    frame: Frame
    messages: int
    timed_out: bool
    wire_bytes: float = 0  # bytes of the datagrams that arrived for it, each with its transport overhead (packed: its share)
    datagrams: float = 0  # datagrams that arrived for it (packed: its share of its group's)
    datagram_overhead: int = 0  # transport bytes counted per datagram (what the link stamped)


class Reassembler:
    """Pending frames by id, each finished when complete or ``deadline_s`` after its first message.

    Not thread-safe: one event loop (or one thread) owns it. ``clock`` returns
    seconds (``time.monotonic`` by default) and is injectable for tests.
    At most ``max_pending`` frames wait at once; a new frame beyond that
    finishes the oldest pending one early.
    """

    def __init__(self, deadline_s: float, max_pending: int = 1024, clock: Callable[[], float] = time.monotonic):
        if deadline_s < 0:
            raise ValueError(f"deadline_s must be >= 0, got {deadline_s}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        self.deadline_s = deadline_s
        self.max_pending = max_pending
        self.clock = clock
        self._pending: OrderedDict[int, _Pending] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, frame_id: int) -> bool:
        return frame_id in self._pending

    def offer(self, frame: Frame, wire_bytes: float = 0, datagrams: float = 0,
              datagram_overhead: int = 0) -> list[Reassembled]:
        """Merge ``frame``'s packets; return the frames this finishes (it, if now complete; an evicted one).

        Raises ``MalformedFrame`` when ``frame``'s header disagrees with the first
        message seen for the same frame id.
        """
        fid = frame.header.frame_id
        finished: list[Reassembled] = []
        pending = self._pending.get(fid)
        if pending is None:
            if len(self._pending) >= self.max_pending:
                _, oldest = self._pending.popitem(last=False)
                finished.append(oldest.finished(True))
            pending = self._pending[fid] = _Pending(frame.header, self.clock() + self.deadline_s)
        elif pending.header != frame.header and not pending.packets:
            pending.header = frame.header  # expected from a gap: the first packets tell its image size
        elif pending.header != frame.header:
            raise MalformedFrame(
                f"frame {fid}: this message's header differs from the first message's for the same frame id; "
                "a sender must not reuse frame ids"
            )
        pending.merge(frame, wire_bytes, datagrams, datagram_overhead)
        if pending.complete:
            del self._pending[fid]
            finished.append(pending.finished(False))
        return finished

    def expect(self, header: FrameHeader) -> list[Reassembled]:
        """Make a frame pending that nothing has arrived of yet (a gap in the sequence numbers).

        Returns the frame it evicts, if the pending set was full. No-op if pending already.
        """
        finished: list[Reassembled] = []
        if header.frame_id in self._pending:
            return finished
        if len(self._pending) >= self.max_pending:
            _, oldest = self._pending.popitem(last=False)
            finished.append(oldest.finished(True))
        self._pending[header.frame_id] = _Pending(header, self.clock() + self.deadline_s)
        return finished

    def expire(self, now: float | None = None) -> list[Reassembled]:
        """Finish and return every pending frame whose deadline is at or before ``now``."""
        now = self.clock() if now is None else now
        due = [fid for fid, p in self._pending.items() if p.deadline <= now]
        return [self._finish(fid) for fid in due]

    def flush(self) -> list[Reassembled]:
        """Finish every pending frame now (at shutdown)."""
        return [self._finish(fid) for fid in list(self._pending)]

    def next_deadline(self) -> float | None:
        return min((p.deadline for p in self._pending.values()), default=None)

    def _finish(self, fid: int) -> Reassembled:
        return self._pending.pop(fid).finished(True)

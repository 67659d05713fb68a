"""Spreading a live stream's datagrams over time (:mod:`semlink.wire.spread` says why, and measures it offline).

A :class:`SpreadSender` stands in front of a :class:`~semlink.link.sender.FrameSender`:
each frame's datagram 0 goes at once, datagram ``j`` ``S·j`` slots later, each datagram
its own message, between the datagrams of the frames sent meanwhile. The receiver
reassembles a frame from several messages already (:mod:`semlink.receiver.reassembly`),
and one ack answers every message of a frame (the sender matches acks by frame id).

A slot ends when the next frame comes, or ``slot_s`` after the last one began when none
comes (a slow or paused source must not hold a frame's last datagrams back). So a frame
is whole at most ``S·(n − 1)·slot_s`` after its first datagram left, and the receiver's
frame deadline (``frame_deadline_ms``) must cover that, or its last datagrams come late.
Once a frame's outcome is known, its datagrams not yet sent are dropped.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import dataclass

from semlink.link.sender import Delivery, FrameSender, SenderClosed
from semlink.packets import Frame
from semlink.packets.transport import with_overhead
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import frame_datagrams, frame_message
from semlink.wire.spread import DEFAULT_SLOT_MS, MAX_SPREAD


@dataclass
class SpreadFrame:
    """A frame handed to a :class:`SpreadSender`: its whole bytes and datagrams, ``sent`` (its first datagram's
    :attr:`Delivery.sent`) and ``outcome`` (the first :class:`Outcome` any of its messages gets: the receiver's
    one ack for the frame)."""

    frame_id: int
    nbytes: int
    datagrams: int
    datagram_overhead: int
    sent: asyncio.Future
    outcome: asyncio.Future


class SpreadSender:
    """Send frames through ``sender`` with datagram ``j`` of each ``spread * j`` slots after its first."""

    def __init__(self, sender: FrameSender, spread: int, slot_s: float = DEFAULT_SLOT_MS / 1000):
        if not 1 <= spread <= MAX_SPREAD:
            raise ValueError(f"spread must be 1 to {MAX_SPREAD} slots (0: send frames whole, without a spreader)")
        if not 0 < slot_s <= 10:
            raise ValueError(f"slot_s must be in (0, 10] seconds, got {slot_s}")
        self.sender = sender
        self.spread = spread
        self.slot_s = slot_s
        self._slot = 0
        # (slot, datagram index, order, frame id, (message, wire bytes)): the datagrams waiting for their slot
        self._due: list[tuple[int, int, int, int, tuple[pb.Uplink, int]]] = []
        self._order = itertools.count()
        self._frames: dict[int, SpreadFrame] = {}
        self._ticker: asyncio.Task | None = None
        self.counts = {"frames": 0, "parts_sent": 0, "parts_dropped": 0}

    @property
    def waiting(self) -> int:
        """Datagrams waiting for their slot."""
        return len(self._due)

    async def submit(self, frame: Frame) -> SpreadFrame:
        """Start ``frame`` in a new slot: its first datagram now (raising as :meth:`FrameSender.submit` does),
        then the earlier frames' datagrams due in this slot."""
        session = self.sender.session
        if session is None:
            raise SenderClosed(f"{self.sender.name}: no session yet; call set_session() before submitting frames")
        # each datagram coded once, in index order, and sent later as its own message as it is
        frame_id = frame.header.frame_id
        datagrams = frame_datagrams(frame.with_packets(sorted(frame.packets, key=lambda p: p.index)), session)
        overhead = self.sender.datagram_overhead
        parts = [self._part(datagram, overhead) for datagram in datagrams]
        self._slot += 1
        first = await self.sender.forward(frame_id, *parts[0])
        handle = SpreadFrame(frame_id, sum(nbytes for _, nbytes in parts), len(datagrams), overhead, first.sent,
                             asyncio.get_running_loop().create_future())
        self._frames[frame_id] = handle
        self._watch(handle, first)
        self.counts["frames"] += 1
        self.counts["parts_sent"] += 1
        for j, part in enumerate(parts[1:], start=1):
            heapq.heappush(self._due, (self._slot + self.spread * j, j, next(self._order), frame_id, part))
        await self._send_due()
        if self._due and (self._ticker is None or self._ticker.done()):
            self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())
        return handle

    @staticmethod
    def _part(datagram: bytes, overhead: int) -> tuple[pb.Uplink, int]:
        """One datagram's message, stamped with the frame's transport overhead, and its wire bytes."""
        message = frame_message([datagram])
        message.frame.datagram_overhead = overhead
        return message, with_overhead(len(datagram), 1, overhead)

    def _watch(self, handle: SpreadFrame, delivery: Delivery) -> None:
        def finished(fut: asyncio.Future) -> None:
            if not handle.outcome.done():
                handle.outcome.set_result(fut.result())
                self._frames.pop(handle.frame_id, None)
        delivery.outcome.add_done_callback(finished)

    async def _send_due(self) -> None:
        while self._due and self._due[0][0] <= self._slot:
            *_, frame_id, part = heapq.heappop(self._due)
            handle = self._frames.get(frame_id)
            if handle is None:  # its frame is answered already: the receiver has no use for the rest
                self.counts["parts_dropped"] += 1
                continue
            try:
                delivery = await self.sender.forward(frame_id, *part)
            except SenderClosed:  # the sender is stopping: the frame ends with what its first datagram gets
                self.counts["parts_dropped"] += 1
                continue
            self._watch(handle, delivery)
            self.counts["parts_sent"] += 1

    async def _tick_loop(self) -> None:
        """End slots on the clock while datagrams wait and no frame comes."""
        slot = self._slot
        while self._due:
            await asyncio.sleep(self.slot_s)
            if self._slot == slot:  # no frame began this slot: end it
                self._slot += 1
                await self._send_due()
            slot = self._slot

    async def close(self) -> None:
        """Send what waits now, whatever its slot (the stream is ending)."""
        if self._ticker is not None:
            self._ticker.cancel()
        self._slot = max([self._slot, *(d[0] for d in self._due)])
        await self._send_due()

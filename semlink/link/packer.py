"""Packing a live stream's frames in groups (:mod:`semlink.packets.packing` says how; ``semlink eval --pack``
measures what it buys).

A :class:`PackSender` stands in front of a :class:`~semlink.link.sender.FrameSender`
whose session packs (``Session.pack`` = K): frames wait in the open group until it
holds K, or its first frame has waited ``wait_s`` (a slow or paused source must not
hold a frame back), or a frame of another image size comes (a group's datagrams name
one size). Then the group goes as one message, datagram ``j`` carrying slice ``j``
of each of its frames, and each frame is answered by its own ack
(:meth:`FrameSender.forward_group`). A frame waits for its group up to ``K - 1``
frame periods (at most ``wait_s``); the receiver needs no longer deadline, since a
group's datagrams travel together.
"""

from __future__ import annotations

import asyncio

from semlink.link.sender import Delivery, FrameSender, SenderClosed
from semlink.packets import Frame, split_frame_id
from semlink.packets.packing import MAX_PACK, MAX_SLICES
from semlink.packets.transport import with_overhead
from semlink.wire import frame_message, group_datagrams, wire_bytes

DEFAULT_WAIT_MS = 500.0  # the longest a frame waits for its group: 4 frames at 10 fps take 300 ms


class PackSender:
    """Send frames through ``sender`` (whose session packs) in groups of up to its session's ``pack``."""

    def __init__(self, sender: FrameSender, wait_s: float = DEFAULT_WAIT_MS / 1000):
        if not 0 < wait_s <= 10:
            raise ValueError(f"wait_s must be in (0, 10] seconds, got {wait_s}")
        self.sender = sender
        self.wait_s = wait_s
        self._group: list[tuple[Frame, asyncio.Future[Delivery]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task] = set()
        self.counts = {"frames": 0, "groups": 0, "full": 0, "waited": 0}

    @property
    def waiting(self) -> int:
        """Frames in the open group."""
        return len(self._group)

    async def submit(self, frame: Frame) -> asyncio.Future[Delivery]:
        """Put ``frame`` in the open group; the future resolves to its :class:`Delivery` once its group is queued
        (raising :class:`SenderClosed` as :meth:`FrameSender.submit` would, or ``ValueError`` for a frame that
        cannot be packed). Raises :class:`SenderClosed` at once when the sender has no session yet."""
        session = self.sender.session
        if session is None:
            raise SenderClosed(f"{self.sender.name}: no session yet; call set_session() before submitting frames")
        if not 1 <= session.pack <= MAX_PACK:
            raise ValueError(f"session pack {session.pack} is not 1 to {MAX_PACK}")
        if len(frame.packets) > MAX_SLICES:
            raise ValueError(f"a frame of {len(frame.packets)} datagrams cannot be packed (at most {MAX_SLICES}); "
                             "code it smaller, or send frames alone (pack 1)")
        if self._group and not self._joins(frame):
            await self._flush("waited")
        delivery: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        self._group.append((frame, delivery))
        self.counts["frames"] += 1
        if len(self._group) >= session.pack:
            await self._flush("full")
        elif len(self._group) == 1:
            self._timer = asyncio.get_running_loop().call_later(self.wait_s, self._on_timer)
        return delivery

    def _joins(self, frame: Frame) -> bool:
        """Whether ``frame`` can join the open group: the next sequence number, the same image size."""
        last = self._group[-1][0]
        return (split_frame_id(frame.header.frame_id)[1] == split_frame_id(last.header.frame_id)[1] + 1
                and frame.header.image_size == last.header.image_size)

    def _on_timer(self) -> None:
        self._timer = None
        if self._group:
            task = asyncio.get_running_loop().create_task(self._flush("waited"))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _flush(self, why: str) -> None:
        """The open group onto the stream as one message."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        group, self._group = self._group, []
        if not group:
            return
        frames = [frame for frame, _ in group]
        try:
            datagrams = group_datagrams(frames, self.sender.session)
            overhead = self.sender.datagram_overhead
            message = frame_message(datagrams)
            message.frame.datagram_overhead = overhead
            deliveries = await self.sender.forward_group(
                [f.header.frame_id for f in frames], message,
                with_overhead(wire_bytes(datagrams), len(datagrams), overhead), len(datagrams), overhead)
        except (SenderClosed, ValueError) as err:
            for _, future in group:
                if not future.done():
                    future.set_exception(err)
            return
        self.counts["groups"] += 1
        self.counts[why] += 1
        for (_, future), delivery in zip(group, deliveries):
            if not future.done():
                future.set_result(delivery)

    async def close(self) -> None:
        """Send the open group now (the stream is ending)."""
        await self._flush("waited")
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)

"""An in-process event bus: publishers never block; each subscriber has a bounded queue and drops its oldest.

Used for the receiver's live feed (``frame_received``, ``task_done``). Owned by
one asyncio event loop. An event is serialised once, as a server-sent event
(:attr:`Event.sse`), whatever the number of subscribers; a subscriber that reads
slowly or not at all loses its oldest events (counted: ``dropped``) and costs the
publisher one append per event, never a wait. At most ``max_subscribers`` at
once (:class:`TooManySubscribers` past it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

PING = b": ping\n\n"


class TooManySubscribers(RuntimeError):
    """The bus has ``max_subscribers`` already; retry later (or raise the cap)."""


@dataclass(frozen=True)
class Event:
    """One event: a sequence number, a type name and a JSON-ready payload."""

    seq: int
    type: str
    data: dict[str, Any]

    @cached_property
    def sse(self) -> bytes:
        """The event as ``text/event-stream`` bytes (``event:``, ``data:`` (JSON), ``id:``), made once."""
        data = json.dumps(self.data, separators=(",", ":"), default=str)
        return f"event: {self.type}\ndata: {data}\nid: {self.seq}\n\n".encode()


@dataclass(eq=False)
class Subscription:
    """One subscriber's bounded queue of events (``None`` ends it) and how many it lost."""

    size: int
    queue: deque = field(default_factory=deque)
    dropped: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def put(self, event: Event | None) -> bool:
        """Queue ``event``; returns whether an older one had to go."""
        lost = len(self.queue) >= self.size
        if lost:
            self.queue.popleft()
            self.dropped += 1
        self.queue.append(event)
        self.ready.set()
        return lost

    async def next_batch(self, timeout_s: float | None = None) -> list[Event | None]:
        """Every event queued (waiting up to ``timeout_s`` for one; ``[]`` if none came)."""
        if not self.queue:
            self.ready.clear()
            try:
                await asyncio.wait_for(self.ready.wait(), timeout_s)
            except TimeoutError:
                return []
        batch = list(self.queue)
        self.queue.clear()
        return batch

    async def sse_chunks(self, ping_s: float = 15.0, coalesce_s: float = 0.05) -> AsyncIterator[bytes]:
        """The events as ``text/event-stream`` chunks: all those queued at once in one chunk (waiting
        ``coalesce_s`` for more after the first, so a busy feed costs a write per subscriber every
        ``coalesce_s``, not one per event), a ping comment after ``ping_s`` of silence."""
        yield b": subscribed\n\n"
        while True:
            batch = await self.next_batch(ping_s)
            if not batch:
                yield PING
                continue
            if coalesce_s and None not in batch:
                await asyncio.sleep(coalesce_s)
                batch += await self.next_batch(0)
            events = list(itertools.takewhile(lambda e: e is not None, batch))
            if events:
                yield b"".join(event.sse for event in events)
            if len(events) < len(batch):
                return


class EventBus:
    """Fan events out to subscribers; a slow subscriber loses its oldest events, never slows the publisher."""

    def __init__(self, subscriber_queue: int = 256, max_subscribers: int = 100):
        self.subscriber_queue = subscriber_queue
        self.max_subscribers = max_subscribers
        self.dropped = 0
        self.refused = 0
        self._seq = itertools.count(1)
        self._subscribers: set[Subscription] = set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, type_: str, data: dict[str, Any]) -> Event:
        event = Event(next(self._seq), type_, data)
        for subscription in self._subscribers:
            self.dropped += subscription.put(event)
        return event

    def close(self) -> None:
        """End every subscription (at shutdown)."""
        for subscription in self._subscribers:
            self.dropped += subscription.put(None)

    def open(self) -> Subscription:
        """A new subscription (close it with :meth:`leave`); raises :class:`TooManySubscribers` at the cap."""
        if len(self._subscribers) >= self.max_subscribers:
            self.refused += 1
            raise TooManySubscribers(f"{len(self._subscribers)} event subscribers already, the most this receiver "
                                     "serves (MAX_EVENT_SUBSCRIBERS); retry later")
        subscription = Subscription(self.subscriber_queue)
        self._subscribers.add(subscription)
        return subscription

    def leave(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[Event]]:
        """``async with bus.subscribe() as events: async for event in events: ...``"""
        subscription = self.open()

        async def events() -> AsyncIterator[Event]:
            while True:
                for event in await subscription.next_batch():
                    if event is None:
                        return
                    yield event

        try:
            yield events()
        finally:
            self.leave(subscription)

"""An in-process event bus: publishers never block; each subscriber has a bounded queue and drops its oldest.

Used for the receiver's live feed (``frame_received``, ``task_done``). Owned by
one asyncio event loop.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """One event: a sequence number, a type name and a JSON-ready payload."""

    seq: int
    type: str
    data: dict[str, Any]


class EventBus:
    """Fan events out to subscribers; a slow subscriber loses its oldest events, never slows the publisher."""

    def __init__(self, subscriber_queue: int = 256):
        self.subscriber_queue = subscriber_queue
        self.dropped = 0
        self._seq = itertools.count(1)
        self._subscribers: set[asyncio.Queue[Event | None]] = set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, type_: str, data: dict[str, Any]) -> Event:
        event = Event(next(self._seq), type_, data)
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(event)
        return event

    def close(self) -> None:
        """End every subscription (at shutdown)."""
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(None)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[Event]]:
        """``async with bus.subscribe() as events: async for event in events: ...``"""
        queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=self.subscriber_queue)
        self._subscribers.add(queue)

        async def events() -> AsyncIterator[Event]:
            while (event := await queue.get()) is not None:
                yield event

        try:
            yield events()
        finally:
            self._subscribers.discard(queue)

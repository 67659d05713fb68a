"""``GET /v1/events``: a server-sent event feed of ``frame_received``, ``frame_rejected`` and ``task_done``."""

from __future__ import annotations

from collections.abc import AsyncIterable

from fastapi import APIRouter
from fastapi.sse import EventSourceResponse, ServerSentEvent

from receiver_service.deps import ReceiverDep

router = APIRouter(tags=["events"])


@router.get("/v1/events", response_class=EventSourceResponse)
async def events(receiver: ReceiverDep) -> AsyncIterable[ServerSentEvent]:
    """Live events from now on (no replay); a slow reader loses its oldest events."""
    async with receiver.events.subscribe() as feed:
        yield ServerSentEvent(comment="subscribed")
        async for event in feed:
            yield ServerSentEvent(event=event.type, data=event.data, id=str(event.seq))

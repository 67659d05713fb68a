"""``GET /v1/events``: a server-sent event feed of ``frame_received``, ``frame_rejected`` and ``task_done``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from receiver_service.deps import ReceiverDep
from semlink.http.errors import error_responses
from semlink.receiver.events import EventBus, Subscription, TooManySubscribers

router = APIRouter(tags=["events"])


@router.get("/v1/events", response_class=StreamingResponse, responses={
    200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": "server-sent events"},
    **error_responses(503, e503="MAX_EVENT_SUBSCRIBERS subscribers already; retry after Retry-After seconds")})
async def events(receiver: ReceiverDep) -> StreamingResponse:
    """Live events from now on (no replay); a slow reader loses its oldest events (counted in
    ``semlink_rx_events_dropped``), and never slows the link. At most MAX_EVENT_SUBSCRIBERS at once."""
    try:
        subscription = receiver.events.open()
    except TooManySubscribers as err:
        raise HTTPException(503, str(err), headers={"Retry-After": "5"}) from None
    return StreamingResponse(_stream(receiver.events, subscription), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _stream(bus: EventBus, subscription: Subscription) -> AsyncIterator[bytes]:
    try:
        async for chunk in subscription.sse_chunks():
            yield chunk
    finally:
        bus.leave(subscription)

"""``POST /v1/frames/{frame_id}/tasks``: any Florence-2 task on a received frame's cached features."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from receiver_service.deps import ReceiverDep
from receiver_service.schemas import TaskBody, TaskResult
from semlink.http.errors import error_responses

router = APIRouter(prefix="/v1/frames", tags=["tasks"])

FrameId = Annotated[int, Path(ge=0, lt=2**64, description="the transmitter's uint64 frame id")]

ERRORS = error_responses(
    400, 404, 413, 422, 500, 503,
    e404="the frame has not arrived (within wait_ms), was rejected, or was evicted",
    e413="request body over SEMLINK_RX_MAX_REQUEST_BYTES",
    e422="a bad body (an unknown task: the detail names the known ones; a text given to a task that takes none, "
         "or none to one that needs it) or frame id, or a text whose tokens are over the model's limit",
    e500="the model failed on this request (others in its batch are answered)",
    e503="overloaded (queue full) or still loading; retry after Retry-After seconds",
)


@router.post("/{frame_id}/tasks", response_model=TaskResult, responses=ERRORS)
async def run_task(frame_id: FrameId, body: TaskBody, receiver: ReceiverDep) -> TaskResult:
    """Run ``task`` on the frame's cached features: one transmission, as many questions as wanted."""
    request = body.root
    answer = await receiver.ask(frame_id, request.task, request.text, request.wait_ms)
    frame = answer.frame
    return TaskResult(
        frame_id=frame.frame_id, task=answer.task, result=answer.result, model=receiver.bundle.name,
        codec=frame.codec, wire_bytes=frame.wire_bytes, datagrams=frame.datagrams,
        datagram_overhead=frame.datagram_overhead, payload_bytes=frame.payload_bytes, packets=frame.packets,
        packets_lost=frame.packets_lost, latency_ms=round(answer.latency_ms, 3), queue_ms=round(answer.queue_ms, 3),
        batch_size=answer.batch_size,
    )

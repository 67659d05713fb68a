"""``GET /v1/frames`` and ``GET /v1/frames/{frame_id}``: what has been received."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from receiver_service.deps import ReceiverDep
from receiver_service.receiver import FrameNotFound
from receiver_service.routers.tasks import FrameId
from receiver_service.schemas import FrameDetail, FrameSummary
from semlink.http.errors import error_responses

router = APIRouter(prefix="/v1/frames", tags=["frames"])


@router.get("", response_model=list[FrameSummary], responses=error_responses(422))
async def list_frames(receiver: ReceiverDep,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[FrameSummary]:
    """Frames in the store, most recently used first."""
    return [FrameSummary.of(f) for f in receiver.store.recent(limit)]


@router.get("/{frame_id}", response_model=FrameDetail,
            responses=error_responses(404, 422, e404="not in the store (never arrived, rejected or evicted)"))
async def get_frame(frame_id: FrameId, receiver: ReceiverDep) -> FrameDetail:
    """One frame: what the link did to it, and the auto task's answer if any."""
    frame = receiver.store.peek(frame_id)
    if frame is None:
        raise FrameNotFound(receiver.describe_missing(frame_id, 0))
    return FrameDetail.of(frame)

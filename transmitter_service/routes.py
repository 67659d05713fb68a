"""The transmitter's REST API: upload images, follow frames, read stats (``router``); health and metrics
(``health_router``), which stay open when an API token guards the rest."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from semlink.link.http_errors import error_responses
from semlink.link.serve import metrics_response
from transmitter_service.images import CorruptImage, ImageTooLarge, NotAnImage, decode_image
from transmitter_service.pipeline import Busy, NotReady, Transmitter

router = APIRouter()
health_router = APIRouter()


def get_transmitter(request: Request) -> Transmitter:
    return request.app.state.transmitter


TransmitterDep = Annotated[Transmitter, Depends(get_transmitter)]

UPLOAD_DOC = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
            "image/*": {"schema": {"type": "string", "format": "binary"}},
        }
    }
}


async def read_upload(request: Request, limit: int) -> bytes:
    """The image bytes of a multipart ``file`` field or of the raw body; 413 past ``limit`` bytes."""
    too_large = HTTPException(413, f"upload larger than {limit} bytes (MAX_UPLOAD_BYTES); send a smaller image")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:  # room for multipart framing
        raise too_large
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=8)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, "multipart upload has no file field 'file'; send -F file=@image.png")
        data = await upload.read(limit + 1)
    else:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        data = b"".join(chunks)
    if len(data) > limit:
        raise too_large
    return data


UPLOAD_ERRORS = error_responses(
    400, 413, 415, 422, 429, 503,
    e400="a multipart body that cannot be parsed",
    e413="upload over MAX_UPLOAD_BYTES, or an image over MAX_IMAGE_PIXELS",
    e415="not an image (PNG, JPEG, WebP, ...)",
    e422="a corrupt or truncated image, or a multipart body without a 'file' field",
    e429="image queue full; retry after Retry-After seconds",
    e503="the model is loading or failed to load; retry after Retry-After seconds",
)


class Uploaded(BaseModel):
    """An upload's frame once it is on the wire (or still ``queued`` after ``WIRE_TIMEOUT_S``)."""

    frame_id: int
    status: str = Field(description="queued, sent, acked, partial or lost")
    reason: str
    wire_bytes: int = Field(description="every byte of its datagrams, plus datagram_overhead for each")
    datagrams: int
    datagram_overhead: int = Field(description="transport bytes counted per datagram (0: the link as simulated; "
                                   "28 UDP/IPv4, 40 RTP/UDP/IPv4, 60 RTP/UDP/IPv6); the link's ack may correct it "
                                   "in GET /v1/frames/{id}")


@router.post("/v1/frames", status_code=202, openapi_extra=UPLOAD_DOC, responses=UPLOAD_ERRORS,
             response_model=Uploaded)
async def upload_frame(request: Request, tx: TransmitterDep,
                       source: Literal["upload", "camera"] = Query("upload", description="where the image comes from: "
                                                                   "a file, or the browser's camera")):
    """Encode one image and stream it; answers once its frame is on the wire (or WIRE_TIMEOUT_S passes)."""
    if not tx.ready:
        raise HTTPException(503, tx.not_ready_reason(), headers={"Retry-After": "5"})
    if not tx.has_room():
        tx.counts["queue_full"] += 1
        tx.metrics.uploads_refused.labels("queue_full").inc()
        raise HTTPException(429, "image queue full; retry shortly or send slower", headers={"Retry-After": "1"})
    try:
        data = await read_upload(request, tx.settings.max_upload_bytes)
        image = await asyncio.to_thread(decode_image, data, tx.settings.max_image_pixels)
    except HTTPException as err:
        if err.status_code == 413:
            tx.counts["too_large"] += 1
            tx.metrics.uploads_refused.labels("too_large").inc()
        raise
    except ImageTooLarge as err:
        tx.counts["too_large"] += 1
        tx.metrics.uploads_refused.labels("too_large").inc()
        raise HTTPException(413, str(err)) from None
    except NotAnImage as err:
        tx.counts["not_image"] += 1
        tx.metrics.uploads_refused.labels("not_image").inc()
        raise HTTPException(415, str(err)) from None
    except CorruptImage as err:
        tx.counts["corrupt_image"] += 1
        tx.metrics.uploads_refused.labels("corrupt_image").inc()
        raise HTTPException(422, str(err)) from None
    try:
        record = tx.accept(image, source)
    except Busy as err:
        tx.metrics.uploads_refused.labels("queue_full").inc()
        raise HTTPException(429, str(err), headers={"Retry-After": "1"}) from None
    except NotReady as err:
        raise HTTPException(503, str(err), headers={"Retry-After": "5"}) from None
    await tx.wait_on_wire(record, tx.settings.wire_timeout_s)
    return {"frame_id": record.frame_id, "status": record.status, "reason": record.reason,
            "wire_bytes": record.wire_bytes, "datagrams": record.datagrams,
            "datagram_overhead": record.datagram_overhead}


@router.get("/v1/frames/{frame_id}", responses=error_responses(404, 422, e404="not among the last FRAMES_KEPT"))
async def frame_status(frame_id: int, tx: TransmitterDep):
    record = tx.frame(frame_id)
    if record is None:
        raise HTTPException(404, f"frame {frame_id} unknown here (the last {tx.settings.frames_kept} frames are kept)")
    return record.to_dict()


@router.get("/v1/stats")
async def stats(tx: TransmitterDep):
    return tx.stats()


@health_router.get("/health/live")
async def live():
    return {"status": "live"}


@health_router.get("/health/ready")
async def ready(tx: TransmitterDep):
    body = {"ready": tx.ready, "connected": tx.sender.connected, "target": tx.settings.target,
            "session_open": tx.sender.session_open, "session_refused": tx.sender.refusal}
    if not tx.ready:
        return JSONResponse({**body, "detail": tx.not_ready_reason()}, status_code=503)
    return body


@health_router.get("/metrics", include_in_schema=False)
async def metrics(tx: TransmitterDep):
    return metrics_response(tx.metrics.registry)

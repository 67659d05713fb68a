"""The transmitter's REST API: upload images, follow frames, read stats (``router``); health and metrics
(``health_router``), which stay open when an API token guards the rest."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from semlink.http.errors import error_responses
from semlink.http.health import health_routes
from transmitter_service.images import (
    CorruptImage,
    ImageTooLarge,
    NotAnImage,
    decoding_bytes,
    load_rgb,
    open_image,
    rgb_bytes,
)
from transmitter_service.transmitter import Busy, NotReady, Transmitter

router = APIRouter()


def get_transmitter(request: Request) -> Transmitter:
    return request.app.state.transmitter


TransmitterDep = Annotated[Transmitter, Depends(get_transmitter)]

UPLOAD_DOC = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary",
                                                                     "description": "the image file"}},
                           "required": ["file"], "additionalProperties": False}
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
        if others := sorted(set(form.keys()) - {"file"}):
            raise HTTPException(422, f"multipart upload takes one part, the file 'file'; drop {', '.join(others)}")
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
    e415="not an image (PNG, JPEG, WebP, ...; no schema can say that bytes are an image)",
    e422="a corrupt or truncated image (no schema can say that bytes are an image), or a multipart body without "
         "a 'file' part or with other parts",
    e429="image queue full; retry after Retry-After seconds",
    e503="the model is loading or failed to load; retry after Retry-After seconds",
)


class Uploaded(BaseModel):
    """An upload's frame once it is on the wire (or still ``queued`` after ``WIRE_TIMEOUT_S``)."""

    frame_id: int
    status: str = Field(description="queued, sent, acked, partial or lost")
    reason: str
    wire_bytes: float = Field(description="every byte of its datagrams, plus datagram_overhead for each (a packed "
                              "frame: its share of its group's)")
    datagrams: float = Field(description="its datagrams (a packed frame: its share of its group's)")
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
    reserved = 0
    try:
        data = await read_upload(request, tx.settings.max_upload_bytes)
        opened = await asyncio.to_thread(open_image, data, tx.settings.max_image_pixels)  # the header only
        # the memory it will take, held against the byte bound BEFORE decoding: decoding, then the encoder's copy
        reserved = tx.reserve(decoding_bytes(opened) + rgb_bytes(*opened.size))
        image = await asyncio.to_thread(load_rgb, opened, tx.settings.max_image_pixels)
        record = tx.accept(image, source, reserved)
    except BaseException as err:
        tx.release(reserved)
        raise refusal(tx, err) from None
    await tx.wait_on_wire(record, tx.settings.wire_timeout_s)
    return {"frame_id": record.frame_id, "status": record.status, "reason": record.reason,
            "wire_bytes": record.wire_bytes, "datagrams": record.datagrams,
            "datagram_overhead": record.datagram_overhead}


def refusal(tx: Transmitter, err: BaseException) -> BaseException:
    """The HTTP answer to an upload that failed with ``err`` (counted by why); other errors as they are."""
    if isinstance(err, HTTPException):
        if err.status_code == 413:
            tx.counts["too_large"] += 1
            tx.metrics.uploads_refused.labels("too_large").inc()
        return err
    for kind, status, counted in ((ImageTooLarge, 413, "too_large"), (NotAnImage, 415, "not_image"),
                                  (CorruptImage, 422, "corrupt_image")):
        if isinstance(err, kind):
            tx.counts[counted] += 1
            tx.metrics.uploads_refused.labels(counted).inc()
            return HTTPException(status, str(err))
    if isinstance(err, Busy):
        tx.metrics.uploads_refused.labels("queue_full").inc()
        return HTTPException(429, str(err), headers={"Retry-After": "1"})
    if isinstance(err, NotReady):
        return HTTPException(503, str(err), headers={"Retry-After": "5"})
    return err


@router.get("/v1/frames/{frame_id}", responses=error_responses(404, 422, e404="not among the last FRAMES_KEPT"))
async def frame_status(frame_id: int, tx: TransmitterDep):
    record = tx.frame(frame_id)
    if record is None:
        raise HTTPException(404, f"frame {frame_id} unknown here (the last {tx.settings.frames_kept} frames are kept)")
    return record.to_dict()


@router.get("/v1/stats")
async def stats(tx: TransmitterDep):
    return tx.stats()


def ready(request: Request) -> tuple[bool, dict]:
    """200 once the model and codec are loaded; the body says whether the stream to the target is up."""
    tx = get_transmitter(request)
    body = {"ready": tx.ready, "connected": tx.sender.connected, "target": tx.settings.target,
            "session_open": tx.sender.session_open, "session_refused": tx.sender.refusal}
    return (True, body) if tx.ready else (False, {**body, "detail": tx.not_ready_reason()})


health_router = health_routes(ready, lambda request: get_transmitter(request).metrics.registry)

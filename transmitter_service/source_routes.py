"""The transmitter's demo-page routes: frame thumbnails, the running source, and comparison mode."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field

from semlink.http.errors import error_responses
from transmitter_service.routes import TransmitterDep
from transmitter_service.sources.base import SourceSpec
from transmitter_service.sources.opening import SwitchBusy

router = APIRouter(tags=["sources"])


class ComparisonBody(BaseModel):
    """Comparison mode: each frame also sent with ``reference`` through the same channel settings."""

    enabled: bool = Field(description="send every frame twice from now on")
    reference: Literal["fp16"] = Field("fp16", description="the reference codec")

    model_config = ConfigDict(extra="forbid", strict=True,
                              json_schema_extra={"examples": [{"enabled": True, "reference": "fp16"}]})


@router.get("/v1/frames/{frame_id}/thumbnail", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}, "description": "the frame's image, longest side "
                             "THUMBNAIL_SIZE"}, 404: {"description": "not among the last THUMBNAILS_KEPT frames"}})
async def frame_thumbnail(frame_id: int, tx: TransmitterDep) -> Response:
    """The frame as sent, a small JPEG; kept for the last THUMBNAILS_KEPT frames (a comparison pair shares one)."""
    jpeg = tx.thumbnails.get(frame_id)
    if jpeg is None:
        raise HTTPException(404, f"no thumbnail for frame {frame_id}: unknown, not encoded yet, or older than the "
                                 f"last {tx.thumbnails.capacity} frames (THUMBNAILS_KEPT)")
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/v1/source", response_model=SourceSpec)
async def get_source(tx: TransmitterDep) -> SourceSpec:
    """The source sending frames besides uploads: kind, fps, paused, path."""
    return tx.sources.spec


@router.put("/v1/source", response_model=SourceSpec, responses=error_responses(
    400, 409, 422, 503, e409="another switch is in progress; retry after Retry-After seconds",
    e422="a bad body, or a folder/video path that cannot be used or did not open within SOURCE_OPEN_TIMEOUT_S "
         "(the old source keeps running)",
    e503="the model is still loading; retry after Retry-After seconds"))
async def put_source(spec: SourceSpec, tx: TransmitterDep) -> SourceSpec:
    """Switch source (shapes, folder, video, none), change its fps, or pause/resume it; one switch at a time."""
    if not tx.ready:
        raise HTTPException(503, tx.not_ready_reason(), headers={"Retry-After": "5"})
    try:
        return await tx.sources.apply(spec)
    except SwitchBusy as err:
        raise HTTPException(409, str(err), headers={"Retry-After": "1"}) from None
    except OSError as err:  # SourceRefused: the same words whether the path exists or not
        raise HTTPException(422, str(err)) from None


@router.get("/v1/comparison", response_model=ComparisonBody)
async def get_comparison(tx: TransmitterDep) -> ComparisonBody:
    return ComparisonBody(**tx.comparison.describe())


@router.put("/v1/comparison", response_model=ComparisonBody, responses=error_responses(
    400, 422, e422="a bad body, or a reference codec that is not offered"))
async def put_comparison(body: ComparisonBody, tx: TransmitterDep) -> ComparisonBody:
    """Turn comparison mode on or off; the reference frames' records carry ``codec`` and ``pair_id``."""
    await tx.comparison.set_enabled(body.enabled)
    return ComparisonBody(**tx.comparison.describe())

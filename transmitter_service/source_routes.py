"""The transmitter's demo-page routes: frame thumbnails, the running source, and comparison mode."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field

from semlink.codecs import CodecError
from semlink.http.errors import error_responses
from transmitter_service.comparison import DEFAULT_REFERENCE, OFFERED, REFERENCE_PATTERN, check_reference
from transmitter_service.routes import TransmitterDep
from transmitter_service.sources.base import SourceRequest, SourceSpec
from transmitter_service.sources.opening import SwitchBusy

router = APIRouter(tags=["sources"])


class ComparisonBody(BaseModel):
    """Comparison mode: each frame also sent with ``reference`` through the same channel settings."""

    enabled: bool = Field(description="send every frame twice from now on")
    reference: str | None = Field(None, description=f"the reference: {' or '.join(OFFERED)} (the best pixel peer, "
                                  "the default, or fp16 features), or one pixel point such as webp:30, jpeg@32:50; "
                                  "omitted: the current one", max_length=64, pattern=REFERENCE_PATTERN)

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"enabled": True, "reference": DEFAULT_REFERENCE}, {"enabled": True, "reference": "fp16"}]})


class ComparisonState(BaseModel):
    """Whether comparison mode is on, its reference, and the references the page offers."""

    enabled: bool
    reference: str = Field(description="the reference frames' codec: a pixel point (avif:20) or fp16")
    offered: list[str] = Field(description="references to choose from (any one pixel point is taken too)")

    @classmethod
    def of(cls, tx) -> ComparisonState:
        return cls(**tx.comparison.describe(), offered=list(OFFERED))


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
         "(the old source keeps running; no schema can say whether a path opens)",
    e503="the model is still loading; retry after Retry-After seconds"))
async def put_source(body: SourceRequest, tx: TransmitterDep) -> SourceSpec:
    """Switch source (shapes, folder, video, none), change its fps, or pause/resume it; one switch at a time."""
    if not tx.ready:
        raise HTTPException(503, tx.not_ready_reason(), headers={"Retry-After": "5"})
    try:
        return await tx.sources.apply(body.spec())
    except SwitchBusy as err:
        raise HTTPException(409, str(err), headers={"Retry-After": "1"}) from None
    except OSError as err:  # SourceRefused: the same words whether the path exists or not
        raise HTTPException(422, str(err)) from None


@router.get("/v1/comparison", response_model=ComparisonState)
async def get_comparison(tx: TransmitterDep) -> ComparisonState:
    return ComparisonState.of(tx)


@router.put("/v1/comparison", response_model=ComparisonState, responses=error_responses(
    400, 422, 503, e422="a bad body (a reference not in the pattern), or a reference this model cannot load",
    e503="the model is still loading, so no other reference can be loaded yet; retry after Retry-After seconds"))
async def put_comparison(body: ComparisonBody, tx: TransmitterDep) -> ComparisonState:
    """Turn comparison mode on or off and choose its reference; the reference frames' records carry ``codec`` and
    ``pair_id``."""
    if body.reference is not None:
        try:
            check_reference(body.reference)
        except ValueError as err:
            raise HTTPException(422, str(err)) from None
        if body.reference != tx.comparison.reference and not tx.ready:
            raise HTTPException(503, tx.not_ready_reason(), headers={"Retry-After": "5"})
    try:
        await tx.comparison.update(body.reference, body.enabled)
    except CodecError as err:
        raise HTTPException(422, f"comparison reference {body.reference!r} cannot be loaded: {err}") from None
    return ComparisonState.of(tx)

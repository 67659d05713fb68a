"""The live demo page: ``GET /`` (the page), ``GET /static/{name}`` (its script and style), ``GET /v1/page-config``.

Everything the page needs ships in ``receiver_service/page/`` (no CDN, no build
step). The page learns where the transmitter and channel_sim are from
``/v1/page-config`` (the receiver's ``TRANSMITTER_URL`` and ``CHANNEL_URL``), whether it needs the API token, and
what a frame of the model's features costs as fp16 (the yardstick of its headline).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from receiver_service.deps import ReceiverDep
from semlink.codecs import fp16_frame_cost

PAGE_DIR = Path(__file__).resolve().parent.parent / "page"
MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

router = APIRouter(tags=["page"])


class PageConfig(BaseModel):
    """Where the page finds the other two services, and what the receiver already answers on its own."""

    transmitter_url: str = Field(description="the transmitter's REST URL; empty: the page's host, port 8001")
    channel_url: str = Field(description="channel_sim's REST URL; empty: the page's host, port 8002")
    auto_task: str = Field(description="the task the receiver runs on every frame (the page asks the others)")
    model: str
    codec: str
    token_required: bool = Field(description="the receiver's /v1 routes need API_TOKEN: the page asks for it first")
    feature_shape: list[int] | None = Field(description="(C, H, W) of the model's vision features; null while it "
                                            "loads")
    fp16_frame_bytes: int | None = Field(description="one frame of these features as uncompressed fp16 in the fp16 "
                                         "codec's datagrams (2 B an element, headers and checks), without transport")
    fp16_frame_datagrams: int | None = Field(description="the datagrams of that frame (each pays the transport)")


def static_files() -> dict[str, Path]:
    """The page's files by name (only these are served: no path is taken from the request)."""
    return {p.name: p for p in PAGE_DIR.iterdir() if p.suffix in MEDIA_TYPES and p.is_file()}


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(PAGE_DIR / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/static/{name}", include_in_schema=False)
async def static(name: str) -> FileResponse:
    path = static_files().get(name)
    if path is None:
        raise HTTPException(404, f"no page file {name!r}; the page ships {', '.join(sorted(static_files()))}")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})


@router.get("/v1/page-config", response_model=PageConfig)
async def page_config(receiver: ReceiverDep) -> PageConfig:
    """The live page's configuration, from the receiver's settings."""
    settings = receiver.settings
    shape = receiver.codec.feature_shape if receiver.codec is not None else None
    fp16 = fp16_frame_cost(shape) if shape else None
    return PageConfig(transmitter_url=settings.transmitter_url.rstrip("/"), channel_url=settings.channel_url.rstrip("/"),
                      auto_task=settings.auto_task, model=settings.model, codec=settings.codec,
                      token_required=bool(settings.api_token and settings.api_token.get_secret_value()),
                      feature_shape=list(shape) if shape else None,
                      fp16_frame_bytes=fp16.datagram_bytes if fp16 else None,
                      fp16_frame_datagrams=fp16.datagrams if fp16 else None)

"""A source's frame (image, kind, ground truth), the source's description as ``GET /v1/source`` shows it, and what
``PUT /v1/source`` takes: one shape per kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

SourceKind = Literal["shapes", "folder", "video", "none"]


@dataclass(frozen=True)
class SourceFrame:
    """One image a source produced; ``truth`` is ``{caption, objects: [{label, box}]}`` for shapes scenes."""

    image: Image.Image
    kind: str
    name: str = ""  # a file name, or "scene 12", or "frame 340"
    truth: dict | None = None


class SourceSpec(BaseModel):
    """Which source runs, how fast, whether paused; ``path`` is a folder/image list (folder) or a file/URL (video)."""

    kind: SourceKind = Field("none", description="shapes (built-in scenes), folder (images in a loop), video (a file "
                             "or rtsp:// URL read with PyAV) or none")
    fps: float = Field(1.0, gt=0, le=60, description="frames per second taken from the source")
    paused: bool = Field(False, description="the source holds its place and sends nothing while paused")
    path: str | None = Field(None, max_length=4096, description="folder: a directory of images; video: a file path or "
                             "an rtsp:// URL (SOURCE_SCHEMES, SOURCE_HOSTS); unused for shapes and none")

    # Strict like every request body: unknown fields and 0/1 for booleans are refused, as the OpenAPI says.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, json_schema_extra={
        "examples": [{"kind": "shapes", "fps": 1.0, "paused": False, "path": None}]})

    @model_validator(mode="after")
    def _path_when_needed(self) -> SourceSpec:
        if self.kind in ("folder", "video") and not self.path:
            raise ValueError(f"source kind {self.kind!r} needs a path (a folder, or a video file / rtsp:// URL)")
        return self


# --- PUT /v1/source: one shape per kind (``kind`` is the discriminator) -----------------------------------------
FPS_DOC = "frames per second taken from the source"
PAUSED_DOC = "the source holds its place and sends nothing while paused"
STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class _PathlessSource(BaseModel):
    model_config = STRICT
    fps: float = Field(1.0, gt=0, le=60, description=FPS_DOC)
    paused: bool = Field(False, description=PAUSED_DOC)
    path: str | None = Field(None, max_length=4096, description="unused by this kind (kept as given)")


class ShapesSource(_PathlessSource):
    """The built-in shapes scenes."""

    kind: Literal["shapes"]


class NoSource(_PathlessSource):
    """No source: only uploads send frames."""

    kind: Literal["none"] = "none"


class _PathSource(BaseModel):
    model_config = STRICT
    fps: float = Field(1.0, gt=0, le=60, description=FPS_DOC)
    paused: bool = Field(False, description=PAUSED_DOC)

    @model_validator(mode="before")
    @classmethod
    def _has_a_path(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("path") in (None, ""):
            raise ValueError(f"source kind {data.get('kind')!r} needs a path (a folder, or a video file / rtsp:// "
                             "URL)")
        return data


class FolderSource(_PathSource):
    """The images of a directory, in name order, looping."""

    kind: Literal["folder"]
    path: str = Field(min_length=1, max_length=4096, description="a directory of images this transmitter can read")


class VideoSource(_PathSource):
    """A video file or stream read with PyAV."""

    kind: Literal["video"]
    path: str = Field(min_length=1, max_length=4096, description="a video file path or an rtsp:// URL "
                      "(SOURCE_SCHEMES, SOURCE_HOSTS)")


class SourceRequest(RootModel[Annotated[ShapesSource | FolderSource | VideoSource | NoSource,
                                        Field(discriminator="kind")]]):
    """The source to run (``PUT /v1/source``), one shape per ``kind``: folder and video need a non-empty path;
    ``kind`` omitted is none. Strict like every request body."""

    model_config = ConfigDict(json_schema_extra={
        "examples": [{"kind": "shapes", "fps": 1.0, "paused": False}]})

    @model_validator(mode="before")
    @classmethod
    def _none_by_default(cls, data: Any) -> Any:
        return {"kind": "none", **data} if isinstance(data, dict) and "kind" not in data else data

    def spec(self) -> SourceSpec:
        return SourceSpec(**self.root.model_dump())

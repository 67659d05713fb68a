"""A source's frame (image, kind, ground truth) and the source's description, as ``GET/PUT /v1/source`` shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

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

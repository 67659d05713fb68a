"""Where the built-in models and their default codecs live on disk (no heavy imports here)."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
SHIPPED = {"shapes-tiny": ASSETS / "shapes-tiny"}
DEFAULT_CODEC_FILE = "codec-learned.safetensors"


def model_dir(model: str) -> Path:
    """The directory of a built-in model, or ``model`` itself taken as a local directory."""
    return SHIPPED.get(model, Path(model))


def codec_beside(model: str) -> Path | None:
    """The trained ``learned`` codec shipped beside ``model`` (a built-in name or a local directory), if any."""
    path = model_dir(model) / DEFAULT_CODEC_FILE
    return path if path.is_file() else None

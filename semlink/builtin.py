"""Where the built-in models and their default codecs live on disk (no heavy imports here)."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
SHIPPED = {"shapes-tiny": ASSETS / "shapes-tiny"}
DEFAULT_CODEC_FILE = "codec-learned.safetensors"


def model_dir(model: str) -> Path:
    """The directory of a built-in model, or ``model`` itself taken as a local directory."""
    return SHIPPED.get(model, Path(model))


def codec_beside(model: str, point: str = "") -> Path | None:
    """The trained ``learned`` codec shipped beside ``model`` (a built-in name or a local directory), if any.

    ``point`` names one of its other operating points: ``codec-learned-<point>.safetensors``.
    """
    name = f"codec-learned-{point}.safetensors" if point else DEFAULT_CODEC_FILE
    path = model_dir(model) / name
    return path if path.is_file() else None


def operating_points(model: str) -> list[str]:
    """Names of the learned codec's other operating points shipped beside ``model`` (``learned:<name>``)."""
    return sorted(p.name[len("codec-learned-"):-len(".safetensors")]
                  for p in model_dir(model).glob("codec-learned-*.safetensors"))

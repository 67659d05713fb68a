"""Where the built-in models and their default codecs live on disk (no heavy imports here)."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
SHIPPED = {"shapes-tiny": ASSETS / "shapes-tiny"}
KNOWS_ONLY_SHAPES = frozenset({"shapes-tiny"})  # built-in stand-ins trained on the shapes world alone
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


PIXEL_FILE_PREFIX = "pixels-learned"
PIXEL_DEFAULT_POINT = "default"  # the point shipped as pixels-learned.safetensors, row name "learned-pixels"


def pixel_point_file(point: str) -> str:
    """The file name of the learned pixel codec's operating point ``point`` (``default`` = the default point)."""
    suffix = "" if point == PIXEL_DEFAULT_POINT else f"-{point}"
    return f"{PIXEL_FILE_PREFIX}{suffix}.safetensors"


def learned_pixel_points(model: str) -> list[str]:
    """Names of the pixel codec's operating points shipped beside ``model`` (a built-in name or a directory).

    ``default`` (when shipped) comes first, then the others sorted; no model is loaded.
    """
    directory = model_dir(model)
    others = sorted(p.name[len(PIXEL_FILE_PREFIX) + 1:-len(".safetensors")]
                    for p in directory.glob(f"{PIXEL_FILE_PREFIX}-*.safetensors"))
    return ([PIXEL_DEFAULT_POINT] if (directory / pixel_point_file(PIXEL_DEFAULT_POINT)).is_file() else []) + others

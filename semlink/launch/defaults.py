"""What a launch uses when the user names nothing: the best built-in model and its best codec.

Both are decided from files on disk, never by loading a model.
"""

from __future__ import annotations

from pathlib import Path

from semlink.florence.loading import SHIPPED
from semlink.runtime import DEFAULT_CODEC_FILE

TRAINED_MODEL = "shapes-tiny"
FALLBACK_MODEL = "tiny-random"
FALLBACK_CODEC = "q8"


def best_builtin_model() -> str:
    """``shapes-tiny`` when its checkpoint is shipped (trained on the shapes world), else ``tiny-random``."""
    return TRAINED_MODEL if (SHIPPED[TRAINED_MODEL] / "config.json").is_file() else FALLBACK_MODEL


def shipped_codec_path(model: str) -> Path | None:
    """The trained ``learned`` codec shipped beside ``model`` (a preset or a local directory), if any.

    Mirrors :func:`semlink.runtime.default_codec_path` without loading the model.
    """
    folder = SHIPPED[model] if model in SHIPPED else Path(model)
    path = folder / DEFAULT_CODEC_FILE
    return path if path.is_file() else None


def best_codec(model: str) -> str:
    """``learned`` when a trained codec ships with ``model``, else ``q8`` (no training needed)."""
    return "learned" if shipped_codec_path(model) is not None else FALLBACK_CODEC

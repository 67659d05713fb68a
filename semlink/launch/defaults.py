"""What a launch uses when the user names nothing: the best built-in model and its best codec.

Both are decided from files on disk, never by loading a model.
"""

from __future__ import annotations

from semlink.builtin import SHIPPED, codec_beside

TRAINED_MODEL = "shapes-tiny"
FALLBACK_MODEL = "tiny-random"
FALLBACK_CODEC = "q8"


def best_builtin_model() -> str:
    """``shapes-tiny`` when its checkpoint is shipped (trained on the shapes world), else ``tiny-random``."""
    return TRAINED_MODEL if (SHIPPED[TRAINED_MODEL] / "config.json").is_file() else FALLBACK_MODEL


def best_codec(model: str) -> str:
    """``learned`` when a trained codec ships with ``model``, else ``q8`` (no training needed)."""
    return "learned" if codec_beside(model) is not None else FALLBACK_CODEC

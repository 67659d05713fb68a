"""Built-in sample images: shapes-world scenes drawn from a fixed seed, so every command runs offline."""

from __future__ import annotations

from PIL import Image

from semlink.shapes.dataset import scenes_from_seed
from semlink.shapes.render import render

SAMPLE_SEED = 20261125


def sample_scenes(n: int = 4):
    """``n`` fixed test-split scenes (the same on every machine)."""
    return scenes_from_seed(SAMPLE_SEED, n, split="test")


def sample_images(n: int = 4) -> list[Image.Image]:
    """``n`` fixed RGB images of the shapes world."""
    return [render(scene) for scene in sample_scenes(n)]

"""The shapes-scene check: every rendered scene passes (plain, crowded, mildly noisy); photo-like images (colour or
grey) and noise do not."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from semlink.shapes import KINDS, SceneConfig, render
from semlink.shapes.dataset import scenes_from_seed
from semlink.shapes.likeness import scene_likeness
from semlink.samples import sample_images

CONFIGS = {
    "default": SceneConfig(),
    "crowded": SceneConfig(max_shapes=9, kinds=KINDS, colors=("red", "green", "blue", "yellow", "purple",
                                                              "orange", "white")),
    "noisy": SceneConfig(noise_std=3, clutter=3, background_jitter=20),  # mild noise: what JPEG might add
}


@pytest.mark.parametrize("name", CONFIGS)
def test_every_rendered_scene_looks_like_one(name):
    for scene in scenes_from_seed(3, 60, CONFIGS[name]):
        assert scene_likeness(render(scene)).looks_like_shapes, (name, scene)


def test_the_sample_images_upscaled_as_a_user_might_send_them_still_pass():
    for image in sample_images(4):
        assert scene_likeness(image.resize((640, 640), Image.Resampling.BICUBIC)).looks_like_shapes


def photo_like(seed: int, size=(640, 480)) -> Image.Image:
    """Smooth colour fields at two scales and sensor noise: gradients and texture, no flat regions."""
    rng = np.random.default_rng(seed)
    field = lambda cells: np.asarray(Image.fromarray(rng.uniform(0, 255, (*cells, 3)).astype(np.uint8))
                                     .resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    pixels = 0.7 * field((6, 8)) + 0.3 * field((48, 64)) + rng.normal(0, 6, (size[1], size[0], 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("seed", range(4))
def test_a_photo_like_image_is_flagged_in_colour_and_in_grey(seed):
    likeness = scene_likeness(photo_like(seed))
    assert not likeness.looks_like_shapes and likeness.common_colour_share < 0.5
    grey = scene_likeness(photo_like(seed).convert("L"))  # a few greys cover its levels: its texture tells
    assert not grey.looks_like_shapes and grey.flat_share < 0.65


def test_noise_is_flagged_in_any_mode():
    noise = np.random.default_rng(0).integers(0, 256, (300, 400), dtype=np.uint8)
    assert not scene_likeness(Image.fromarray(noise, "L")).looks_like_shapes
    assert not scene_likeness(Image.fromarray(noise, "L").convert("RGBA")).looks_like_shapes

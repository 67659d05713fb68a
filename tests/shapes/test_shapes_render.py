"""Rendering: exact bytes for a seed, shapes where their boxes say, anti-aliasing, noise."""

import numpy as np
import pytest

from semlink.shapes.render import contact_sheet, render
from semlink.shapes.scene import COLORS, KINDS, Scene, SceneConfig, ShapeSpec, generate_scene


def _one(kind, cx=64.0, cy=64.0, r=20.0, color="red"):
    return Scene(128, 128, (ShapeSpec(kind, color, "large", cx, cy, r),))


@pytest.mark.parametrize("config", [SceneConfig(), SceneConfig(kinds=KINDS, clutter=4, noise_std=6.0)])
def test_same_seed_same_bytes(config):
    a = render(generate_scene(np.random.default_rng(11), config)).tobytes()
    b = render(generate_scene(np.random.default_rng(11), config)).tobytes()
    c = render(generate_scene(np.random.default_rng(12), config)).tobytes()
    assert a == b and a != c


def test_image_size_and_mode():
    image = render(generate_scene(np.random.default_rng(0), SceneConfig(width=96, height=64)))
    assert image.size == (96, 64) and image.mode == "RGB"


@pytest.mark.parametrize("kind, fill", [("square", 1.0), ("circle", np.pi / 4), ("triangle", 0.5), ("cross", 0.64)])
def test_shape_fills_its_box(kind, fill):
    pixels = np.asarray(render(_one(kind)), dtype=np.float64)
    background = np.array([32, 32, 32.0])
    red = np.array(COLORS["red"], dtype=np.float64)
    coverage = ((pixels - background) @ (red - background)) / ((red - background) @ (red - background))
    box = coverage[44:84, 44:84]
    assert box.mean() == pytest.approx(fill, abs=0.02)
    outside = coverage.copy()
    outside[44:84, 44:84] = 0
    assert np.abs(outside).max() < 1e-6, "nothing is drawn outside the box"
    assert coverage[64, 64] == pytest.approx(1.0), "the centre is covered"


def test_star_is_a_star():
    pixels = np.asarray(render(_one("star")))
    assert tuple(pixels[64, 64]) == COLORS["red"]
    assert tuple(pixels[45, 64]) != (32, 32, 32), "a point reaches the top of the box"
    assert tuple(pixels[46, 46]) == (32, 32, 32), "corners are empty"


def test_antialiasing_blends_edges_only_when_supersampling():
    scene = _one("circle", r=20.25)
    values = {tuple(p) for p in np.asarray(render(scene)).reshape(-1, 3)}
    aliased = {tuple(p) for p in np.asarray(render(scene, supersample=1)).reshape(-1, 3)}
    assert len(values) > 5 and aliased == {(32, 32, 32), COLORS["red"]}


def test_noise_is_seeded_by_the_scene():
    base = _one("square")
    noisy = Scene(128, 128, base.shapes, noise_std=10.0, noise_seed=5)
    a, b = np.asarray(render(noisy), dtype=float), np.asarray(render(base), dtype=float)
    assert 8 < (a - b).std() < 12
    assert render(noisy).tobytes() == render(Scene.from_dict(noisy.to_dict())).tobytes()


def test_contact_sheet_tiles():
    images = [render(_one("circle")) for _ in range(5)]
    sheet = contact_sheet(images, columns=4, pad=2)
    assert sheet.size == (4 * 130 + 2, 2 * 130 + 2)

"""Scene generation: config validation and the invariants every generated scene keeps."""

import numpy as np
import pytest

from semlink.shapes.scene import CELLS, COLORS, KINDS, Scene, SceneConfig, ShapeSpec, generate_scene

FULL = SceneConfig(kinds=KINDS, colors=tuple(COLORS), max_shapes=6)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"max_shapes": 10}, "max_shapes"),
        ({"min_shapes": 0}, "min_shapes"),
        ({"min_shapes": 3, "max_shapes": 2}, "min_shapes"),
        ({"kinds": ("hexagon",)}, "kinds"),
        ({"kinds": ()}, "kinds"),
        ({"colors": ("red", "red")}, "colors"),
        ({"small_radius": (0.06, 0.13)}, "large_radius"),
        ({"large_radius": (0.12, 0.2)}, "large_radius"),
        ({"cell_margin": 0.6}, "cell_margin"),
        ({"cell_margin": 0.49, "large_radius": (0.15, 0.165)}, "cell_margin"),
        ({"occlusion": 1.0}, "occlusion"),
        ({"noise_std": -1.0}, "noise_std"),
        ({"width": 8}, "width"),
    ],
)
def test_config_names_the_bad_field(kwargs, field):
    with pytest.raises(ValueError, match=f"SceneConfig.{field}="):
        SceneConfig(**kwargs)


def test_shape_spec_bbox_and_cell():
    s = ShapeSpec("circle", "red", "small", cx=20.0, cy=100.25, radius=8.5, canvas=(128, 128))
    assert s.bbox == (11.5, 91.75, 28.5, 108.75)
    assert s.cell == "bottom left" and s.cell_index == 6
    assert ShapeSpec("square", "blue", "large", 64, 64, 10).cell == "center"
    assert ShapeSpec("square", "blue", "large", 100, 10, 5, canvas=(120, 60)).cell == "top right"
    with pytest.raises(ValueError, match="kind"):
        ShapeSpec("blob", "red", "small", 1, 1, 1)


def test_scene_rejects_shapes_of_another_canvas():
    with pytest.raises(ValueError, match="canvas"):
        Scene(64, 64, (ShapeSpec("circle", "red", "small", 10, 10, 5, canvas=(128, 128)),))


@pytest.mark.parametrize("config", [SceneConfig(), FULL, SceneConfig(width=96, height=160, max_shapes=4)])
def test_generated_scenes_keep_their_invariants(config):
    rng = np.random.default_rng(0)
    for _ in range(300):
        scene = generate_scene(rng, config)
        assert config.min_shapes <= len(scene.shapes) <= config.max_shapes
        assert len({s.cell for s in scene.shapes}) == len(scene.shapes), "one shape per grid cell"
        cell_w, cell_h = config.width / 3, config.height / 3
        for s in scene.shapes:
            x1, y1, x2, y2 = s.bbox
            assert 0 < x1 and 0 < y1 and x2 < config.width and y2 < config.height
            lo, hi = config.radius_range(s.size)
            assert lo - 0.125 <= s.radius <= hi + 0.125
            assert s.kind in config.kinds and s.color in config.colors
            # centre well inside its cell: the position word is never a close call
            col, row = s.cell_index % 3, s.cell_index // 3
            assert s.cx - col * cell_w >= config.cell_margin * cell_w - 1e-9
            assert (col + 1) * cell_w - s.cx >= config.cell_margin * cell_w - 1e-9
            assert s.cy - row * cell_h >= config.cell_margin * cell_h - 1e-9
            assert (row + 1) * cell_h - s.cy >= config.cell_margin * cell_h - 1e-9
            assert (s.cx * 4).is_integer() and (s.cy * 4).is_integer() and (s.radius * 4).is_integer()
        for i, a in enumerate(scene.shapes):  # boxes disjoint, min_gap apart
            for b in scene.shapes[i + 1 :]:
                (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = a.bbox, b.bbox
                g = config.min_gap
                assert ax2 + g <= bx1 or bx2 + g <= ax1 or ay2 + g <= by1 or by2 + g <= ay1


def test_sizes_are_clearly_separated():
    config = SceneConfig()
    assert config.radius_range("small")[1] * 1.4 < config.radius_range("large")[0]


def test_all_kinds_colours_sizes_and_cells_occur():
    rng = np.random.default_rng(1)
    shapes = [s for _ in range(400) for s in generate_scene(rng, FULL).shapes]
    assert {s.kind for s in shapes} == set(KINDS)
    assert {s.color for s in shapes} == set(COLORS)
    assert {s.size for s in shapes} == {"small", "large"}
    assert {s.cell for s in shapes} == set(CELLS)


def test_same_seed_same_scene_and_dict_round_trip():
    config = SceneConfig(clutter=3, noise_std=5.0, background_jitter=8, occlusion=0.2)
    a = generate_scene(np.random.default_rng(7), config)
    b = generate_scene(np.random.default_rng(7), config)
    assert a == b and a.content_hash() == b.content_hash()
    assert Scene.from_dict(a.to_dict()) == a
    assert generate_scene(np.random.default_rng(8), config) != a


def test_ordered_is_reading_order():
    rng = np.random.default_rng(2)
    for _ in range(50):
        scene = generate_scene(rng, FULL)
        cells = [s.cell_index for s in scene.ordered]
        assert cells == sorted(cells)


def test_occlusion_allows_bounded_overlap():
    config = SceneConfig(max_shapes=6, occlusion=0.3)
    rng = np.random.default_rng(3)
    overlapped = False
    for _ in range(300):
        shapes = generate_scene(rng, config).shapes
        for i, a in enumerate(shapes):
            for b in shapes[i + 1 :]:
                iw = min(a.bbox[2], b.bbox[2]) - max(a.bbox[0], b.bbox[0])
                ih = min(a.bbox[3], b.bbox[3]) - max(a.bbox[1], b.bbox[1])
                if iw > 0 and ih > 0:
                    overlapped = True
                    assert iw * ih <= 0.3 * 4 * min(a.radius, b.radius) ** 2 + 1e-9
    assert overlapped


def test_impossible_config_says_what_to_do():
    crowded = SceneConfig(min_shapes=9, max_shapes=9, sizes=("large",), large_radius=(0.16, 0.166), max_attempts=3)
    with pytest.raises(RuntimeError, match="lower max_shapes"):
        generate_scene(np.random.default_rng(0), crowded)

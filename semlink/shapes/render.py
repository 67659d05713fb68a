"""Draw a scene with PIL: shapes fill their boxes exactly; supersampling gives anti-aliased edges."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from semlink.shapes.scene import COLORS, Scene, ShapeSpec

STAR_INNER = 0.5
"""Inner/outer radius of the five-pointed star (fatter than a pentagram, so small stars stay stars)."""

CROSS_ARM = 0.4
"""Arm thickness of the cross as a fraction of its box side."""


def _unit_star() -> list[tuple[float, float]]:
    """The star's ten vertices, stretched to fill the square [-1, 1]^2 with one point straight up."""
    points = []
    for k in range(10):
        rad = 1.0 if k % 2 == 0 else STAR_INNER
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((rad * math.cos(angle), rad * math.sin(angle)))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_half, y_lo, y_hi = max(xs), min(ys), max(ys)
    return [(x / x_half, -1 + 2 * (y - y_lo) / (y_hi - y_lo)) for x, y in points]


def _unit_cross() -> list[tuple[float, float]]:
    a = CROSS_ARM
    return [(-a, -1), (a, -1), (a, -a), (1, -a), (1, a), (a, a), (a, 1), (-a, 1), (-a, a), (-1, a), (-1, -a), (-a, -a)]


_UNIT_POLYGONS = {
    "triangle": [(0.0, -1.0), (1.0, 1.0), (-1.0, 1.0)],
    "star": _unit_star(),
    "cross": _unit_cross(),
}


def _draw_shape(draw: ImageDraw.ImageDraw, shape: ShapeSpec, scale: int) -> None:
    fill = COLORS[shape.color]
    x1, y1, x2, y2 = (v * scale for v in shape.bbox)
    if shape.kind in ("circle", "square"):
        # Integer pixel boxes are inclusive in PIL: continuous [x1, x2) is pixels x1..x2-1.
        box = [round(x1), round(y1), round(x2) - 1, round(y2) - 1]
        (draw.ellipse if shape.kind == "circle" else draw.rectangle)(box, fill=fill)
        return
    # PIL fills the pixels whose centres (integer coordinates) the polygon covers, after rounding the
    # vertices; so the unit square maps onto the centres of the box's first and last pixels, like the box above.
    cx, cy, r = shape.cx * scale - 0.5, shape.cy * scale - 0.5, shape.radius * scale - 0.5
    points = [(cx + u * r, cy + v * r) for u, v in _UNIT_POLYGONS[shape.kind]]
    draw.polygon(points, fill=fill)


def render(scene: Scene, supersample: int = 4) -> Image.Image:
    """The scene as an RGB image of ``(scene.width, scene.height)``.

    ``supersample`` > 1 draws at that many times the size and box-filters down
    (anti-aliasing); 1 draws aliased pixels directly. Noise, if the scene has
    any, is seeded by the scene, so the same scene always gives the same bytes.
    """
    if supersample < 1:
        raise ValueError(f"supersample={supersample}: must be >= 1")
    s = supersample
    image = Image.new("RGB", (scene.width * s, scene.height * s), tuple(scene.background))
    draw = ImageDraw.Draw(image)
    for stroke in scene.clutter:
        line = [(stroke.x1 * s, stroke.y1 * s), (stroke.x2 * s, stroke.y2 * s)]
        draw.line(line, fill=(stroke.gray,) * 3, width=stroke.width * s)
    for shape in scene.shapes:
        _draw_shape(draw, shape, s)
    if s > 1:
        image = image.reduce(s)
    if scene.noise_std > 0:
        rng = np.random.default_rng(scene.noise_seed)
        pixels = np.asarray(image, dtype=np.float32)
        pixels = pixels + rng.normal(0.0, scene.noise_std, pixels.shape).astype(np.float32)
        image = Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "RGB")
    return image


def contact_sheet(images: list[Image.Image], columns: int = 8, pad: int = 2) -> Image.Image:
    """Tile images (all the same size) into one picture, for looking at a sample."""
    if not images:
        raise ValueError("contact_sheet needs at least one image")
    w, h = images[0].size
    rows = math.ceil(len(images) / columns)
    cols = min(columns, len(images))
    sheet = Image.new("RGB", (cols * (w + pad) + pad, rows * (h + pad) + pad), (255, 255, 255))
    for i, image in enumerate(images):
        sheet.paste(image, (pad + (i % columns) * (w + pad), pad + (i // columns) * (h + pad)))
    return sheet

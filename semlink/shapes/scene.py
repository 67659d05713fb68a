"""Scenes of the shapes world: what is in a picture, as exact data, and how to draw one at random.

A scene is a canvas with 1-9 coloured shapes, each centred in its own cell of a
3x3 grid so that its position word ("top left", "center", ...) is never in
doubt. Every shape fills its square box ``(cx - r, cy - r, cx + r, cy + r)``
(a circle inscribed in it, a triangle with its apex at the top centre, ...),
so the box is the shape's exact extent. Coordinates are continuous pixels
(pixel ``i`` spans ``[i, i + 1)``) on a quarter-pixel grid, which keeps them
exact in float32 and in a 4x-supersampled drawing.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, fields

import numpy as np

KINDS = ("circle", "square", "triangle", "star", "cross")
"""Every shape the world knows (configs pick a subset; text vocabulary covers all)."""

COLORS = {
    "red": (220, 45, 45),
    "green": (40, 175, 70),
    "blue": (45, 95, 235),
    "yellow": (240, 210, 40),
    "purple": (155, 65, 205),
    "orange": (245, 135, 25),
    "white": (235, 235, 235),
}
"""Colour name -> RGB. Far apart in RGB so that mild noise never changes a name."""

SIZES = ("small", "large")

CELLS = (
    "top left", "top", "top right",
    "left", "center", "right",
    "bottom left", "bottom", "bottom right",
)  # fmt: skip
"""Position names of the 3x3 grid in reading order (row-major): index = 3 * row + col."""

SUBPIXEL = 4
"""Shape coordinates are multiples of 1 / SUBPIXEL pixels."""


def _on_grid(value: float) -> float:
    return round(value * SUBPIXEL) / SUBPIXEL


def cell_index(x: float, y: float, width: int, height: int) -> int:
    """Grid cell (0..8, reading order) that contains the point ``(x, y)``."""
    col = min(2, max(0, math.floor(3 * x / width)))
    row = min(2, max(0, math.floor(3 * y / height)))
    return 3 * row + col


@dataclass(frozen=True)
class ShapeSpec:
    """One shape: what it is and where. ``canvas`` is the (width, height) of its image in pixels."""

    kind: str
    color: str
    size: str
    cx: float
    cy: float
    radius: float
    canvas: tuple[int, int] = (128, 128)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"ShapeSpec.kind={self.kind!r}: expected one of {KINDS}")
        if self.color not in COLORS:
            raise ValueError(f"ShapeSpec.color={self.color!r}: expected one of {tuple(COLORS)}")
        if self.size not in SIZES:
            raise ValueError(f"ShapeSpec.size={self.size!r}: expected one of {SIZES}")
        if not self.radius > 0:
            raise ValueError(f"ShapeSpec.radius={self.radius}: must be > 0")

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """``(x1, y1, x2, y2)`` in pixels: the exact extent of the drawn shape."""
        r = self.radius
        return (self.cx - r, self.cy - r, self.cx + r, self.cy + r)

    @property
    def cell_index(self) -> int:
        """Grid cell of the centre, 0..8 in reading order."""
        return cell_index(self.cx, self.cy, *self.canvas)

    @property
    def cell(self) -> str:
        """Position name of the centre's grid cell, e.g. ``"top left"``."""
        return CELLS[self.cell_index]

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"canvas": list(self.canvas)}

    @classmethod
    def from_dict(cls, d: dict) -> ShapeSpec:
        return cls(**(d | {"canvas": tuple(d["canvas"])}))


@dataclass(frozen=True)
class Stroke:
    """A clutter line (not an object: never captioned). Coordinates in pixels."""

    x1: float
    y1: float
    x2: float
    y2: float
    gray: int
    width: int = 1


@dataclass(frozen=True)
class Scene:
    """A whole picture. ``shapes`` are in drawing order (back to front); text uses ``ordered``."""

    width: int
    height: int
    shapes: tuple[ShapeSpec, ...]
    background: tuple[int, int, int] = (32, 32, 32)
    clutter: tuple[Stroke, ...] = ()
    noise_std: float = 0.0
    noise_seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "shapes", tuple(self.shapes))
        object.__setattr__(self, "clutter", tuple(self.clutter))
        object.__setattr__(self, "background", tuple(self.background))
        for s in self.shapes:
            if s.canvas != (self.width, self.height):
                raise ValueError(f"Scene.shapes: shape canvas {s.canvas} != scene size {(self.width, self.height)}")

    @property
    def ordered(self) -> tuple[ShapeSpec, ...]:
        """Shapes in canonical order: grid-cell reading order, then top-to-bottom, left-to-right."""
        return tuple(sorted(self.shapes, key=lambda s: (s.cell_index, s.cy, s.cx)))

    def content_hash(self) -> int:
        """A stable 64-bit hash of what the scene shows (canvas and shapes; not clutter or noise)."""
        key = repr((self.width, self.height, [(s.kind, s.color, s.size, s.cx, s.cy, s.radius) for s in self.ordered]))
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")

    def to_dict(self) -> dict:
        return {
            "width": self.width,
            "height": self.height,
            "shapes": [s.to_dict() for s in self.shapes],
            "background": list(self.background),
            "clutter": [vars(c) for c in self.clutter],
            "noise_std": self.noise_std,
            "noise_seed": self.noise_seed,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Scene:
        return cls(
            width=d["width"],
            height=d["height"],
            shapes=tuple(ShapeSpec.from_dict(s) for s in d["shapes"]),
            background=tuple(d["background"]),
            clutter=tuple(Stroke(**c) for c in d.get("clutter", ())),
            noise_std=d.get("noise_std", 0.0),
            noise_seed=d.get("noise_seed", 0),
        )


@dataclass(frozen=True)
class SceneConfig:
    """How scenes are drawn at random. Radii are fractions of ``min(width, height)``.

    ``cell_margin`` keeps every centre that fraction of a cell away from the cell's
    borders, so position words are unambiguous. ``occlusion`` is the largest fraction
    of a shape's box that another box may cover (0: boxes are disjoint, at least
    ``min_gap`` pixels apart). ``clutter`` is the most distractor lines per scene;
    ``noise_std`` the Gaussian pixel noise (0-255 scale).
    """

    width: int = 128
    height: int = 128
    min_shapes: int = 1
    max_shapes: int = 3
    kinds: tuple[str, ...] = ("circle", "square", "triangle")
    colors: tuple[str, ...] = ("red", "green", "blue", "yellow", "purple")
    sizes: tuple[str, ...] = SIZES
    small_radius: tuple[float, float] = (0.06, 0.08)
    large_radius: tuple[float, float] = (0.12, 0.15)
    cell_margin: float = 0.12
    min_gap: float = 2.0
    occlusion: float = 0.0
    clutter: int = 0
    noise_std: float = 0.0
    background: tuple[int, int, int] = (32, 32, 32)
    background_jitter: int = 0
    max_attempts: int = 200

    def __post_init__(self):
        def bad(name: str, why: str):
            raise ValueError(f"SceneConfig.{name}={getattr(self, name)!r}: {why}")

        for name in ("kinds", "colors", "sizes", "small_radius", "large_radius", "background"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.width < 16 or self.height < 16:
            bad("width" if self.width < 16 else "height", "images must be at least 16 pixels a side")
        if not 1 <= self.min_shapes <= self.max_shapes:
            bad("min_shapes", f"need 1 <= min_shapes <= max_shapes (= {self.max_shapes})")
        if self.max_shapes > 9:
            bad("max_shapes", "at most 9 (one shape per cell of the 3x3 grid)")
        for name, catalogue in (("kinds", KINDS), ("colors", tuple(COLORS)), ("sizes", SIZES)):
            chosen = getattr(self, name)
            if not chosen or len(set(chosen)) != len(chosen) or not set(chosen) <= set(catalogue):
                bad(name, f"need a non-empty subset, without repeats, of {catalogue}")
        for name in ("small_radius", "large_radius"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi < 1 / 6:
                bad(name, "need 0 < low <= high < 1/6 (a shape must fit in its grid cell)")
        if self.small_radius[1] >= self.large_radius[0]:
            bad("large_radius", f"must start above small_radius's top ({self.small_radius[1]}) so sizes are distinct")
        if not 0 <= self.cell_margin < 0.5:
            bad("cell_margin", "need 0 <= cell_margin < 0.5")
        if self.min_gap < 0:
            bad("min_gap", "must be >= 0 pixels")
        if not 0 <= self.occlusion < 1:
            bad("occlusion", "need 0 <= occlusion < 1")
        if self.clutter < 0:
            bad("clutter", "must be >= 0")
        if self.noise_std < 0:
            bad("noise_std", "must be >= 0")
        if len(self.background) != 3 or not all(0 <= c <= 255 for c in self.background):
            bad("background", "need an (r, g, b) triple of 0..255")
        if not 0 <= self.background_jitter <= 64:
            bad("background_jitter", "need 0..64")
        if self.max_attempts < 1:
            bad("max_attempts", "must be >= 1")
        # Every size must fit in every cell (the corners are the tightest).
        r_max = max(self.radius_range(s)[1] for s in self.sizes)
        for axis, extent in (("x", self.width), ("y", self.height)):
            lo, hi = self._centre_range(0, extent, r_max)
            if lo > hi:
                bad("cell_margin", f"a {r_max:.1f}px shape cannot fit in a corner cell along {axis}; lower it")

    def radius_range(self, size: str) -> tuple[float, float]:
        """Radius bounds in pixels for a size word."""
        lo, hi = self.small_radius if size == "small" else self.large_radius
        side = min(self.width, self.height)
        return lo * side, hi * side

    def _centre_range(self, index: int, extent: int, radius: float) -> tuple[float, float]:
        """Allowed centre coordinates (on the subpixel grid) in grid column/row ``index``."""
        cell = extent / 3
        margin = self.cell_margin * cell
        lo = max(index * cell + margin, radius + 1)
        hi = min((index + 1) * cell - margin, extent - radius - 1)
        lo, hi = math.ceil(lo * SUBPIXEL) / SUBPIXEL, math.floor(hi * SUBPIXEL) / SUBPIXEL
        # Keep off the exact cell border (cell_margin = 0): a border point belongs to the next cell.
        if hi >= (index + 1) * cell and index < 2:
            hi -= 1 / SUBPIXEL
        return lo, hi


def _fits(new: ShapeSpec, placed: list[ShapeSpec], config: SceneConfig) -> bool:
    a = new.bbox
    for other in placed:
        b = other.bbox
        if config.occlusion == 0:
            g = config.min_gap
            if a[0] < b[2] + g and b[0] < a[2] + g and a[1] < b[3] + g and b[1] < a[3] + g:
                return False
        else:
            iw = min(a[2], b[2]) - max(a[0], b[0])
            ih = min(a[3], b[3]) - max(a[1], b[1])
            if iw > 0 and ih > 0:
                smaller = min(new.radius, other.radius) ** 2 * 4
                if iw * ih > config.occlusion * smaller:
                    return False
    return True


def _random_grid(rng: np.random.Generator, lo: float, hi: float) -> float:
    return int(rng.integers(round(lo * SUBPIXEL), round(hi * SUBPIXEL) + 1)) / SUBPIXEL


def _try_scene(rng: np.random.Generator, config: SceneConfig) -> list[ShapeSpec] | None:
    n = int(rng.integers(config.min_shapes, config.max_shapes + 1))
    cells = rng.permutation(9)[:n]
    placed: list[ShapeSpec] = []
    for cell in cells:
        kind = config.kinds[rng.integers(len(config.kinds))]
        color = config.colors[rng.integers(len(config.colors))]
        size = config.sizes[rng.integers(len(config.sizes))]
        radius = _on_grid(rng.uniform(*config.radius_range(size)))
        xs = config._centre_range(int(cell) % 3, config.width, radius)
        ys = config._centre_range(int(cell) // 3, config.height, radius)
        for _ in range(20):
            cx, cy = _random_grid(rng, *xs), _random_grid(rng, *ys)
            shape = ShapeSpec(kind, color, size, cx, cy, radius, (config.width, config.height))
            if _fits(shape, placed, config):
                placed.append(shape)
                break
        else:
            return None
    return placed


def _random_stroke(rng: np.random.Generator, config: SceneConfig) -> Stroke:
    w, h = config.width, config.height
    x1, y1 = rng.uniform(0, w), rng.uniform(0, h)
    angle, length = rng.uniform(0, 2 * math.pi), rng.uniform(0.1, 0.3) * min(w, h)
    x2, y2 = x1 + length * math.cos(angle), y1 + length * math.sin(angle)
    gray = int(rng.integers(90, 150))
    return Stroke(round(x1, 2), round(y1, 2), round(x2, 2), round(y2, 2), gray, 1)


def generate_scene(rng: np.random.Generator, config: SceneConfig = SceneConfig()) -> Scene:
    """Draw one scene at random. Shapes sit in distinct grid cells, inside the image."""
    for _ in range(config.max_attempts):
        shapes = _try_scene(rng, config)
        if shapes is not None:
            break
    else:
        raise RuntimeError(
            f"could not place {config.min_shapes}-{config.max_shapes} shapes in {config.max_attempts} attempts; "
            "lower max_shapes, the radii or min_gap, or allow occlusion"
        )
    background = config.background
    if config.background_jitter:
        shifts = rng.integers(-config.background_jitter, config.background_jitter + 1, size=3)
        background = tuple(min(255, max(0, c + int(d))) for c, d in zip(background, shifts))
    n_strokes = int(rng.integers(0, config.clutter + 1)) if config.clutter else 0
    clutter = tuple(_random_stroke(rng, config) for _ in range(n_strokes))
    noise_seed = int(rng.integers(2**31)) if config.noise_std > 0 else 0
    return Scene(config.width, config.height, tuple(shapes), background, clutter, config.noise_std, noise_seed)

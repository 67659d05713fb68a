"""Whether an image looks like a shapes-world scene: a plain background and a few flat-coloured shapes.

A built-in stand-in model (shapes-tiny) knows only that world and answers any
image as if it were one; this check lets a service say so beside the answer.
It is a measurement, not a model: a rendered scene is nearly all a few colours
(its background, up to nine shape colours, a thin anti-aliased rim between
them) and nearly every pixel is the same as its neighbours, while a photo
spreads its pixels over gradients, texture and noise. Both must hold: a
grey photo's levels alone are covered by a few common greys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

MEASURED_SIDE = 128  # images are measured at most this many pixels a side (a scene's own size)
LEVELS = 16  # per channel, for finding the most common colours
COMMON_COLOURS = 10  # a background and up to nine shapes
NEAR = 24  # a pixel within this (0-255, per channel) of a common colour belongs to it: mild noise still does
FLAT = 12  # a pixel differing by at most this (per channel) from its right and lower neighbours is flat
MIN_SHARE = 0.7  # rendered scenes measure over 0.9 on both counts (mild noise, clutter, jitter too); photos under 0.5


@dataclass(frozen=True)
class SceneLikeness:
    """What was measured: the shares of pixels within ``NEAR`` of the image's ``COMMON_COLOURS`` most common
    colours, and of flat pixels (within ``FLAT`` of their neighbours)."""

    common_colour_share: float
    flat_share: float

    @property
    def looks_like_shapes(self) -> bool:
        return self.common_colour_share >= MIN_SHARE and self.flat_share >= MIN_SHARE


def scene_likeness(image: Image.Image) -> SceneLikeness:
    """Measure ``image`` (any mode and size; it is reduced to ``MEASURED_SIDE`` a side first)."""
    small = image.convert("RGB")
    if max(small.size) > MEASURED_SIDE:
        small.thumbnail((MEASURED_SIDE, MEASURED_SIDE), Image.Resampling.NEAREST)  # no blending of flat regions
    pixels = np.asarray(small, dtype=np.int16).reshape(-1, 3)
    step = 256 // LEVELS
    bins = (pixels // step) @ np.array([LEVELS * LEVELS, LEVELS, 1])
    counts = np.bincount(bins, minlength=LEVELS**3)
    common = np.argsort(counts)[::-1][:COMMON_COLOURS]
    common = common[counts[common] > 0]
    centres = np.stack([common // (LEVELS * LEVELS), common // LEVELS % LEVELS, common % LEVELS], axis=1)
    centres = centres * step + step // 2  # (K, 3)
    distance = np.abs(pixels[:, None, :] - centres[None, :, :]).max(axis=2).min(axis=1)  # (N,)
    grid = pixels.reshape(small.height, small.width, 3)
    right = np.abs(np.diff(grid, axis=1)).max(axis=2)[:-1, :]  # (H-1, W-1)
    below = np.abs(np.diff(grid, axis=0)).max(axis=2)[:, :-1]
    flat = (np.maximum(right, below) <= FLAT).mean() if right.size else 1.0
    return SceneLikeness(float((distance <= NEAR).mean()), float(flat))

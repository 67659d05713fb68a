"""Bjøntegaard delta rate: how many more or fewer bytes one rate–quality curve needs than another at equal quality.

Each curve is a set of ``(bytes, quality)`` points. Log-bytes is interpolated as a
function of quality over the quality range both curves cover, and the mean
difference is turned into a percentage: ``-50`` means the test curve needs half
the bytes of the anchor for the same quality. Bjøntegaard fitted cubics; with the
few, noisy points of a codec sweep a cubic can swing, so this interpolates
piecewise linearly between the points of each curve's upper envelope (points
that buy no quality for more bytes are dropped), the robust variant many video
tools use. ``None`` when the curves do not overlap in quality.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def curve_of(codec: str) -> str:
    """The rate–quality curve a row's codec belongs to: ``learned`` (every trained operating point), ``jpeg``,
    ``webp``, or the codec itself (a single point: fp16, q8, pca, an untrained codec)."""
    if codec.startswith("learned") and codec != "learned:untrained":
        return "learned"
    return codec.split("-q")[0]


def envelope(points: Sequence[tuple[float, float]]) -> np.ndarray:
    """The points ``(bytes, quality)`` sorted by bytes, keeping only those that raise the quality: ``(n, 2)``."""
    kept: list[tuple[float, float]] = []
    for rate, quality in sorted((float(r), float(q)) for r, q in points if r > 0):
        if not kept or quality > kept[-1][1]:
            kept.append((rate, quality))
    return np.asarray(kept, dtype=np.float64).reshape(-1, 2)


def bd_rate(anchor: Sequence[tuple[float, float]], test: Sequence[tuple[float, float]]) -> float | None:
    """Percent bytes ``test`` needs relative to ``anchor`` at equal quality, averaged over their common quality range."""
    a, t = envelope(anchor), envelope(test)
    if len(a) < 2 or len(t) < 2:
        return None
    low, high = max(a[0, 1], t[0, 1]), min(a[-1, 1], t[-1, 1])
    if high <= low:
        return None
    grid = np.linspace(low, high, 200)
    log_a = np.interp(grid, a[:, 1], np.log(a[:, 0]))
    log_t = np.interp(grid, t[:, 1], np.log(t[:, 0]))
    return float((np.exp(np.trapezoid(log_t - log_a, grid) / (high - low)) - 1) * 100)

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


BEST_PIXELS = "best-pixels"  # the anchor made of every pixel peer's points: the best of them at each quality


def curve_of(codec: str) -> str:
    """The rate–quality curve a row's codec belongs to: ``learned`` (every trained operating point of the feature
    codec), ``learned-pixels`` (every point of the pixel codec), a hand codec's family at one size and speed
    (``avif``, ``avif@32``, ``avif-s0``, ``webp``, ``jpeg``), or the codec itself (a single point: fp16, q8, pca, an
    untrained codec)."""
    if codec.startswith("learned-pixels"):
        return "learned-pixels"
    if codec.startswith("learned") and codec != "learned:untrained":
        return "learned"
    return codec.split("-q")[0]


def packed_name(name: str, pack: int = 1, spread: int = 0) -> str:
    """A codec's (or curve's) name with its packing when frames travel in groups of ``pack``, and its spreading
    when their datagrams go out ``spread`` slots apart."""
    return name + (f" packed {pack}" if pack != 1 else "") + (f" spread {spread}" if spread else "")


def envelope(points: Sequence[tuple[float, float]]) -> np.ndarray:
    """The points ``(bytes, quality)`` sorted by bytes, keeping only those that raise the quality: ``(n, 2)``.

    Given the points of several codecs it is their pareto front, the best of them at each quality (the
    ``best-pixels`` anchor)."""
    kept: list[tuple[float, float]] = []
    for rate, quality in sorted((float(r), float(q)) for r, q in points if r > 0):
        if not kept or quality > kept[-1][1]:
            kept.append((rate, quality))
    return np.asarray(kept, dtype=np.float64).reshape(-1, 2)


def quality_range(points: Sequence[tuple[float, float]]) -> list[float]:
    """``[lowest, highest]`` quality on a curve's envelope: the range ``bd_rate`` integrates over."""
    front = envelope(points)
    return [float(front[0, 1]), float(front[-1, 1])] if len(front) else []


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


FEATURE_CURVE = "learned"
_METRICS = ("exact_match", "map50", "cider", "agreement")


def bd_rates(results) -> list[dict]:
    """BD-rate of the learned feature curve against each pixel peer family's curve and against ``best-pixels`` (the
    pareto front of every pixel point), per task, channel point (loss, burst, SNR) and datagram overhead.

    ``results`` are :class:`~semlink.evaluation.runner.EvalResult` rows; each answer is a dict with ``task``,
    ``loss``, ``burst``, ``snr_db``, ``datagram_overhead``, ``test``, ``anchor``, ``metric``, ``bd_rate`` (percent;
    None where the curves share no quality range), ``test_quality`` and ``anchor_quality`` (each envelope's quality
    range: where they do not overlap, they say which curve is above) and ``anchor_points`` (the anchor's points on
    its front). Rows of several packings (``pack``) of one codec are points of the same curve, so each curve is
    taken at its best packing at each quality."""
    groups: dict[tuple, list] = {}
    for r in results:
        if r.quality == r.quality:
            groups.setdefault((r.task, r.loss, r.burst, r.snr_db, r.datagram_overhead), []).append(r)
    rates = []
    for (task, loss, burst, snr, overhead), rows in groups.items():
        learned = [r for r in rows if r.domain == "features" and curve_of(r.codec) == FEATURE_CURVE]
        if len(learned) < 2:
            continue
        metric = next(k for k in _METRICS if k in learned[0].metrics)
        pixels = [r for r in rows if r.domain == "pixels" and metric in r.metrics]
        anchors: dict[str, list] = {}
        for r in pixels:
            anchors.setdefault(curve_of(r.codec), []).append(r)
        if pixels:
            anchors[BEST_PIXELS] = pixels
        test = [(r.wire_bytes, r.metrics[metric]) for r in learned]
        for anchor, points in sorted(anchors.items()):
            curve = [(r.wire_bytes, r.metrics[metric]) for r in points]
            front = envelope(curve)
            used = sorted(packed_name(r.codec, r.pack, r.spread) for r in points
                          if (r.wire_bytes, r.metrics[metric]) in set(map(tuple, front)))
            rates.append({"task": task, "loss": loss, "burst": burst, "snr_db": snr, "datagram_overhead": overhead,
                          "test": FEATURE_CURVE, "anchor": anchor, "metric": metric,
                          "bd_rate": bd_rate(curve, test), "test_quality": quality_range(test),
                          "anchor_quality": quality_range(curve), "anchor_points": used})
    return rates

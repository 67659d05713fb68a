"""BD-rate: half the bytes at every quality is -50%, curves that never meet in quality have none."""

from __future__ import annotations

import pytest

from semlink.cli.eval import _codec_specs
from semlink.evaluation.bd_rate import bd_rate, curve_of, envelope

ANCHOR = [(100, 0.80), (150, 0.90), (200, 0.95), (400, 0.97)]


def test_half_the_bytes_everywhere_is_minus_fifty_percent():
    assert bd_rate(ANCHOR, [(r / 2, q) for r, q in ANCHOR]) == pytest.approx(-50.0, abs=1e-6)
    assert bd_rate(ANCHOR, ANCHOR) == pytest.approx(0.0, abs=1e-9)
    assert bd_rate(ANCHOR, [(r * 2, q) for r, q in ANCHOR]) == pytest.approx(100.0, abs=1e-6)


def test_no_overlap_or_too_few_points_gives_none():
    assert bd_rate(ANCHOR, [(10, 0.99), (20, 0.995)]) is None
    assert bd_rate(ANCHOR, [(50, 0.9)]) is None


def test_points_that_buy_no_quality_leave_the_envelope():
    assert envelope([(300, 0.9), (100, 0.8), (200, 0.85), (250, 0.84)]).tolist() == [
        [100, 0.8], [200, 0.85], [300, 0.9]]


def test_curves_and_operating_points():
    assert [curve_of(c) for c in ("learned", "learned:rate20", "learned:untrained", "webp-q30", "fp16")] == [
        "learned", "learned", "learned:untrained", "webp", "fp16"]
    specs = _codec_specs("learned:all,fp16", "shapes-tiny")
    assert specs[0] == "learned" and specs[-1] == "fp16"
    assert {"learned:rate1", "learned:rate20", "learned:rate50", "learned:rate120"} <= set(specs)

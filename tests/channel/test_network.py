"""Network impairments: the token bucket, the seeded planner, and the asyncio delay line."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from semlink.channel.network import DelayLine, Network, NetworkConfig, TokenBucket


@pytest.mark.parametrize("bad, field", [
    ({"delay_ms": -1.0}, "delay_ms"),
    ({"jitter_ms": float("nan")}, "jitter_ms"),
    ({"duplicate": 1.5}, "duplicate"),
    ({"reorder": -0.1}, "reorder"),
    ({"burst_bytes": 0}, "burst_bytes"),
    ({"seed": -3}, "seed"),
])
def test_config_names_the_bad_field(bad, field):
    with pytest.raises(ValueError, match=field):
        NetworkConfig(**bad)


def test_token_bucket_spends_its_burst_then_paces_at_the_rate():
    bucket = TokenBucket(rate_bytes_per_s=1000.0, burst_bytes=1000)
    departures = [bucket.departure(500, now=0.0) for _ in range(10)]
    assert departures[:2] == [0.0, 0.0]  # the burst pays for two
    assert np.allclose(np.diff(departures[1:]), 0.5)  # then 500 B per 0.5 s
    # an idle second refills the bucket (up to the burst), so the next one leaves at once
    assert bucket.departure(500, now=departures[-1] + 1.0) == pytest.approx(departures[-1] + 1.0)


def test_unlimited_bucket_never_waits():
    bucket = TokenBucket(0.0, 1)
    assert bucket.departure(10**9, now=3.0) == 3.0


def test_plan_delay_and_jitter_stay_in_range_and_in_order():
    net = Network(NetworkConfig(delay_ms=50, jitter_ms=20, seed=1))
    absolute = [net.plan(1000, now=i * 0.001).release_at[0] for i in range(500)]
    delays = [r - i * 0.001 for i, r in enumerate(absolute)]
    assert all(0.030 - 1e-9 <= d <= 0.070 + 0.001 for d in delays)  # + 1 ms: held back to keep order
    assert absolute == sorted(absolute)  # jitter alone never reorders


def test_plan_is_seeded():
    cfg = NetworkConfig(delay_ms=10, jitter_ms=5, duplicate=0.3, reorder=0.3, seed=42)

    def plans(net):
        return [net.plan(100, i * 0.01) for i in range(200)]

    assert plans(Network(cfg)) == plans(Network(cfg))
    net = Network(cfg)
    first = plans(net)
    net.reset()
    assert plans(net) == first
    assert plans(Network(NetworkConfig(**{**cfg.to_dict(), "seed": 43}))) != first


def test_duplicate_and_reorder_rates():
    n = 4000
    net = Network(NetworkConfig(duplicate=0.2, reorder=0.1, seed=5))
    plans = [net.plan(100, float(i)) for i in range(n)]
    dup = sum(len(p.release_at) == 2 for p in plans) / n
    held = sum(p.held for p in plans) / n
    assert abs(dup - 0.2) < 5 * (0.2 * 0.8 / n) ** 0.5
    assert abs(held - 0.1) < 5 * (0.1 * 0.9 / n) ** 0.5


def run_line(config: NetworkConfig, count: int, gap_s: float = 0.0):
    """Push ``count`` items through a DelayLine; returns [(item, delay_s)] in delivery order."""
    delivered = []

    async def main():
        line = DelayLine(Network(config), lambda item, delay: delivered.append((item, delay)))
        for i in range(count):
            line.push(i, 100)
            await asyncio.sleep(gap_s)
        for _ in range(400):
            if len(line) == 0:
                break
            await asyncio.sleep(0.01)
        return line

    line = asyncio.run(main())
    return delivered, line


def test_delay_line_without_impairments_delivers_at_once_in_order():
    delivered, _ = run_line(NetworkConfig(), 50)
    assert [i for i, _ in delivered] == list(range(50))
    assert all(d == 0.0 for _, d in delivered)


def test_delay_line_delays():
    delivered, _ = run_line(NetworkConfig(delay_ms=40), 5)
    assert [i for i, _ in delivered] == list(range(5))
    assert all(d >= 0.039 for _, d in delivered)


def test_delay_line_reorders_and_duplicates_but_loses_nothing():
    delivered, line = run_line(NetworkConfig(duplicate=0.2, reorder=0.2, hold_ms=50, seed=3), 100, gap_s=0.001)
    items = [i for i, _ in delivered]
    assert set(items) == set(range(100))
    assert len(items) == 100 + line.counts["duplicated"]
    assert line.counts["reordered"] > 0 and items != sorted(items)


def test_delay_line_clear_returns_waiting_items():
    async def main():
        line = DelayLine(Network(NetworkConfig(delay_ms=1000)), lambda item, delay: None)
        for i in range(3):
            line.push(i, 10)
        return sorted(line.clear()), len(line)

    assert asyncio.run(main()) == ([0, 1, 2], 0)

"""Spreading datagrams over time: every datagram sent once, a unit's in order and ``S`` slots apart; what
arrives is each unit's own; under loss bursts far fewer frames lose every datagram, and nothing is added."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semlink.channel import Channel, ChannelConfig
from semlink.wire.carry import carry_frames
from semlink.wire.spread import MAX_SPREAD, spread_order, transmit_spread
from tests.wire.test_convert import SESSION, frame_of


def bursts(seed: int) -> Channel:
    """20% loss in bursts of mean 4 (Gilbert: everything lost in Bad), the eval's bursty channel."""
    r = 1 / 4
    return Channel(ChannelConfig(loss="gilbert_elliott", ge_p=0.2 * r / 0.8, ge_r=r, ge_h=0.0, ge_k=1.0, seed=seed))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=12), st.integers(0, MAX_SPREAD))
def test_every_datagram_goes_once_each_unit_in_order_and_spread_slots_apart(counts, spread):
    order = spread_order(counts, spread)
    assert sorted(order) == [(u, j) for u, n in enumerate(counts) for j in range(n)]
    at = {pair: i for i, pair in enumerate(order)}
    for u, n in enumerate(counts):
        positions = [at[(u, j)] for j in range(n)]
        assert positions == sorted(positions)
        for j in range(n - 1):  # the first datagrams of the units starting in the slots between go between
            starting = [(v, 0) for v in range(u + spread * j + 1, min(u + spread * (j + 1) + 1, len(counts)))
                        if counts[v]]
            assert all(positions[j] < at[p] < positions[j + 1] for p in starting)


def test_no_spread_is_each_unit_back_to_back():
    assert spread_order([2, 3, 1], 0) == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 0)]
    assert spread_order([2, 2, 2], 1) == [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (2, 1)]
    with pytest.raises(ValueError, match="spread must be 0 to 16"):
        spread_order([1], MAX_SPREAD + 1)


def test_what_arrives_is_each_units_own_in_its_order():
    units = [[bytes([u, j]) * 5 for j in range(4)] for u in range(30)]
    for channel in (None, Channel(ChannelConfig(loss="bernoulli", loss_p=0.3, seed=1))):
        for arrived, report in transmit_spread(units, channel, spread=2):
            assert report.packets_in == 4
            assert len(arrived) == 4 - report.packets_dropped
            assert len({d[0] for d in arrived}) <= 1 and [d[1] for d in arrived] == sorted(d[1] for d in arrived)


def _wholly_lost(spread: int) -> float:
    units = [[bytes([u % 256, j]) for j in range(4)] for u in range(3000)]
    return float(np.mean([not arrived for arrived, _ in transmit_spread(units, bursts(seed=5), spread)]))


def test_under_bursts_a_frame_rarely_loses_every_datagram_once_they_are_spread():
    """At 20% loss in bursts of mean 4, about 8% of back-to-back 4-datagram frames lose all four; a frame period
    apart, about as few as under random loss (0.2%)."""
    back_to_back, spread = _wholly_lost(0), _wholly_lost(1)
    assert back_to_back > 0.05 and spread < 0.02


def test_spread_frames_carry_the_same_bytes_and_arrive_whole_on_a_clean_link():
    rng = np.random.default_rng(0)
    frames = [frame_of(rng.integers(0, 256, size=SESSION.shape, dtype=np.uint8), seq=40 + i) for i in range(6)]
    for pack in (1, 2):
        plain = carry_frames(frames, SESSION, None, pack=pack)
        spread = carry_frames(frames, SESSION, None, pack=pack, spread=3)
        assert [c.wire_bytes for c in spread] == [c.wire_bytes for c in plain]
        assert [c.received.packets for c in spread] == [f.packets for f in frames]


def test_spread_frames_under_bursts_lose_slices_not_whole_frames():
    rng = np.random.default_rng(1)
    frames = [frame_of(rng.integers(0, 256, size=SESSION.shape, dtype=np.uint8), seq=i) for i in range(400)]
    total = frames[0].total_packets
    whole_loss = {}
    for spread in (0, 1):
        carried = carry_frames(frames, SESSION, bursts(seed=8), spread=spread)
        whole_loss[spread] = np.mean([len(c.received.lost_indices()) == total for c in carried])
    assert whole_loss[1] < whole_loss[0] / 2

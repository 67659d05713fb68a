"""Erasure channels: realised loss rates and burst lengths against the analytic ones, state, seeding, row erasure."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from semlink.channel import Bernoulli, GilbertElliott

N = 200_000

GE_CASES = [
    GilbertElliott(p=0.01, r=0.1),  # simple Gilbert: mean burst 1 / r = 10
    GilbertElliott(p=0.05, r=0.3, h=0.1, k=0.98),  # losses in both states
    GilbertElliott(p=0.2, r=0.5, h=0.5, k=1.0),
]


def markov_tolerance(model: GilbertElliott, n: int, sigmas: float = 5.0) -> float:
    """``sigmas`` std of the realised loss rate of ``n`` packets: binomial variance plus the chain's correlation."""
    m, bad = model.mean_loss_rate, model.stationary_bad
    lam = 1.0 - model.p - model.r  # lag-1 autocorrelation of the state
    var = m * (1 - m) + 2 * (model.loss_bad - model.loss_good) ** 2 * bad * (1 - bad) * lam / (1 - lam)
    return sigmas * math.sqrt(var / n)


def netem_reference(model: GilbertElliott, n: int, rng: np.random.Generator) -> np.ndarray:
    """netem's loss_gilb_ell, step by step: decide from the current state, then move."""
    bad = rng.random() < model.stationary_bad
    draws = rng.random((n, 2))
    lost = np.empty(n, dtype=bool)
    for t in range(n):
        if not bad:
            lost[t] = draws[t, 0] < 1 - model.k
            bad = draws[t, 1] < model.p
        else:
            lost[t] = draws[t, 0] > model.h
            bad = not draws[t, 1] < model.r
    return lost


@pytest.mark.parametrize("p", [0.0, 0.03, 0.3, 1.0])
def test_bernoulli_realised_loss_rate(p, rng, binomial_tolerance):
    lost = Bernoulli(p).sample_lost(N, rng)
    assert lost.dtype == bool and lost.shape == (N,)
    assert abs(lost.mean() - p) <= binomial_tolerance(p, N)


def test_bernoulli_burst_length(rng, burst_lengths):
    model = Bernoulli(0.4)
    bursts = burst_lengths(model.sample_lost(N, rng))
    assert model.mean_burst_length == pytest.approx(1 / 0.6)
    assert abs(bursts.mean() - model.mean_burst_length) <= 5 * bursts.std() / math.sqrt(bursts.size)


@pytest.mark.parametrize("model", GE_CASES)
def test_gilbert_elliott_realised_loss_rate(model, rng):
    lost = model.sample_lost(N, rng)
    assert abs(lost.mean() - model.mean_loss_rate) <= markov_tolerance(model, N)


@pytest.mark.parametrize("model", GE_CASES)
def test_gilbert_elliott_realised_burst_length(model, rng, burst_lengths):
    bursts = burst_lengths(model.sample_lost(N, rng))
    assert abs(bursts.mean() - model.mean_burst_length) <= 5 * bursts.std() / math.sqrt(bursts.size)


def test_simple_gilbert_analytics_match_the_textbook():
    model = GilbertElliott(p=0.01, r=0.1)
    assert model.mean_loss_rate == pytest.approx(0.01 / 0.11)
    assert model.mean_burst_length == pytest.approx(10.0)
    # Loss in both states: bursts are shorter than a Bad sojourn and the rate mixes both states.
    mixed = GilbertElliott(p=0.01, r=0.1, h=0.5, k=0.9)
    assert mixed.mean_loss_rate == pytest.approx((0.1 * 0.1 + 0.01 * 0.5) / 0.11)
    assert mixed.mean_burst_length < 10.0


@pytest.mark.parametrize("model", GE_CASES)
def test_gilbert_elliott_matches_netem_step_by_step(model, burst_lengths):
    n = 100_000
    fast = model.sample_lost(n, np.random.default_rng(1))
    slow = netem_reference(model, n, np.random.default_rng(2))
    assert abs(fast.mean() - slow.mean()) <= math.sqrt(2) * markov_tolerance(model, n)
    fast_b, slow_b = burst_lengths(fast), burst_lengths(slow)
    spread = math.hypot(fast_b.std() / math.sqrt(fast_b.size), slow_b.std() / math.sqrt(slow_b.size))
    assert abs(fast_b.mean() - slow_b.mean()) <= 5 * spread


def test_gilbert_elliott_state_carries_across_calls(burst_lengths):
    # Long bursts (mean 10) survive being sampled 5 packets at a time; redrawing the
    # state each call would give near-independent losses with mean burst ~1.1.
    model = GilbertElliott(p=0.01, r=0.1)
    process = model.start(np.random.default_rng(7))
    lost = np.concatenate([process.sample_lost(5) for _ in range(4_000)])
    bursts = burst_lengths(lost)
    assert abs(bursts.mean() - 10.0) <= 5 * math.sqrt(0.9 / 0.01) / math.sqrt(bursts.size)


def test_gilbert_elliott_absorbing_states(rng):
    stuck_bad = GilbertElliott(p=0.5, r=0.0).start(rng, bad=True)
    assert stuck_bad.sample_lost(100).all() and stuck_bad.sample_lost(100).all()
    stuck_good = GilbertElliott(p=0.0, r=0.5).start(rng, bad=False)
    assert not stuck_good.sample_lost(1000).any()
    assert GilbertElliott(p=0.5, r=0.0).mean_burst_length == math.inf


def test_sampling_is_seeded():
    model = GilbertElliott(p=0.05, r=0.3, h=0.1, k=0.98)
    a = model.sample_lost(1000, np.random.default_rng(3))
    b = model.sample_lost(1000, np.random.default_rng(3))
    c = model.sample_lost(1000, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_drop_keeps_survivors_in_order_and_reports(rng, make_frame):
    frame = make_frame([10] * 500, rng)
    kept, report = Bernoulli(0.3).start(np.random.default_rng(0)).drop(frame.packets)
    indices = [p.index for p in kept]
    assert indices == sorted(indices)
    assert report.packets_in == 500 and report.packets_dropped == 500 - len(kept)
    assert 0 < report.packets_dropped < 500


@pytest.mark.parametrize("model", [Bernoulli(0.2), GE_CASES[1]])
def test_tensor_view_realised_loss_rate(model):
    generator = torch.Generator().manual_seed(0)
    lost = model.sample_lost_tensor(4000, 50, generator)
    assert lost.shape == (4000, 50) and lost.dtype == torch.bool
    tolerance = markov_tolerance(model, lost.numel()) if isinstance(model, GilbertElliott) else 5 * math.sqrt(0.16 / lost.numel())
    assert abs(lost.float().mean().item() - model.mean_loss_rate) <= tolerance


def test_tensor_view_burst_length_matches_analytic(burst_lengths):
    model = GilbertElliott(p=0.01, r=0.1)
    lost = model.sample_lost_tensor(1000, 200, torch.Generator().manual_seed(0)).numpy()
    bursts = np.concatenate([burst_lengths(row) for row in lost])
    # Bursts cut at frame edges are shorter; with 200 packets per frame that bias is ~5%.
    assert bursts.mean() == pytest.approx(model.mean_burst_length, rel=0.15)
    assert bursts.mean() > 5.0


def test_erase_rows_zeroes_whole_packets_and_passes_gradient_on_kept_rows():
    x = torch.randn(64, 3, 7, 5, requires_grad=True)
    x_hat, lost_rows = Bernoulli(0.4).erase_rows(x, rows_per_packet=3, generator=torch.Generator().manual_seed(1))
    assert x_hat.shape == x.shape and lost_rows.shape == (64, 7) and lost_rows.dtype == torch.bool
    # Rows 0-2, 3-5 and the short packet 6 share a fate.
    assert (lost_rows[:, 0:3] == lost_rows[:, :1]).all() and (lost_rows[:, 3:6] == lost_rows[:, 3:4]).all()
    assert lost_rows.any() and (~lost_rows).any()
    mask = lost_rows[:, None, :, None].expand_as(x)
    assert (x_hat[mask] == 0).all()
    assert torch.equal(x_hat[~mask], x[~mask])
    weights = torch.randn_like(x)
    (x_hat * weights).sum().backward()
    assert torch.equal(x.grad[~mask], weights[~mask])
    assert (x.grad[mask] == 0).all()


def test_erase_rows_is_seeded():
    x = torch.ones(8, 2, 12, 2)
    model = GilbertElliott(p=0.2, r=0.3)
    _, a = model.erase_rows(x, 2, torch.Generator().manual_seed(5))
    _, b = model.erase_rows(x, 2, torch.Generator().manual_seed(5))
    _, c = model.erase_rows(x, 2, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Bernoulli(1.5), r"p must be in \[0, 1\], got 1.5"),
        (lambda: Bernoulli(float("nan")), r"p must be in \[0, 1\]"),
        (lambda: GilbertElliott(0.1, -0.2), r"r must be in \[0, 1\], got -0.2"),
        (lambda: GilbertElliott(0.1, 0.2, h=2), r"h must be in \[0, 1\], got 2"),
        (lambda: GilbertElliott(0.0, 0.0), "p and r are both 0"),
        (lambda: Bernoulli("0.1"), "p must be a number"),
    ],
)
def test_invalid_parameters_are_named(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_erase_rows_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        Bernoulli(0.1).erase_rows(torch.zeros(2, 3, 4), 1)
    with pytest.raises(ValueError, match="rows_per_packet must be >= 1"):
        Bernoulli(0.1).erase_rows(torch.zeros(2, 3, 4, 4), 0)


@pytest.mark.parametrize("loss, burst", [(0.2, 4.0), (0.05, 1.5), (0.5, 10.0), (0.2, 1.0)])
def test_bursts_lose_the_share_asked_in_runs_of_the_length_asked(loss, burst, burst_lengths):
    model = GilbertElliott.bursts(loss, burst)
    assert model.mean_loss_rate == pytest.approx(loss) and 1 / model.r == pytest.approx(burst)
    lost = model.sample_lost(N, np.random.default_rng(0))
    assert lost.mean() == pytest.approx(loss, abs=0.01) and burst_lengths(lost).mean() == pytest.approx(burst, rel=0.05)


@pytest.mark.parametrize("loss, burst, says", [(1.0, 4.0, "in [0, 1)"), (0.2, 0.5, "at least 1 packet")])
def test_bursts_that_cannot_be_are_refused(loss, burst, says):
    with pytest.raises(ValueError, match=re.escape(says)):
        GilbertElliott.bursts(loss, burst)

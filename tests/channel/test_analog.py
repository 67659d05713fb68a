"""Analog transmission: realised SNR, per-sample power normalisation, Rayleigh fading, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from semlink.channel import AWGN, Rayleigh


def realised_snr_db(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Per-sample signal power over error power, dB, for ``(B, ...)`` tensors."""
    dims = tuple(range(1, x.dim()))
    return 10 * torch.log10(x.pow(2).mean(dims) / (x_hat - x).pow(2).mean(dims))


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 20.0])
def test_awgn_realised_snr_matches(snr_db):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 16, 8, 8, generator=g) * 7 + 3
    x_hat = AWGN(snr_db).transmit(x, g)
    # 65536 noise samples: the noise power is known to ~0.6%, i.e. ~0.025 dB.
    noise_power = (x_hat - x).pow(2).mean((1, 2, 3)) / x.pow(2).mean((1, 2, 3))
    assert 10 * math.log10(noise_power.mean().item()) == pytest.approx(-snr_db, abs=0.15)


def test_power_is_normalised_per_sample():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 16, 16, generator=g)
    x[1] *= 1000.0  # a batch-wide normalisation would drown sample 0 in sample 1's noise
    snr = realised_snr_db(x, AWGN(10.0).transmit(x, g))
    assert torch.allclose(snr, torch.full((2,), 10.0), atol=0.6)


def test_scaling_the_input_scales_the_output():
    x = torch.randn(3, 2, 4, 4)
    a = AWGN(5.0).transmit(x, torch.Generator().manual_seed(2))
    b = AWGN(5.0).transmit(x * 50, torch.Generator().manual_seed(2))
    assert torch.allclose(b, a * 50, rtol=1e-5, atol=1e-4)


def test_awgn_is_differentiable_and_seeded():
    x = torch.randn(4, 3, 5, 5, requires_grad=True)
    a = AWGN(10.0).transmit(x, torch.Generator().manual_seed(3))
    a.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    # Close to the identity at 10 dB: the noise is small next to the signal.
    assert (x.grad - 1).abs().mean() < 0.2
    b = AWGN(10.0).transmit(x.detach(), torch.Generator().manual_seed(3))
    c = AWGN(10.0).transmit(x.detach(), torch.Generator().manual_seed(4))
    assert torch.equal(a.detach(), b) and not torch.equal(b, c)


def test_awgn_array_view_reports_its_snr():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((100, 1000)) * 3).astype(np.float32)
    x_hat, report = AWGN(12.0).transmit_array(x, rng)
    assert x_hat.dtype == np.float32 and x_hat.shape == x.shape
    assert report.symbols == 100_000 and report.gain == 1.0
    assert report.signal_power == pytest.approx(9.0, rel=0.02)
    assert report.realised_snr_db == pytest.approx(12.0, abs=0.05)
    measured = 10 * math.log10(np.mean(x.astype(np.float64) ** 2) / np.mean((x_hat - x).astype(np.float64) ** 2))
    assert measured == pytest.approx(report.realised_snr_db, abs=1e-3)


def test_rayleigh_gain_has_unit_mean_power():
    gain = Rayleigh(10.0).sample_gain((200_000,), torch.Generator().manual_seed(0))
    assert (gain >= 0).all()
    assert gain.pow(2).mean().item() == pytest.approx(1.0, abs=5 * 1 / math.sqrt(200_000))
    # |h|^2 ~ Exp(1): P(|h|^2 < 0.1) = 1 - exp(-0.1).
    assert (gain.pow(2) < 0.1).float().mean().item() == pytest.approx(1 - math.exp(-0.1), abs=0.004)


def test_rayleigh_zero_forcing_noise_is_awgn_divided_by_the_gain():
    # Per sample, ZF leaves error power sigma^2 / |h|^2; inverting it recovers |h|^2 ~ Exp(1).
    snr_db = 10.0
    g = torch.Generator().manual_seed(5)
    x = torch.randn(4000, 1, 16, 16, generator=g)
    x_hat = Rayleigh(snr_db).transmit(x, g)
    error = (x_hat - x).pow(2).mean((1, 2, 3)) / x.pow(2).mean((1, 2, 3))
    gain_sq = 10 ** (-snr_db / 10) / error
    assert gain_sq.median().item() == pytest.approx(math.log(2), rel=0.1)  # median of Exp(1)
    assert gain_sq.mean().item() == pytest.approx(1.0, rel=0.1)


def test_rayleigh_blocks_are_samples_or_rows():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(200, 64, 8, 8, generator=g)
    for block, varies in [("sample", False), ("row", True)]:
        x_hat = Rayleigh(10.0, block=block).transmit(x, torch.Generator().manual_seed(7))
        row_error = (x_hat - x).pow(2).mean((1, 3)).log()  # (B, H)
        spread = row_error.std(dim=1).median().item()
        # Within one gain, 512 symbols per row give log-error spread ~ sqrt(2/512) ~ 0.06.
        assert (spread > 0.5) is varies, (block, spread)


def test_mmse_beats_zero_forcing_in_deep_fades():
    x = torch.randn(2000, 1, 8, 8)
    zf = Rayleigh(0.0, equalizer="zf").transmit(x, torch.Generator().manual_seed(8))
    mmse = Rayleigh(0.0, equalizer="mmse").transmit(x, torch.Generator().manual_seed(8))
    assert (mmse - x).pow(2).mean() < 0.5 * (zf - x).pow(2).mean()


def test_rayleigh_array_view_reports_gain_and_noise():
    rng = np.random.default_rng(3)
    reports = [Rayleigh(8.0).transmit_array(rng.standard_normal(512), rng)[1] for _ in range(2000)]
    gains = np.array([r.gain for r in reports])
    assert np.mean(gains**2) == pytest.approx(1.0, abs=0.1)
    assert np.mean([r.noise_power for r in reports]) == pytest.approx(10 ** -0.8, rel=0.02)
    r = reports[0]
    assert r.realised_snr_db == pytest.approx(10 * math.log10(r.gain**2 / r.noise_power))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: AWGN(float("inf")), "snr_db must be finite"),
        (lambda: Rayleigh(10.0, block="column"), "block must be one of 'sample', 'row'"),
        (lambda: Rayleigh(10.0, equalizer="ml"), "equalizer must be one of 'zf', 'mmse'"),
    ],
)
def test_invalid_parameters_are_named(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_row_blocks_need_a_4d_latent():
    with pytest.raises(ValueError, match="block='row' needs x of shape"):
        Rayleigh(10.0, block="row").transmit(torch.zeros(2, 3))


def test_half_precision_inputs_do_not_overflow():
    x = (torch.randn(4, 8, 16, 16) * 500).half()  # mean(x ** 2) ~ 2.5e5, past float16's 65504
    x_hat = AWGN(20.0).transmit(x, torch.Generator().manual_seed(0))
    assert x_hat.dtype == torch.float16 and torch.isfinite(x_hat).all()
    snr = realised_snr_db(x.float(), x_hat.float())
    assert torch.allclose(snr, torch.full((4,), 20.0), atol=0.5)

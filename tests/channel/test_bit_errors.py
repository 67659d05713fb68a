"""Bit errors: BPSK error rates, realised BER, CRC detection, seeding and the erasure view for training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from semlink.channel import BinarySymmetric, ber_bpsk_awgn, ber_bpsk_rayleigh, packet_error_rate, q_function


def differing_bits(a: bytes, b: bytes) -> int:
    return int(np.unpackbits(np.frombuffer(a, np.uint8) ^ np.frombuffer(b, np.uint8)).sum())


@pytest.mark.parametrize(
    "snr_db, expected",
    [(0.0, 0.0786), (4.0, 1.25e-2), (6.0, 2.39e-3), (8.0, 1.91e-4), (10.0, 3.87e-6)],
)
def test_ber_bpsk_awgn_known_values(snr_db, expected):
    assert ber_bpsk_awgn(snr_db) == pytest.approx(expected, rel=5e-3)


@pytest.mark.parametrize("snr_db, expected", [(0.0, 0.1464), (10.0, 0.0233), (20.0, 2.49e-3)])
def test_ber_bpsk_rayleigh_known_values(snr_db, expected):
    assert ber_bpsk_rayleigh(snr_db) == pytest.approx(expected, rel=5e-3)


def test_fading_costs_more_than_awgn_and_both_fall_with_snr():
    snrs = np.arange(-5.0, 20.0, 2.5)
    awgn = [ber_bpsk_awgn(s) for s in snrs]
    rayleigh = [ber_bpsk_rayleigh(s) for s in snrs]
    assert all(np.diff(awgn) < 0) and all(np.diff(rayleigh) < 0)
    assert all(r > a for r, a in zip(rayleigh, awgn))
    assert q_function(0.0) == 0.5


def test_from_snr_uses_the_named_fading():
    assert BinarySymmetric.from_snr(6.0).ber == ber_bpsk_awgn(6.0)
    assert BinarySymmetric.from_snr(6.0, "rayleigh").ber == ber_bpsk_rayleigh(6.0)
    with pytest.raises(ValueError, match="fading must be one of 'awgn', 'rayleigh'; got 'rician'"):
        BinarySymmetric.from_snr(6.0, "rician")


def test_packet_error_rate():
    assert packet_error_rate(0.0, 8000) == 0.0
    assert packet_error_rate(1.0, 1) == 1.0
    assert packet_error_rate(1e-3, 1000) == pytest.approx(1 - 0.999**1000)
    assert packet_error_rate(1e-9, 8000) == pytest.approx(8e-6, rel=1e-3)  # small-ber regime ~ bits * ber


def test_realised_ber_matches(make_frame, rng, binomial_tolerance):
    ber = 1e-2
    frame = make_frame([1250] * 100, rng)  # 1e6 bits
    _, report = BinarySymmetric(ber).corrupt(frame.packets, np.random.default_rng(0))
    assert report.bits_total == 1_000_000
    assert abs(report.realised_ber - ber) <= binomial_tolerance(ber, report.bits_total)


def test_flips_are_counted_exactly_and_break_the_crc(make_frame, rng, crc_ok):
    frame = make_frame([200] * 400, rng)
    out, report = BinarySymmetric(2e-4).corrupt(frame.packets, np.random.default_rng(1))
    assert [p.crc32 for p in out] == [p.crc32 for p in frame.packets]  # the CRC field is as sent
    flipped = sum(differing_bits(a.payload, b.payload) for a, b in zip(frame.packets, out))
    corrupted = sum(not crc_ok(p) for p in out)
    assert report.bits_flipped == flipped > 0
    assert report.packets_corrupted == corrupted > 0
    assert corrupted == sum(a.payload != b.payload for a, b in zip(frame.packets, out))
    # The fraction of corrupted packets is the packet error rate of 1600-bit packets.
    per = packet_error_rate(2e-4, 1600)
    assert abs(corrupted / 400 - per) <= 5 * math.sqrt(per * (1 - per) / 400)


def test_corrupt_is_seeded(make_frame, rng):
    frame = make_frame([64] * 50, rng)
    model = BinarySymmetric(1e-2)
    a, ra = model.corrupt(frame.packets, np.random.default_rng(9))
    b, rb = model.corrupt(frame.packets, np.random.default_rng(9))
    c, _ = model.corrupt(frame.packets, np.random.default_rng(10))
    assert a == b and ra == rb and a != c


def test_zero_ber_and_empty_payloads_pass_untouched(make_frame, rng):
    frame = make_frame([0, 16, 0], rng)
    out, report = BinarySymmetric(0.0).corrupt(frame.packets, rng)
    assert out == frame.packets and report.bits_flipped == 0 and report.bits_total == 128


@settings(max_examples=40, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=40), max_size=8),
    ber=st.sampled_from([0.0, 0.01, 0.3, 1.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_payloads_flip_exactly_the_reported_bits(payloads, ber, seed):
    from semlink.channel.model import _Carried

    packets = [_Carried(data) for data in payloads]
    out, report = BinarySymmetric(ber).corrupt(packets, np.random.default_rng(seed))
    assert [len(p.payload) for p in out] == [len(p) for p in payloads]
    assert sum(differing_bits(a, b.payload) for a, b in zip(payloads, out)) == report.bits_flipped
    assert report.bits_total == 8 * sum(map(len, payloads))
    assert report.packets_corrupted == sum(a != b.payload for a, b in zip(payloads, out))
    if ber == 1.0:
        assert report.bits_flipped == report.bits_total


def test_tensor_view_erases_with_the_packet_error_rate():
    ber, bits_per_row = 1e-4, 2000.0
    x = torch.ones(20_000, 1, 5, 1)
    # rows_per_packet=2: packets of 2, 2 and 1 rows, 4000, 4000 and 2000 bits.
    _, lost_rows = BinarySymmetric(ber).erase_rows(x, 2, bits_per_row, torch.Generator().manual_seed(0))
    for row, bits in [(0, 4000), (2, 4000), (4, 2000)]:
        per = packet_error_rate(ber, bits)
        rate = lost_rows[:, row].float().mean().item()
        assert abs(rate - per) <= 5 * math.sqrt(per * (1 - per) / 20_000)
    assert torch.equal(lost_rows[:, 0], lost_rows[:, 1])


def test_tensor_view_gradient_is_identity_on_kept_rows():
    x = torch.randn(32, 2, 6, 3, requires_grad=True)
    x_hat, lost_rows = BinarySymmetric(1e-3).erase_rows(x, 1, 500.0, torch.Generator().manual_seed(2))
    x_hat.sum().backward()
    kept = (~lost_rows)[:, None, :, None].expand_as(x)
    assert lost_rows.any() and kept.any()
    assert (x.grad[kept] == 1).all() and (x.grad[~kept] == 0).all()


@pytest.mark.parametrize("ber, message", [(1.5, r"ber must be in \[0, 1\], got 1.5"), (None, "ber must be a number")])
def test_invalid_ber_is_named(ber, message):
    with pytest.raises(ValueError, match=message):
        BinarySymmetric(ber)

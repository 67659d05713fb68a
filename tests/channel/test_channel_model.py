"""ChannelConfig validation and round trip; Channel's packet and tensor views: rates, CRC, seeding, state."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from semlink.packets import decode_datagram
from semlink.channel import (
    Channel,
    ChannelConfig,
    ChannelReport,
    GilbertElliott,
    ber_bpsk_awgn,
    ber_bpsk_rayleigh,
    packet_error_rate,
)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"loss": "bernoulli", "loss_p": 1.5}, r"loss_p must be in \[0, 1\], got 1.5"),
        ({"loss": "uniform"}, "loss must be one of 'none', 'bernoulli', 'gilbert_elliott'; got 'uniform'"),
        ({"loss_p": 0.1}, "loss_p=0.1 is only used with loss='bernoulli'"),
        ({"loss": "gilbert_elliott", "ge_r": 1.2}, r"ge_r must be in \[0, 1\], got 1.2"),
        ({"loss": "gilbert_elliott", "ge_p": 0.0, "ge_r": 0.0}, "ge_p and ge_r are both 0"),
        ({"ber": -0.1}, r"ber must be in \[0, 1\], got -0.1"),
        ({"ber": 1e-3, "snr_db": 5.0}, "set ber or snr_db, not both"),
        ({"snr_db": float("nan")}, "snr_db must be finite"),
        ({"fading": "rician"}, "fading must be one of 'awgn', 'rayleigh'"),
        ({"analog_snr_db": "10"}, "analog_snr_db must be a number"),
        ({"seed": -1}, "seed must be a non-negative int, got -1"),
        ({"seed": 1.5}, "seed must be a non-negative int"),
    ],
)
def test_config_names_the_bad_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ChannelConfig(**kwargs)


def test_config_round_trips_through_a_dict():
    config = ChannelConfig(loss="gilbert_elliott", ge_p=0.02, ge_r=0.4, ge_h=0.1, snr_db=7.0, fading="rayleigh", seed=3)
    assert ChannelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match=r"unknown channel config keys \['los'\]; valid keys are"):
        ChannelConfig.from_dict({"los": "bernoulli"})


def test_snr_derives_the_ber():
    assert Channel(ChannelConfig(snr_db=4.0)).ber == ber_bpsk_awgn(4.0)
    assert Channel(ChannelConfig(snr_db=4.0, fading="rayleigh")).ber == ber_bpsk_rayleigh(4.0)
    assert Channel(ChannelConfig(ber=1e-3)).ber == 1e-3
    assert Channel().ber == 0.0 and Channel().expected_loss_rate == 0.0


def test_a_clean_channel_passes_everything(make_frame, rng):
    datagrams = make_frame([30] * 10, rng).datagrams()
    out, report = Channel().transmit_datagrams(datagrams)
    assert out == datagrams and report == ChannelReport(packets_in=10)


def test_transmit_datagrams_drops_then_corrupts_every_byte(make_frame, rng, crc_ok):
    channel = Channel(ChannelConfig(loss="bernoulli", loss_p=0.25, ber=3e-4, seed=1))
    total = ChannelReport()
    mismatched = 0
    for frame_id in range(200):
        datagrams = make_frame([93] * 20, rng, frame_id).datagrams(frame_id)  # 100 bytes with header and CRC
        out, report = channel.transmit_datagrams(datagrams)
        assert report.packets_dropped == 20 - len(out)
        assert report.bits_total == 800 * len(out)  # only delivered datagrams meet bit errors, all their bits
        mismatched += sum(not crc_ok(d) for d in out)
        total += report
    assert mismatched == total.packets_corrupted > 0
    assert total.packets_in == 4000
    assert abs(total.realised_loss_rate - 0.25) <= 5 * math.sqrt(0.25 * 0.75 / 4000)
    assert abs(total.realised_ber - 3e-4) <= 5 * math.sqrt(3e-4 / total.bits_total)
    per = packet_error_rate(3e-4, 800)
    delivered = total.packets_delivered
    assert abs(total.packets_corrupted / delivered - per) <= 5 * math.sqrt(per * (1 - per) / delivered)


def test_gilbert_elliott_state_runs_on_across_frames(make_frame, rng, burst_lengths):
    channel = Channel(ChannelConfig(loss="gilbert_elliott", ge_p=0.01, ge_r=0.1, seed=2))
    datagrams, lost = make_frame([1] * 8, rng).datagrams(), []
    for _ in range(1500):
        out, _ = channel.transmit_datagrams(datagrams)
        arrived = {decode_datagram(d, "crc32").index for d in out}
        lost.extend(index not in arrived for index in range(8))
    bursts = burst_lengths(np.array(lost))
    # Bursts of mean 10 span frames of 8; redrawing the state per frame would cut them short.
    assert abs(bursts.mean() - 10.0) <= 5 * math.sqrt(90) / math.sqrt(bursts.size)
    # Loss rate: binomial variance inflated by the chain's correlation (1 + lam) / (1 - lam).
    m, lam = GilbertElliott(0.01, 0.1).mean_loss_rate, 1 - 0.01 - 0.1
    assert abs(np.mean(lost) - m) <= 5 * math.sqrt(m * (1 - m) * (1 + lam) / (1 - lam) / len(lost))


def run_frames(channel, make_frame, n=20):
    rng = np.random.default_rng(0)
    return [channel.transmit_datagrams(make_frame(list(range(50, 66)), rng, i).datagrams(i)) for i in range(n)]


def test_same_seed_same_outcome_and_reset_rewinds(make_frame):
    config = ChannelConfig(loss="gilbert_elliott", ge_p=0.1, ge_r=0.3, ber=1e-3, seed=11)
    first = run_frames(Channel(config), make_frame)
    assert run_frames(Channel(config), make_frame) == first
    assert run_frames(Channel(ChannelConfig.from_dict({**config.to_dict(), "seed": 12})), make_frame) != first
    channel = Channel(config)
    run_frames(channel, make_frame)
    channel.reset()
    assert run_frames(channel, make_frame) == first


def test_loss_pattern_does_not_depend_on_the_ber(make_frame):
    def lost(ber):
        channel = Channel(ChannelConfig(loss="bernoulli", loss_p=0.3, ber=ber, seed=5))
        return [[len(d) for d in out] for out, _ in run_frames(channel, make_frame)]  # sizes name the packets

    assert lost(None) == lost(1e-4) == lost(1e-2)


def test_transmit_tensor_erases_lost_and_corrupted_packets():
    p, ber, bits_per_row, rows = 0.2, 1e-4, 1500.0, 2
    channel = Channel(ChannelConfig(loss="bernoulli", loss_p=p, ber=ber, seed=0))
    x = torch.randn(5000, 2, 8, 3, requires_grad=True)
    x_hat, lost_rows = channel.transmit_tensor(x, rows, bits_per_row)
    assert x_hat.shape == x.shape and lost_rows.shape == (5000, 8)
    expected = 1 - (1 - p) * (1 - packet_error_rate(ber, rows * bits_per_row))
    n = lost_rows[:, ::rows].numel()
    assert abs(lost_rows[:, ::rows].float().mean().item() - expected) <= 5 * math.sqrt(expected * (1 - expected) / n)
    mask = lost_rows[:, None, :, None].expand_as(x)
    assert (x_hat[mask] == 0).all() and torch.equal(x_hat[~mask], x[~mask])
    x_hat.sum().backward()
    assert (x.grad[mask] == 0).all() and (x.grad[~mask] == 1).all()


def test_transmit_tensor_adds_analog_noise_then_erases():
    channel = Channel(ChannelConfig(loss="bernoulli", loss_p=0.5, analog_snr_db=10.0, seed=0))
    x = torch.randn(256, 8, 8, 8)
    x_hat, lost_rows = channel.transmit_tensor(x, 1)
    mask = lost_rows[:, None, :, None].expand_as(x)
    assert (x_hat[mask] == 0).all()
    noise_power = (x_hat - x)[~mask].pow(2).mean() / x.pow(2).mean()
    assert 10 * math.log10(noise_power.item()) == pytest.approx(-10.0, abs=0.2)


def test_transmit_tensor_is_seeded_by_the_config():
    config = ChannelConfig(loss="gilbert_elliott", ge_p=0.2, ge_r=0.4, analog_snr_db=5.0, seed=4)
    x = torch.randn(16, 4, 12, 4)
    a = Channel(config).transmit_tensor(x, 3)
    b = Channel(config).transmit_tensor(x, 3)
    c = Channel(config).transmit_tensor(x, 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_transmit_tensor_needs_bits_per_row_with_bit_errors():
    with pytest.raises(ValueError, match="pass bits_per_row"):
        Channel(ChannelConfig(ber=1e-3)).transmit_tensor(torch.zeros(1, 1, 4, 1), 1)

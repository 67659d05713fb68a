"""ChannelReport: accumulation, serial composition and the realised rates."""

import pytest

from semlink.channel import ChannelReport


def test_add_accumulates_every_count():
    a = ChannelReport(10, 2, 1, 5, 800)
    b = ChannelReport(4, 1, 0, 0, 240)
    assert a + b == ChannelReport(14, 3, 1, 5, 1040)


def test_followed_by_keeps_packets_in_and_sums_the_rest():
    loss = ChannelReport(packets_in=10, packets_dropped=3)
    bits = ChannelReport(packets_in=7, packets_corrupted=2, bits_flipped=4, bits_total=560)
    assert loss.followed_by(bits) == ChannelReport(10, 3, 2, 4, 560)


def test_followed_by_rejects_a_stage_that_saw_other_packets():
    with pytest.raises(ValueError, match="saw 8 packets but this stage delivered 7"):
        ChannelReport(packets_in=10, packets_dropped=3).followed_by(ChannelReport(packets_in=8))


def test_realised_rates():
    report = ChannelReport(packets_in=8, packets_dropped=2, bits_flipped=3, bits_total=300)
    assert report.realised_loss_rate == 0.25
    assert report.realised_ber == 0.01
    assert ChannelReport().realised_loss_rate == 0.0 and ChannelReport().realised_ber == 0.0
    assert report.to_dict()["realised_loss_rate"] == 0.25


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"packets_in": -1}, "packets_in must be a non-negative int"),
        ({"packets_in": 2, "packets_dropped": 3}, "exceeds packets_in"),
        ({"bits_flipped": 2, "bits_total": 1}, "bits_flipped .2. exceeds bits_total .1."),
        ({"bits_total": 1.5}, "bits_total must be a non-negative int"),
    ],
)
def test_invalid_counts_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ChannelReport(**kwargs)

"""Transport overhead: the named presets, parsing a sweep, and the cost added per datagram."""

from __future__ import annotations

import pytest

from semlink.packets.transport import PRESETS, parse_overhead, parse_overheads, with_overhead


def test_presets_are_the_header_sizes():
    assert PRESETS == {"none": 0, "udp-ipv4": 28, "rtp-ipv4": 40, "rtp-ipv6": 60}
    assert parse_overhead("rtp-IPv4") == 40 and parse_overhead(28) == 28 and parse_overhead(" 0 ") == 0


def test_a_sweep_keeps_order_and_drops_repeats():
    assert parse_overheads("0,40,rtp-ipv4,60") == [0, 40, 60]
    assert parse_overheads("") == [0]


@pytest.mark.parametrize("bad", ["-1", "ipx", "4.5", "99999"])
def test_bad_overheads_name_the_valid_forms(bad):
    with pytest.raises(ValueError, match="rtp-ipv4 \\(40\\)"):
        parse_overhead(bad)


def test_overhead_is_paid_per_datagram():
    assert with_overhead(80, 4, 40) == 240  # the learned default's 4 datagrams on RTP/UDP/IPv4
    assert with_overhead(102, 1, 40) == 142 and with_overhead(80, 4, 0) == 80

"""Datagrams: every byte checked, headers as small as promised, sequence numbers extended as RTP does."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semlink.packets import CorruptDatagram, decode_datagram, encode_datagram, extend_seq
from semlink.packets.datagram import MAX_INDEX, overhead_bytes


@given(seq=st.integers(0, 2**32 - 1), index=st.integers(0, MAX_INDEX), payload=st.binary(max_size=300),
       check=st.sampled_from(["crc16", "crc32"]),
       size=st.none() | st.tuples(st.integers(1, 65535), st.integers(1, 65535)))
@settings(max_examples=300, deadline=None)
def test_round_trip(seq, index, payload, check, size):
    data = encode_datagram(seq, index, payload, check, size)
    assert len(data) == len(payload) + overhead_bytes(check, size is not None)
    got = decode_datagram(data, check)
    assert (got.seq16, got.index, got.payload, got.image_size) == (seq % 65536, index, payload, size)


def test_framing_costs_five_bytes_with_crc16():
    assert len(encode_datagram(3, 1, b"x" * 40, "crc16")) == 45
    assert len(encode_datagram(3, 1, b"x" * 40, "crc32")) == 47


@given(payload=st.binary(min_size=1, max_size=64), check=st.sampled_from(["crc16", "crc32"]),
       flips=st.lists(st.integers(0, 10_000), min_size=1, max_size=3, unique=True))
@settings(max_examples=300, deadline=None)
def test_bit_errors_anywhere_are_caught(payload, check, flips):
    """1 to 3 flipped bits anywhere (header, payload or check) never pass: both CRCs detect them at these sizes."""
    data = bytearray(encode_datagram(513, 2, payload, check))
    for f in flips:
        bit = f % (8 * len(data))
        data[bit // 8] ^= 1 << (bit % 8)
    if bytes(data) == encode_datagram(513, 2, payload, check):
        return  # the flips cancelled out
    with pytest.raises(CorruptDatagram):
        decode_datagram(bytes(data), check)


@given(data=st.binary(max_size=40), check=st.sampled_from(["crc16", "crc32"]))
@settings(max_examples=500, deadline=None)
def test_garbage_never_crashes(data, check):
    try:
        got = decode_datagram(data, check)
    except CorruptDatagram:
        return
    assert got.index <= MAX_INDEX


def test_index_and_size_out_of_range_refused():
    with pytest.raises(ValueError, match="index"):
        encode_datagram(0, MAX_INDEX + 1, b"", "crc16")
    with pytest.raises(ValueError, match="uint16"):
        encode_datagram(0, 0, b"", "crc16", (70000, 10))


@pytest.mark.parametrize("highest, seq16, expected", [
    (None, 5, 5), (10, 11, 11), (65535, 0, 65536), (65536 + 3, 65534, 65534), (200_000, 200_000 % 65536, 200_000),
    (70_000, (70_000 + 100) % 65536, 70_100),
])
def test_extend_seq(highest, seq16, expected):
    assert extend_seq(seq16, highest) == expected


def test_extend_seq_follows_a_long_stream():
    highest = None
    for seq in np.arange(0, 300_000, 977):
        got = extend_seq(int(seq) % 65536, highest)
        assert got == seq
        highest = got

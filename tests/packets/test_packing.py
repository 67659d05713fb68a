"""Packing across frames: datagram j of a group holds slice j of each frame; a lost or damaged datagram erases
slice j of every frame in the group and nothing else; each frame pays its share of the framing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semlink.channel import Channel, ChannelConfig
from semlink.packets import packetize
from semlink.packets.datagram import encode_datagram, overhead_bytes
from semlink.packets.datagram import MAX_INDEX
from semlink.packets.packing import (MAX_PACK, MAX_SLICES, MalformedPack, decode_packed, group_index, join_slices,
                                     pack_group, split_slices, unpack_group)
from semlink.wire import frame_datagrams, wire_bytes
from semlink.wire.carry import carry, carry_frames, carry_group
from tests.wire.test_convert import SESSION, frame_of

slices = st.lists(st.lists(st.binary(max_size=300), min_size=1, max_size=4), min_size=1, max_size=MAX_PACK)


@settings(max_examples=200, deadline=None)
@given(slices, st.integers(0, 1 << 20))
def test_every_slice_of_every_frame_arrives_as_it_was_sent(group, first_seq):
    datagrams = pack_group(group, first_seq, "crc16")
    assert len(datagrams) == max(len(s) for s in group)
    got = unpack_group(datagrams, first_seq, [len(s) for s in group], "crc16")
    assert got == [dict(enumerate(s)) for s in group]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=MAX_PACK))
def test_a_payload_splits_back_into_its_parts(parts):
    assert split_slices(join_slices(parts), len(parts)) == parts


def test_a_lost_datagram_erases_its_slice_of_every_frame_and_nothing_else():
    group = [[b"a0", b"a1", b"a2"], [b"b0", b"b1", b"b2"], [b"c0", b"c1", b"c2"], [b"d0", b"d1", b"d2"]]
    datagrams = pack_group(group, 40, "crc16")
    got = unpack_group([datagrams[0], datagrams[2]], 40, [3] * 4, "crc16")
    assert got == [{0: s[0], 2: s[2]} for s in group]


def test_damaged_foreign_or_unsplittable_datagrams_are_lost_to_the_whole_group():
    group = [[b"x" * 10], [b"y" * 10]]
    good = pack_group(group, 7, "crc16")[0]
    flipped = good[:5] + bytes([good[5] ^ 1]) + good[6:]
    other_group = pack_group(group, 8, "crc16")[0]
    unsplittable = encode_datagram(7, group_index(2, 0), bytes([0xFF, 0xFF, 0x7F, 1, 2]), "crc16")  # a length past its end
    other_size = pack_group([[b"x" * 10]] * 3, 7, "crc16")[0]  # the same first frame, a group of 3
    for bad in (flipped, other_group, unsplittable, other_size):
        assert unpack_group([bad], 7, [1, 1], "crc16") == [{}, {}]
    with pytest.raises(MalformedPack):
        split_slices(bytes([200]), 2)
    with pytest.raises(ValueError, match="1 to 15"):
        pack_group([[b""]] * (MAX_PACK + 1), 0, "crc16")
    with pytest.raises(ValueError, match="at most 8 datagrams"):
        pack_group([[b"a"] * (MAX_SLICES + 1)], 0, "crc16")


@settings(max_examples=100, deadline=None)
@given(slices, st.integers(0, 1 << 20), st.sampled_from([None, (640, 480)]))
def test_each_datagram_names_its_group_so_a_receiver_needs_no_word_of_it(group, first_seq, size):
    """The group's size and the slice index share the header's index (no byte added), never the reserved 127."""
    for j, data in enumerate(pack_group(group, first_seq, "crc16", size)):
        packed = decode_packed(data, "crc16")
        assert (packed.seq16, packed.frames, packed.index, packed.image_size) == (
            first_seq % (1 << 16), len(group), j, size)
        assert packed.slices == [s[j] if j < len(s) else b"" for s in group]
        assert group_index(len(group), j) <= MAX_INDEX


def latent(seed):
    return np.random.default_rng(seed).integers(0, 256, size=SESSION.shape, dtype=np.uint8)


def test_packed_frames_arrive_whole_and_each_pays_its_share_of_the_framing():
    frames = [frame_of(latent(i), seq=10 + i) for i in range(4)]
    alone = [carry(f, SESSION, None) for f in frames]
    packed = carry_group(frames, SESSION, None)
    for a, p, f in zip(alone, packed, frames):
        assert p.received.packets == f.packets and p.datagrams == f.total_packets / 4
    framing = overhead_bytes(SESSION.check)
    payload = sum(f.payload_bytes for f in frames)
    assert sum(p.wire_bytes for p in packed) < sum(a.wire_bytes for a in alone)
    assert sum(p.wire_bytes for p in packed) <= payload + frames[0].total_packets * (framing + 3 * 2)
    assert carry_frames(frames, SESSION, None, pack=1)[0].wire_bytes == wire_bytes(frame_datagrams(frames[0], SESSION))


def test_under_loss_every_frame_of_a_group_misses_the_same_slices():
    frames = [frame_of(latent(i), seq=20 + i) for i in range(4)]
    carried = carry_frames(frames, SESSION, Channel(ChannelConfig(loss="bernoulli", loss_p=0.5, seed=3)), pack=4)
    lost = [tuple(c.received.lost_indices()) for c in carried]
    assert len(set(lost)) == 1 and 0 < len(lost[0]) < frames[0].total_packets

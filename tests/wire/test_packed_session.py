"""A packed session (``Session.pack`` > 1) on the wire: the session says so, a group's datagrams parse back into
each of its frames whole, a hop names the group from the headers, and what cannot be one of the session's is refused."""

from dataclasses import replace

import numpy as np
import pytest

from semlink.packets import Frame, MalformedFrame
from semlink.packets.packing import MAX_PACK
from semlink.packets.pixels import PIXEL_SHAPE, pixel_packets
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import (
    group_datagrams,
    identify_group,
    message_to_session,
    parse_packets,
    session_to_message,
)
from tests.wire.test_convert import SESSION, frame_of

PACKED = replace(SESSION, pack=4)


def frames(first=10, n=4, session=PACKED):
    rng = np.random.default_rng(first)
    return [frame_of(rng.integers(0, 256, size=session.shape, dtype=np.uint8), seq=first + k, session=session)
            for k in range(n)]


def test_the_session_says_it_packs_and_old_sessions_still_read_as_unpacked():
    again = message_to_session(pb.Session.FromString(session_to_message(PACKED).SerializeToString()))
    assert again == PACKED and again.pack == 4
    assert session_to_message(SESSION).pack == 0 and message_to_session(session_to_message(SESSION)).pack == 1


@pytest.mark.parametrize("session, words", [
    (replace(SESSION, pack=MAX_PACK + 1), "pack is 16, must be 1"),
    (replace(SESSION, pack=2, shape=(6, 20, 5), feature_shape=(6, 20, 5)), "at most 8 packets"),
])
def test_sessions_that_cannot_pack_are_refused_saying_why(session, words):
    with pytest.raises(MalformedFrame, match=words):
        message_to_session(session_to_message(session))


def test_a_group_parses_back_into_each_of_its_frames_whole():
    sent = frames()
    datagrams = group_datagrams(sent, PACKED)
    assert len(datagrams) == sent[0].total_packets  # one datagram per slice, not per frame
    parsed = parse_packets(datagrams, PACKED, highest_seq=9)
    assert [f.header.frame_id for f in parsed.frames] == [f.header.frame_id for f in sent]
    assert [f.packets for f in parsed.frames] == [f.packets for f in sent]
    assert parsed.highest_seq == 13 and parsed.unattributed == 0


def test_a_damaged_datagram_is_damage_to_every_frame_of_its_group_and_a_lost_one_a_slice_of_each():
    sent = frames()
    datagrams = group_datagrams(sent, PACKED)
    flipped = bytearray(datagrams[1])
    flipped[6] ^= 0x10
    parsed = parse_packets([datagrams[0], bytes(flipped), *datagrams[3:]], PACKED, highest_seq=9)
    assert len(parsed.frames) == 4
    for frame in parsed.frames:
        assert frame.damaged == 1 and frame.lost_indices() == [1, 2]


def test_a_hop_names_the_group_from_its_datagrams_and_refuses_a_mixed_or_oversized_message():
    sent = frames(first=20, n=3)
    datagrams = group_datagrams(sent, PACKED)
    assert identify_group(datagrams, PACKED, 19) == (PACKED.frame_id(20), 3, 22)
    other = group_datagrams(frames(first=23, n=3), PACKED)
    with pytest.raises(MalformedFrame, match="one group"):
        identify_group([datagrams[0], other[1]], PACKED, 19)
    with pytest.raises(MalformedFrame, match="packs up to 2"):
        identify_group(datagrams, replace(PACKED, pack=2), 19)
    bad = bytearray(datagrams[0])
    bad[-1] ^= 1
    with pytest.raises(MalformedFrame, match="unusable"):
        identify_group([bytes(bad)], PACKED, 19)
    single = frames(first=30, n=1, session=SESSION)[0]
    assert identify_group([d for d in group_datagrams([single], PACKED)], PACKED, 29)[1] == 1


def test_a_group_holds_consecutive_frames_of_one_size():
    sent = frames()
    with pytest.raises(ValueError, match="consecutive"):
        group_datagrams([sent[0], sent[2]], PACKED)
    with pytest.raises(ValueError, match="one image size"):
        group_datagrams([sent[0], sent[1].with_image_size((320, 240))], PACKED)


def test_a_packed_pixel_frame_with_fewer_chunks_than_its_group_has_no_packet_there():
    session = replace(SESSION, domain="pixels", codec="webp", codec_config='{"quality": 30}', shape=PIXEL_SHAPE,
                      dtype="uint8", rows_per_packet=1, side_info=False, pack=2)
    sent = []
    for k, nbytes in enumerate((1500, 100)):  # two chunks, then one
        fid = session.frame_id(5 + k)
        packets = pixel_packets(bytes(range(256)) * 6 if nbytes > 256 else bytes(nbytes), fid)
        sent.append(Frame(session.header(fid, None, len(packets)), packets))
    parsed = parse_packets(group_datagrams(sent, session), session, highest_seq=4)
    assert [len(f.packets) for f in parsed.frames] == [2, 1]
    assert [f.packets for f in parsed.frames] == [f.packets for f in sent]

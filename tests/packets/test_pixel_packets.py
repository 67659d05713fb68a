"""A pixel frame's bytes as packets: each carries its frame's packet count, the receiver parses each frame with its own
count, and what it can use is the decodable prefix."""

from __future__ import annotations

import random

from semlink.packets import Frame, Session
from semlink.packets.datagram import encode_datagram
from semlink.packets.pixels import PACKET_BYTES, PIXEL_DTYPE, PIXEL_SHAPE, frame_prefix, pixel_packets
from semlink.wire import frame_datagrams, lost_frame, message_to_session, parse_packets, session_to_message

SESSION = Session(session_id=5, codec="pixels-avif", codec_config='{"fmt": "avif"}', fingerprint="f",
                  feature_shape=(8, 2, 2), shape=PIXEL_SHAPE, dtype=PIXEL_DTYPE, rows_per_packet=1, check="crc16",
                  image_size=(64, 64), domain="pixels", stream_header=b"\x00\x00\x00\x1cftypavif")


def test_a_pixel_session_says_its_domain_and_carries_its_stream_header_once():
    message = session_to_message(SESSION)
    assert message.domain == "pixels" and message.stream_header == SESSION.stream_header
    assert message_to_session(message) == SESSION
    features = session_to_message(Session(session_id=5, codec="q8", codec_config="{}", fingerprint="f",
                                          feature_shape=(8, 2, 2), shape=(8, 2, 2), dtype="uint8", rows_per_packet=1))
    assert features.domain == "" and features.stream_header == b""  # a features session's bytes are unchanged


def test_a_frame_of_three_packets_parses_with_its_own_count_and_its_prefix_is_the_bytes_sent():
    data = random.Random(1).randbytes(2 * PACKET_BYTES + 7)
    fid = SESSION.frame_id(3)
    sent = Frame(SESSION.header(fid, packet_count=3), pixel_packets(data, fid))
    datagrams = frame_datagrams(sent, SESSION)
    assert [len(d) for d in datagrams] == [PACKET_BYTES + 6, PACKET_BYTES + 6, 7 + 6]  # 3 header, 1 count, 2 CRC

    whole = parse_packets(datagrams, SESSION, None).frames[0]
    assert whole.header.packet_count == 3 and whole.lost_indices() == [] and frame_prefix(whole) == data

    middle_lost = parse_packets([datagrams[0], datagrams[2]], SESSION, None).frames[0]
    assert middle_lost.lost_indices() == [1] and frame_prefix(middle_lost) == data[:PACKET_BYTES]


def test_packets_whose_count_disagrees_are_as_good_as_corrupted():
    fid = SESSION.frame_id(0)
    honest = pixel_packets(b"abc", fid)[0].payload
    liar = encode_datagram(0, 1, b"\x09xyz", SESSION.check)  # says 9 packets where the frame's others say 1
    frame = parse_packets([encode_datagram(0, 0, honest, SESSION.check), liar], SESSION, None).frames[0]
    assert frame.header.packet_count == 1 and [p.index for p in frame.packets] == [0] and frame.damaged == 1
    nothing = parse_packets([encode_datagram(0, 0, b"", SESSION.check)], SESSION, None).frames[0]
    assert nothing.packets == () and nothing.damaged == 1  # no count at all: unusable


def test_a_pixel_frame_lost_in_a_gap_counts_as_one_packet():
    assert lost_frame(SESSION, 7).header.packet_count == 1

"""Session <-> protobuf, frame <-> datagrams: exact round trips, honest byte counts, clear errors for bad input."""

from dataclasses import replace

import numpy as np
import pytest

from semlink.channel import Channel, ChannelConfig
from semlink.packets import WIRE_VERSION, MalformedFrame, Session, packetize, split_frame_id, unpack
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import (
    frame_datagrams,
    lost_frame,
    max_datagram_bytes,
    message_to_session,
    parse_packets,
    session_to_message,
    wire_bytes,
)
from semlink.wire.carry import carry

SESSION = Session(session_id=9, codec="q8", codec_config='{"bits": 8}', fingerprint="sha256:ab",
                  feature_shape=(6, 7, 5), shape=(6, 7, 5), dtype="uint8", rows_per_packet=2, side_info=True,
                  image_size=(640, 480))


def frame_of(latent, seq=5, session=SESSION, **kw):
    kw = dict(frame_id=session.frame_id(seq), codec=session.codec, fingerprint=session.fingerprint,
              feature_shape=session.feature_shape, rows_per_packet=session.rows_per_packet,
              scale=np.linspace(0.01, 1, latent.shape[0]), offset=-np.arange(latent.shape[0]) / 3,
              side_info=session.side_info, meta={"image_size": "640,480"}) | kw
    return packetize(latent, **kw)


@pytest.fixture
def latent() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(6, 7, 5), dtype=np.uint8)


def test_session_crosses_the_wire_exactly():
    message = session_to_message(SESSION)
    assert message.version == WIRE_VERSION
    again = message_to_session(pb.Session.FromString(message.SerializeToString()))
    assert again == SESSION and again.packets_per_frame == 5


@pytest.mark.parametrize("change, words", [
    ({"session_id": 0}, "session_id"), ({"latent_shape": [6, 7]}, "expected 3 dims"),
    ({"dtype": "complex64"}, "dtype"), ({"rows_per_packet": 0}, "rows_per_packet"), ({"check": "md5"}, "check"),
    ({"version": 1}, "version"), ({"latent_shape": [6, 700, 5], "rows_per_packet": 1}, "packets per frame"),
])
def test_bad_sessions_name_the_field(change, words):
    message = session_to_message(SESSION)
    for key, value in change.items():
        if isinstance(value, list):
            del getattr(message, key)[:]
            getattr(message, key).extend(value)
        else:
            setattr(message, key, value)
    with pytest.raises(MalformedFrame, match=words):
        message_to_session(message)


def test_frame_round_trips_through_its_datagrams(latent):
    frame = frame_of(latent)
    datagrams = frame_datagrams(frame, SESSION)
    assert wire_bytes(datagrams) == frame.payload_bytes + 5 * (3 + 4)  # 5 packets: header 3 B + CRC-32 4 B
    parsed = parse_packets(datagrams, SESSION, 4)
    [received] = parsed.frames
    assert received.header.frame_id == frame.header.frame_id and parsed.highest_seq == 5
    out = unpack(received)
    assert np.array_equal(out.latent, latent) and not out.lost_rows.any()
    assert np.array_equal(out.scale, np.asarray(frame.header.scale, np.float32))


def test_image_size_travels_only_when_it_differs(latent):
    same = frame_datagrams(frame_of(latent), SESSION)
    other = frame_datagrams(frame_of(latent, meta={"image_size": "32,16"}), SESSION)
    assert wire_bytes(other) == wire_bytes(same) + 4 * len(other)
    [received] = parse_packets(other, SESSION, None).frames
    assert received.header.meta["image_size"] == "32,16"


def test_wire_bytes_is_what_the_message_carries(latent):
    """The datagrams are the bytes in the message: its protobuf adds only 2 bytes of framing per datagram."""
    datagrams = frame_datagrams(frame_of(latent), SESSION)
    message = pb.Uplink(frame=pb.FramePackets(packets=datagrams))
    assert wire_bytes(datagrams) == sum(len(p) for p in message.frame.packets)
    assert message.frame.ByteSize() - wire_bytes(datagrams) == 2 * len(datagrams)


def test_corrupted_datagrams_count_as_damaged_packets_of_their_frame(latent):
    datagrams = frame_datagrams(frame_of(latent), SESSION)
    datagrams[1] = datagrams[1][:3] + bytes([datagrams[1][3] ^ 1]) + datagrams[1][4:]
    [received] = parse_packets(datagrams, SESSION, None).frames
    assert received.damaged == 1 and len(received.packets) == 4
    out = unpack(received)
    assert out.report.lost == (1,) and out.report.corrupted_count == 1 and out.report.missing_count == 0
    assert out.lost_rows.tolist() == [False, False, True, True, False, False, False]


def test_all_datagrams_corrupted_attributes_nothing(latent):
    datagrams = [d[:-1] + bytes([d[-1] ^ 0xFF]) for d in frame_datagrams(frame_of(latent), SESSION)]
    parsed = parse_packets(datagrams, SESSION, 3)
    assert parsed.frames == () and parsed.unattributed == 5 and parsed.highest_seq == 3


def test_messages_are_bounded_before_parsing(latent):
    datagrams = frame_datagrams(frame_of(latent), SESSION)
    with pytest.raises(MalformedFrame, match="6 packets in one message"):
        parse_packets(datagrams + datagrams[:1], SESSION, None)
    with pytest.raises(MalformedFrame, match="over the"):
        parse_packets([b"\x00" * (max_datagram_bytes(SESSION) + 1)], SESSION, None)


def test_sequence_numbers_wrap_into_frame_ids(latent):
    seq = 3 * 65536 + 17
    frame = frame_of(latent, seq=seq)
    [received] = parse_packets(frame_datagrams(frame, SESSION), SESSION, seq - 2).frames
    assert split_frame_id(received.header.frame_id) == (9, seq)


def test_carry_counts_sent_bytes_and_loses_whole_frames(latent):
    frame = frame_of(latent)
    clean = carry(frame, SESSION, None)
    assert clean.wire_bytes == wire_bytes(frame_datagrams(frame, SESSION)) and len(clean.received.packets) == 5
    gone = carry(frame, SESSION, Channel(ChannelConfig(loss="bernoulli", loss_p=1.0)))
    assert gone.received == lost_frame(SESSION, 5) and gone.wire_bytes == clean.wire_bytes
    noisy = carry(frame, SESSION, Channel(ChannelConfig(ber=0.05, seed=1)))  # every datagram hit
    assert noisy.received.packets == () and noisy.received.damaged == 5


def test_side_session_refuses_static_constants():
    with pytest.raises(MalformedFrame, match="no static"):
        message_to_session(session_to_message(replace(SESSION, scale=(1.0,) * 6, offset=(0.0,) * 6)))

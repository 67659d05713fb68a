"""Property tests: any bytes offered as a session or as a frame's datagrams parse or raise MalformedFrame."""

import numpy as np
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st

from semlink.packets import MalformedFrame, Session, packetize, unpack
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import frame_datagrams, message_to_session, parse_packets, session_to_message

FUZZ = settings(max_examples=300, deadline=2000)

SESSION = Session(session_id=3, codec="q8", codec_config="{}", fingerprint="f", feature_shape=(3, 8, 4),
                  shape=(3, 8, 4), dtype="uint8", rows_per_packet=3, side_info=True, check="crc16")
LATENT = (np.arange(3 * 8 * 4).reshape(3, 8, 4) % 251).astype(np.uint8)
VALID = frame_datagrams(packetize(LATENT, frame_id=SESSION.frame_id(9), codec="q8", fingerprint="f",
                                  feature_shape=(3, 8, 4), rows_per_packet=3, scale=(0.5, 1.0, 2.0),
                                  offset=(0.0, 0.0, 1.0), side_info=True), SESSION)
SESSION_BYTES = session_to_message(SESSION).SerializeToString()


def decode_or_reject(datagrams) -> str:
    try:
        parsed = parse_packets(datagrams, SESSION, 8)
    except MalformedFrame:
        return "malformed"
    for frame in parsed.frames:
        out = unpack(frame)
        assert out.latent.shape == SESSION.shape and not out.latent[:, out.lost_rows, :].any()
        r = out.report
        assert r.decoded_count + r.lost_count + len(r.corrupted) == SESSION.packets_per_frame
    return "decoded" if parsed.frames else "nothing"


@FUZZ
@given(st.lists(st.binary(max_size=60), max_size=6))
def test_random_datagrams(datagrams):
    decode_or_reject(datagrams)


mutation = st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 200), st.integers(0, 255),
                     st.sampled_from(["set", "insert", "delete"]))


@FUZZ
@given(st.lists(mutation, min_size=1, max_size=6), st.sets(st.integers(0, len(VALID) - 1)))
def test_mutated_valid_frames(mutations, drop):
    datagrams = [bytearray(d) for d in VALID]
    for which, at, value, kind in mutations:
        d = datagrams[which]
        at = min(at, len(d))
        if kind == "set" and at < len(d):
            d[at] = value
        elif kind == "insert":
            d[at:at] = bytes([value])
        elif kind == "delete":
            del d[at:at + 1]
    decode_or_reject([bytes(d) for i, d in enumerate(datagrams) if i not in drop])


@FUZZ
@given(st.binary(max_size=200))
def test_random_session_bytes(data):
    try:
        message = pb.Session.FromString(data)
    except DecodeError:
        return
    try:
        message_to_session(message)
    except MalformedFrame:
        pass


def test_the_unmutated_frame_decodes():
    assert decode_or_reject(VALID) == "decoded"
    assert message_to_session(pb.Session.FromString(SESSION_BYTES)) == SESSION

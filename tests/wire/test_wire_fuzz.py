"""Property tests: any bytes given to frame_from_bytes decode or raise MalformedFrame, never hang."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from semlink.packets import MalformedFrame, depacketize_with_report, packetize
from semlink.wire import frame_from_bytes, frame_to_bytes

FUZZ = settings(max_examples=300, deadline=2000)

LATENT = (np.arange(3 * 8 * 4).reshape(3, 8, 4) % 251).astype(np.uint8)
VALID = frame_to_bytes(packetize(LATENT, frame_id=9, codec="q8", fingerprint="f", feature_shape=(3, 8, 4),
                                 rows_per_packet=3, scale=(0.5, 1.0, 2.0), offset=(0.0, 0.0, 1.0)))


def decode_or_reject(data: bytes) -> str:
    try:
        frame = frame_from_bytes(data)
        out, lost, report = depacketize_with_report(frame)
    except MalformedFrame:
        return "malformed"
    h = frame.header
    assert out.shape == h.shape and lost.shape == (h.shape[1],) and not out[:, lost, :].any()
    assert report.decoded_count + report.lost_count + report.corrupted_count == h.packet_count
    return "decoded"


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data):
    decode_or_reject(data)


mutation = st.one_of(
    st.tuples(st.just("set"), st.integers(0, len(VALID) - 1), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, len(VALID)), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, len(VALID) - 1), st.integers(1, 8)),
)


@FUZZ
@given(st.lists(mutation, min_size=1, max_size=6), st.integers(0, len(VALID)))
def test_mutated_valid_frames(mutations, keep):
    data = bytearray(VALID)
    for kind, at, what in mutations:
        at = min(at, len(data))
        if kind == "set" and at < len(data):
            data[at] = what
        elif kind == "insert":
            data[at:at] = what
        elif kind == "delete":
            del data[at:at + what]
    decode_or_reject(bytes(data[: max(keep, len(data) // 2)]))


def test_the_unmutated_frame_decodes():
    assert decode_or_reject(VALID) == "decoded"
    assert decode_or_reject(VALID[:-1]) == "malformed"

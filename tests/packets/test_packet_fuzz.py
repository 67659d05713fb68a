"""Property tests: depacketize on damaged frames decodes or raises MalformedFrame, nothing else."""

from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semlink.packets import MalformedFrame, depacketize_with_report, packetize

FUZZ = settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])

LATENT = np.arange(4 * 9 * 5, dtype=np.uint16).reshape(4, 9, 5).astype(np.float16) / 7
FRAME = packetize(LATENT, frame_id=3, codec="fp16", fingerprint="f", feature_shape=LATENT.shape, rows_per_packet=2)

small_ints = st.integers(min_value=-3, max_value=20) | st.integers(min_value=-(2**70), max_value=2**70)
header_changes = st.fixed_dictionaries(
    {},
    optional={
        "frame_id": small_ints,
        "shape": st.lists(small_ints, max_size=4).map(tuple),
        "feature_shape": st.lists(small_ints, max_size=4).map(tuple),
        "dtype": st.sampled_from(["float16", "uint8", "int32", "float64", "complex64", "", "bogus"]),
        "packet_count": small_ints,
        "rows_per_packet": small_ints,
        "version": small_ints,
        "entropy_coder": st.sampled_from(["zstd", "", "rans"]),
        "side_info": st.booleans(),
    },
)
packet_changes = st.fixed_dictionaries(
    {},
    optional={
        "frame_id": small_ints,
        "index": small_ints,
        "row_start": small_ints,
        "row_stop": small_ints,
        "payload": st.binary(max_size=64),
    },
)


def check_decoded(frame, out, lost, report):
    h = frame.header
    assert out.shape == tuple(h.shape) and out.dtype == np.dtype(h.dtype) and lost.shape == (h.shape[1],)
    assert report.decoded_count + report.lost_count + len(report.corrupted) == frame.total_packets
    assert not out[:, lost, :].any()


@FUZZ
@given(header_changes, st.lists(st.tuples(st.integers(0, 10), packet_changes), max_size=4), st.data())
def test_damaged_frames_decode_or_raise_malformed(changes, packet_edits, data):
    packets = list(FRAME.packets)
    for position, edit in packet_edits:
        if packets:
            i = position % len(packets)
            packets[i] = replace(packets[i], **edit)
    drop = data.draw(st.sets(st.integers(0, len(packets) - 1)) if packets else st.just(set()))
    frame = replace(FRAME, header=replace(FRAME.header, **changes), packets=tuple(
        p for i, p in enumerate(packets) if i not in drop))
    try:
        out, lost, report = depacketize_with_report(frame)
    except MalformedFrame:
        return
    check_decoded(frame, out, lost, report)


@FUZZ
@given(st.dictionaries(st.integers(0, 4), st.binary(max_size=80), max_size=5))
def test_any_payload_costs_at_most_its_rows(new_payloads):
    packets = [replace(p, payload=new_payloads[p.index]) if p.index in new_payloads else p for p in FRAME.packets]
    frame = FRAME.with_packets(packets)
    out, lost, report = depacketize_with_report(frame)  # structure is intact: never raises
    check_decoded(frame, out, lost, report)
    for p in FRAME.packets:
        rows = slice(p.row_start, p.row_stop)
        if p.index not in new_payloads:
            assert not lost[rows].any() and np.array_equal(out[:, rows, :], LATENT[:, rows, :])
        elif p.index in report.corrupted:
            assert lost[rows].all()
        else:  # a replacement that decodes must be the right size, so it is a valid slice
            assert not lost[rows].any()

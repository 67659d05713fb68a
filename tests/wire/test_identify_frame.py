"""``identify_frame`` (channel_sim's per-message read) names exactly the frame ``parse_packets`` would, for any
message: intact, damaged anywhere, cut, mixed with another frame's packets, padded or empty."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semlink.packets import MalformedFrame, Session, packetize
from semlink.wire import frame_datagrams, identify_frame, parse_packets

SESSION = Session(session_id=3, codec="q8", codec_config='{"bits": 8}', fingerprint="sha256:cd",
                  feature_shape=(4, 6, 5), shape=(4, 6, 5), dtype="uint8", rows_per_packet=2, side_info=True,
                  image_size=(64, 48))


def datagrams_of(seq: int, seed: int = 0) -> list[bytes]:
    latent = np.random.default_rng(seed).integers(0, 256, size=SESSION.shape, dtype=np.uint8)
    frame = packetize(latent, frame_id=SESSION.frame_id(seq), codec=SESSION.codec, fingerprint=SESSION.fingerprint,
                      feature_shape=SESSION.feature_shape, rows_per_packet=SESSION.rows_per_packet,
                      scale=np.ones(4), offset=np.zeros(4), side_info=True)
    return frame_datagrams(frame, SESSION)


def by_full_parse(datagrams, highest):
    parsed = parse_packets(datagrams, SESSION, highest)
    if len(parsed.frames) != 1:
        raise MalformedFrame("not one frame")
    return parsed.frames[0].header.frame_id, parsed.highest_seq


def outcome(fn, datagrams, highest):
    try:
        return fn(datagrams, SESSION, highest) if fn is identify_frame else fn(datagrams, highest)
    except MalformedFrame:
        return "malformed"


def test_an_intact_frame_is_named_from_its_headers():
    assert identify_frame(datagrams_of(7), SESSION, 5) == (SESSION.frame_id(7), 7)
    assert identify_frame(datagrams_of(2), SESSION, 9) == (SESSION.frame_id(2), 9)  # a late frame keeps the highest


def test_a_damaged_first_packet_falls_back_to_the_full_parse():
    datagrams = datagrams_of(7)
    datagrams[0] = datagrams[0][:-1] + bytes([datagrams[0][-1] ^ 1])
    assert identify_frame(datagrams, SESSION, None) == (SESSION.frame_id(7), 7)
    datagrams = [datagrams[0]]  # only the damaged one: nobody can tell whose it is
    with pytest.raises(MalformedFrame, match="one frame"):
        identify_frame(datagrams, SESSION, None)


def test_packets_of_two_frames_are_refused():
    with pytest.raises(MalformedFrame, match="belong to 2"):
        identify_frame(datagrams_of(7)[:2] + datagrams_of(8)[2:], SESSION, None)


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10), st.integers(0, 10_000), st.integers(0, 7)),
    st.tuples(st.just("cut"), st.integers(0, 10), st.integers(0, 40)),
    st.tuples(st.just("other"), st.integers(0, 10), st.integers(0, 70_000)),
    st.tuples(st.just("drop"), st.integers(0, 10)),
    st.tuples(st.just("keep"), st.integers(0, 3)),
    st.tuples(st.just("duplicate"), st.integers(0, 10)),
    st.tuples(st.just("junk"), st.binary(max_size=12)),
)


def mutate(datagrams: list[bytes], change) -> list[bytes]:
    out = list(datagrams)
    if not out and change[0] != "junk":
        return out
    kind, *args = change
    if kind == "flip":
        i, pos, bit = args[0] % len(out), args[1], args[2]
        d = bytearray(out[i])
        if d:
            d[pos % len(d)] ^= 1 << bit
        out[i] = bytes(d)
    elif kind == "cut":
        i = args[0] % len(out)
        out[i] = out[i][:args[1]]
    elif kind == "other":
        i = args[0] % len(out)
        out[i] = datagrams_of(args[1] % 65536, seed=1)[i % SESSION.packets_per_frame]
    elif kind == "keep":
        del out[args[0]:]
    elif kind == "drop":
        del out[args[0] % len(out)]
    elif kind == "duplicate":
        out.append(out[args[0] % len(out)])
    else:
        out.append(args[0])
    return out


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(seq=st.integers(0, 200_000), highest=st.one_of(st.none(), st.integers(0, 200_000)),
       changes=st.lists(mutation, max_size=4))
def test_it_names_what_the_full_parse_names(seq, highest, changes):
    datagrams = datagrams_of(seq % 65536)
    for change in changes:
        datagrams = mutate(datagrams, change)
    assert outcome(identify_frame, datagrams, highest) == outcome(by_full_parse, datagrams, highest)

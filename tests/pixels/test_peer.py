"""Pixel peers: specs fail at once naming the valid forms; hand codecs travel in streaming form and lose a suffix."""

from __future__ import annotations

import pytest

from semlink.evaluation.data import shapes_samples
from semlink.evaluation.runner import channel_for
from semlink.pixels.framing import split
from semlink.pixels.peer import Delivery, HandPeer, PixelFraming, PixelPeer, frame_datagrams, received_prefix
from semlink.pixels.spec import BadPeerSpec, HandSpec, LearnedSpec, parse_peer_specs

SIZE = (64, 64)


def test_specs_of_every_form():
    specs = parse_peer_specs(["avif:10,20", "WEBP@32:60", "avif-s0:20", "jpeg:50"])
    assert [s.name for s in specs] == ["avif-q10", "avif-q20", "webp@32-q60", "avif-s0-q20", "jpeg-q50"]
    assert specs[0].encoder_speed == 8 and specs[3].encoder_speed == 0 and specs[2].side == 32
    assert parse_peer_specs(["learned-pixels:all"]) == [LearnedSpec(("all",))]
    assert parse_peer_specs(["learned-pixels"]) == [LearnedSpec(("default",))]


@pytest.mark.parametrize("bad, says", [("png:20", "unknown format"), ("avif", "qualities 0..100"),
                                       ("avif:200", "qualities"), ("jpeg-s2:30", "AVIF's only"),
                                       ("webp@2:30", "coded side"), ("avif:x", "qualities")])
def test_a_spec_that_cannot_work_names_the_valid_forms(bad, says):
    with pytest.raises(BadPeerSpec, match=says) as err:
        parse_peer_specs([bad])
    assert "FMT@S:Q" in str(err.value) or "e.g." in str(err.value)


def test_learned_pixel_names_are_checked_against_what_ships(tmp_path):
    with pytest.raises(BadPeerSpec, match="no learned pixel codec ships"):
        parse_peer_specs(["learned-pixels:all"], model=str(tmp_path))
    try:
        from semlink.pixels.learned import learned_pixel_points
    except ImportError:
        pytest.skip("the learned pixel codec is not in this build")
    shipped = learned_pixel_points("shapes-tiny")
    if not shipped:
        pytest.skip("no learned pixel points ship beside shapes-tiny yet")
    assert parse_peer_specs([f"learned-pixels:{shipped[0]}"], model="shapes-tiny") == [LearnedSpec((shipped[0],))]
    with pytest.raises(BadPeerSpec, match="unknown point"):
        parse_peer_specs(["learned-pixels:nosuchpoint"], model="shapes-tiny")


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "avif"])
def test_stream_framing_sends_the_frame_alone_and_rebuilds_the_same_image(fmt):
    images = [s.image for s in shapes_samples(4, seed=1207)]
    stream, file = HandPeer(HandSpec(fmt, 40)), HandPeer(HandSpec(fmt, 40), PixelFraming.FILE)
    assert isinstance(stream, PixelPeer)
    sent, whole = stream.send(images, [0, 1, 2, 3], None, SIZE), file.send(images, [0, 1, 2, 3], None, SIZE)
    for a, b, image in zip(sent, whole, images):
        assert isinstance(a, Delivery) and a.datagrams == b.datagrams == 1 and a.datagrams_lost == 0
        eoi = 2 if fmt == "jpeg" else 0  # the JPEG receiver re-adds EOI
        assert a.payload_bytes == b.payload_bytes - stream.session_bytes(SIZE) - eoi and file.session_bytes(SIZE) == 0
        assert a.wire_bytes == a.payload_bytes + 5
        assert a.image.size == SIZE and a.image.tobytes() == b.image.tobytes()  # quality unchanged, bytes moved
    assert stream.session_bytes(SIZE) == len(split(fmt, file.encode(images[0], SIZE)).session)


def test_downscaled_form_codes_small_and_comes_back_at_the_model_input():
    image = shapes_samples(1, seed=1207)[0].image
    small, full = HandPeer(HandSpec("avif", 60, side=32)), HandPeer(HandSpec("avif", 60))
    got, ref = small.send([image], [0], None, SIZE)[0], full.send([image], [0], None, SIZE)[0]
    assert got.image.size == SIZE and got.payload_bytes < ref.payload_bytes


def test_a_lost_datagram_keeps_the_prefix_and_nothing_is_grey():
    payload = bytes(range(256)) * 12  # 3,072 B: three datagrams
    sent = frame_datagrams(payload, 7)
    assert len(sent) == 3 and received_prefix(sent, 3, 7) == (payload, 0)
    assert received_prefix([sent[0], sent[2]], 3, 7) == (payload[:1200], 1)
    assert received_prefix(sent, 3, 8) == (b"", 3)  # another frame's datagrams are not this one's
    flipped = sent[1][:-1] + bytes([sent[1][-1] ^ 1])
    assert received_prefix([sent[0], flipped, sent[2]], 3, 7) == (payload[:1200], 1)
    peer = HandPeer(HandSpec("jpeg", 50))
    lost = peer.send([shapes_samples(1)[0].image], [0], channel_for(0.999, None, seed=1), SIZE)[0]
    assert lost.datagrams_lost == 1 and lost.image.getcolors() == [(64 * 64, (128, 128, 128))]

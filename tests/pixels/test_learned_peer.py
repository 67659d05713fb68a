"""The shipped learned-pixels operating points: listed without a model, each loads, round-trips and sends as a peer."""

from __future__ import annotations

import pytest
import torch

from semlink.builtin import model_dir
from semlink.channel import Channel, ChannelConfig
from semlink.codecs.learned_pixels import load_pixel_codec
from semlink.evaluation.data import shapes_samples
from semlink.florence import VisionHalf
from semlink.pixels.learned import learned_pixel_peers, learned_pixel_points, point_file
from semlink.runtime import load_model
from semlink.wire.carry import carry

MODEL = "shapes-tiny"
MAX_FILE_BYTES = 1_000_000


@pytest.fixture(scope="module")
def bundle():
    return load_model(MODEL, "cpu", "float32")


@pytest.fixture(scope="module")
def samples():
    return shapes_samples(6, seed=5)


def test_the_shipped_points_are_listed_without_loading_a_model():
    points = learned_pixel_points(MODEL)
    assert points[0] == "default" and len(points) >= 4, points
    for point in points:
        path = model_dir(MODEL) / point_file(point)
        assert path.is_file() and path.stat().st_size < MAX_FILE_BYTES, (path, path.stat().st_size)
    assert learned_pixel_points("/nonexistent") == []


@pytest.mark.parametrize("point", learned_pixel_points(MODEL))
def test_each_point_loads_for_the_model_and_round_trips(bundle, samples, point):
    codec = load_pixel_codec(model_dir(MODEL) / point_file(point), fingerprint=bundle.fingerprint)
    pixels = VisionHalf(bundle).pixels([s.image for s in samples])
    session = codec.session(1, (64, 64))
    frames = [carry(f, session, None).received
              for f in codec.compress(pixels, [session.frame_id(i) for i in range(len(samples))])]
    rebuilt, lost = codec.decompress(frames)
    assert not lost.any()
    torch.testing.assert_close(rebuilt, codec(pixels).x_hat, rtol=1e-4, atol=1e-4)
    for drop in ({0}, set(range(1, frames[0].total_packets))):  # any subset decodes, its rows flagged
        damaged = frames[0].with_packets(p for p in frames[0].packets if p.index not in drop)
        x_hat, lost = codec.decompress([damaged])
        assert torch.isfinite(x_hat).all() and lost[0].any() and not lost[0].all()


def test_peers_send_through_the_channel_and_count_every_datagram(bundle, samples):
    [peer] = learned_pixel_peers(bundle, ["default"])
    assert peer.name == "learned-pixels"
    size = bundle.image_size[::-1]
    assert 100 < peer.session_bytes(size) < 1000
    clean = peer.send([s.image for s in samples], range(len(samples)), None, size)
    assert [d.image.size for d in clean] == [size] * len(samples)
    for d in clean:
        assert d.datagrams_lost == 0 and d.datagrams == peer.codec.session(1, size).packets_per_frame
        assert d.wire_bytes == d.payload_bytes + d.datagrams * 5  # 3-byte header and CRC-16 per datagram
    lossy = peer.send([s.image for s in samples], range(len(samples)),
                      Channel(ChannelConfig(loss="bernoulli", loss_p=0.5, seed=3)), size)
    assert sum(d.datagrams_lost for d in lossy) > 0
    assert [d.wire_bytes for d in lossy] == [d.wire_bytes for d in clean]  # bytes sent, lost or not


def test_all_names_every_point_and_an_unknown_point_is_refused(bundle):
    points = learned_pixel_points(MODEL)
    peers = learned_pixel_peers(bundle, ["all"])
    assert [p.name for p in peers] == ["learned-pixels", *(f"learned-pixels:{n}" for n in points[1:])]
    with pytest.raises(ValueError, match="unknown learned-pixels point"):
        learned_pixel_peers(bundle, ["rate-nonsense"])

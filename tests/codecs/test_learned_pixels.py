"""The learned pixel codec: the codec contract on pixels, through real datagrams, erasures and checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semlink.codecs import CodecError, FingerprintMismatch, build_codec, codec_names, save_codec
from semlink.codecs.learned_pixels import (CODEC_ID, LearnedPixelCodec, LearnedPixelConfig, load_pixel_codec,
                                           pixels_to_images)
from semlink.wire.carry import carry

SHAPE = (3, 32, 32)
FP = "0123456789abcdef"


def make(**config) -> LearnedPixelCodec:
    return LearnedPixelCodec(LearnedPixelConfig(hidden=8, latent_channels=4, **config), SHAPE, FP).eval()


@pytest.fixture
def x():
    return torch.randn(3, *SHAPE)


def through_wire(codec, x, drop=()):
    session = codec.session(5, (SHAPE[2], SHAPE[1]))
    frames = codec.compress(x, [session.frame_id(i) for i in range(x.shape[0])])
    received = [carry(f, session, None).received for f in frames]
    return [f.with_packets(p for p in f.packets if p.index not in drop) for f in received], frames


def test_round_trip_equals_the_quantised_forward_pass(x):
    codec = make()
    frames, sent = through_wire(codec, x)
    x_hat, lost = codec.decompress(frames)
    assert x_hat.shape == x.shape and not lost.any()
    torch.testing.assert_close(x_hat, codec(x).x_hat, rtol=1e-5, atol=1e-5)  # eval mode: a straight round
    assert sent[0].header.codec == CODEC_ID and sent[0].header.entropy_coder == "range"


@pytest.mark.parametrize("drop", [(0,), (1,), (0, 2), (0, 1, 2, 3)])
def test_any_subset_of_packets_decodes_and_flags_its_rows(x, drop):
    codec = make(rows_per_packet=1)  # a 4 x 4 latent: 4 packets
    whole, _ = codec.decompress(through_wire(codec, x)[0])
    frames, _ = through_wire(codec, x, drop)
    damaged = [frames[0], *through_wire(codec, x)[0][1:]]
    x_hat, lost = codec.decompress(damaged)
    assert lost[0].tolist() == [r in drop for r in range(4)]
    assert not lost[1:].any()
    assert torch.isfinite(x_hat).all()
    torch.testing.assert_close(x_hat[1:], whole[1:])
    assert not torch.equal(x_hat[0], whole[0])


def test_training_forward_prices_the_rate_and_passes_the_channel(x):
    codec = make(rows_per_packet=2).train()

    def erase_first_packet(latent, rows_per_packet, bits_per_row):
        lost = torch.zeros(latent.shape[0], latent.shape[2], dtype=torch.bool)
        lost[:, :rows_per_packet] = True
        return latent * (~lost)[:, None, :, None], lost

    out = codec(x.requires_grad_(), erase_first_packet)
    assert out.lost_rows[:, :2].all() and not out.lost_rows[:, 2:].any()
    (out.x_hat.square().mean() + out.bits.mean()).backward()
    assert all(p.grad is not None for p in codec.parameters())


def test_checkpoint_round_trip_fingerprint_and_registry(x, tmp_path):
    codec = make()
    path = save_codec(codec, tmp_path / "p.safetensors")
    again = load_pixel_codec(path, fingerprint=FP)
    assert again.config == codec.config and not again.training
    frames, _ = through_wire(codec, x)
    torch.testing.assert_close(again.decompress(frames)[0], codec.decompress(frames)[0], rtol=0, atol=0)
    assert again.entropy_model_id() == codec.entropy_model_id()
    with pytest.raises(FingerprintMismatch, match="retrain it with `semlink train-pixels`"):
        load_pixel_codec(path, fingerprint="ffffffffffffffff")
    assert CODEC_ID not in codec_names()  # feature codecs only: every one of them takes features
    feature = save_codec(build_codec("q8", (8, 4, 4), FP), tmp_path / "q8.safetensors")
    with pytest.raises(CodecError, match="not 'learned-pixels'"):
        load_pixel_codec(feature)


def test_bad_shapes_and_configs_are_refused():
    with pytest.raises(CodecError, match="RGB pixels"):
        LearnedPixelCodec(LearnedPixelConfig(), (128, 8, 8), FP)
    with pytest.raises(ValueError, match="stride must be one of"):
        LearnedPixelConfig(stride=2)
    with pytest.raises(CodecError, match="expects features"):
        make().compress(torch.zeros(1, 3, 16, 16), [1])


def test_pixels_become_the_images_the_processor_made_them_from():
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    rgb = torch.randint(0, 256, (2, 3, 8, 8)).float()
    pixels = (rgb / 255 - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]
    images = pixels_to_images(pixels, mean, std)
    assert images[0].size == (8, 8) and images[0].mode == "RGB"
    back = torch.stack([torch.from_numpy(np.array(im)).permute(2, 0, 1) for im in images]).float()
    torch.testing.assert_close(back, rgb, rtol=0, atol=0)

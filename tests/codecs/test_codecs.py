"""Every codec: round trips through real packets and protobuf bytes, erasures, checkpoints, fingerprints."""

from __future__ import annotations

import pytest
import torch

from semlink.codecs import (CodecError, FingerprintMismatch, FrameCost, build_codec, codec_names, fp16_frame_cost,
                            load_codec, save_codec)
from semlink.florence import VisionHalf
from semlink.packets import packetize
from semlink.wire.carry import carry
from semlink.wire.convert import frame_datagrams, wire_bytes

SHAPE = (32, 6, 5)
FP = "0123456789abcdef"


def make(name, **config):
    codec = build_codec(name, SHAPE, FP, **config)
    if name == "pca":
        codec.fit(torch.randn(16, *SHAPE))
    if name == "learned":
        codec.eval()
    return codec


def through_wire(codec, x):
    """``x`` coded into frames of a session, turned into datagrams and parsed back as the receiver does."""
    session = codec.session(5)
    frames = codec.compress(x, [session.frame_id(i) for i in range(x.shape[0])])
    return [carry(f, session, None).received for f in frames]


@pytest.fixture
def x():
    return torch.randn(3, *SHAPE) * 2 + 1


def test_raw_is_exact_through_every_boundary(x):
    codec = make("raw")
    x_hat, lost = codec.decompress(through_wire(codec, x))
    assert torch.equal(x_hat, x)
    assert not lost.any()


def test_fp16_is_exact_in_half_precision(x):
    codec = make("fp16")
    x_hat, _ = codec.decompress(through_wire(codec, x))
    assert torch.equal(x_hat, x.half().float())


@pytest.mark.parametrize("rows_per_packet", [1, 4])
def test_fp16_frame_cost_is_what_uncompressed_fp16_packets_put_on_the_wire(rows_per_packet, x):
    """The yardstick the live page shows: fp16 features, 2 B an element, in the fp16 codec's datagrams."""
    codec = make("fp16", rows_per_packet=rows_per_packet)
    session = codec.session(5)
    symbols = codec.quantize(codec.analysis(x))

    class Uncompressed:
        name = "zstd"

        def encode(self, block):
            return block.tobytes()

    frame = packetize(symbols.values[0], frame_id=session.frame_id(0), codec=codec.codec_id, fingerprint=FP,
                      feature_shape=SHAPE, rows_per_packet=rows_per_packet, coder=Uncompressed())
    datagrams = frame_datagrams(frame, session)
    assert fp16_frame_cost(SHAPE, rows_per_packet) == FrameCost(wire_bytes(datagrams), len(datagrams))


def test_q8_error_within_half_a_step(x):
    """Half of the float16 step the side packet carries, and that step barely above the exact one."""
    codec = make("q8")
    received = through_wire(codec, x)
    x_hat, _ = codec.decompress(received)
    sent = codec.compress(x, [0, 1, 2])
    step16 = torch.tensor([f.header.scale for f in sent])
    step = (x.amax(dim=(2, 3)) - x.amin(dim=(2, 3))) / 255
    assert ((x_hat - x).abs() <= step16[:, :, None, None] / 2 + 1e-6).all()
    assert (step16 <= step * (1 + 2**-9) + 1e-3 / 255).all() and (step16 >= step).all()
    assert all(len(f.packets[-1].payload) == 2 * 2 * SHAPE[0] for f in received)  # float16 scale and offset


def test_pca_with_all_components_is_near_exact_and_fewer_is_bounded(x):
    full = make("pca", components=SHAPE[0])
    full.fit(x)
    x_hat, _ = full.decompress(through_wire(full, x))
    assert (x_hat - x).abs().max() < 0.1
    small = make("pca", components=4)
    small.fit(x)
    y, _ = small.decompress(small.compress(x, [1, 2, 3]))
    assert ((y - x) ** 2).mean() < (x - x.mean()).pow(2).mean()  # better than predicting the mean


def test_unfitted_pca_says_to_fit(x):
    with pytest.raises(CodecError, match="fit"):
        build_codec("pca", SHAPE, FP).compress(x, [1, 2, 3])


@pytest.mark.parametrize("name", codec_names())
def test_lost_packet_damages_only_its_rows(name, x):
    codec = make(name)
    frames = codec.compress(x, [1, 2, 3])
    whole, _ = codec.decompress(frames)
    damaged = frames[0].with_packets(p for p in frames[0].packets if p.index != 1)
    x_hat, lost = codec.decompress([damaged, *frames[1:]])
    assert lost[0].tolist() == [i == 1 for i in range(codec.latent_shape()[1])]
    assert not lost[1:].any()
    torch.testing.assert_close(x_hat[1:], whole[1:])
    if name != "learned":  # linear codecs: rows that arrived decode exactly as before
        keep = [r for r in range(SHAPE[1]) if r != 1]
        torch.testing.assert_close(x_hat[0][:, keep], whole[0][:, keep])


@pytest.mark.parametrize("name", codec_names())
def test_checkpoint_round_trip_and_fingerprint(name, x, tmp_path):
    codec = make(name)
    path = save_codec(codec, tmp_path / f"{name}.safetensors")
    again = load_codec(path, fingerprint=FP)
    frames = codec.compress(x, [1, 2, 3])
    torch.testing.assert_close(again.decompress(frames)[0], codec.decompress(frames)[0], rtol=0, atol=0)
    with pytest.raises(FingerprintMismatch, match="trained for Florence-2 weights"):
        load_codec(path, fingerprint="ffffffffffffffff")


def test_decoder_refuses_foreign_frames(x):
    q8, raw = make("q8"), make("raw")
    with pytest.raises(CodecError, match="coded with 'q8'"):
        raw.decompress(q8.compress(x, [1, 2, 3]))
    other = build_codec("q8", SHAPE, "ffffffffffffffff")
    with pytest.raises(CodecError, match="same model on both ends"):
        other.decompress(q8.compress(x, [1, 2, 3]))


def test_wrong_feature_shape_is_a_clear_error():
    with pytest.raises(CodecError, match="expects features"):
        make("q8").compress(torch.randn(1, 8, 6, 5), [1])


def test_learned_default_is_one_64th_of_fp16():
    learned, fp16 = make("learned"), make("fp16")
    assert learned.bits_per_frame() * 64 <= fp16.bits_per_frame() * 1.25  # ceil of odd H/W adds a little


def test_learned_forward_trains_through_a_channel(x):
    codec = build_codec("learned", SHAPE, FP)
    codec.train()

    def erase_first_row(latent, rows_per_packet, bits_per_row):
        lost = torch.zeros(latent.shape[0], latent.shape[2], dtype=torch.bool)
        lost[:, 0] = True
        return latent * (~lost)[:, None, :, None], lost

    out = codec(x, channel=erase_first_row)
    assert out.x_hat.shape == x.shape and out.lost_rows[:, 0].all()
    (out.x_hat.pow(2).mean() + out.bits.mean() * 1e-3).backward()
    assert all(p.grad is not None for p in codec.compressor.parameters())
    assert codec.entropy_model.loc.grad is not None


def test_codecs_on_real_features(tiny, images):
    features = VisionHalf(tiny).encode(images)
    codec = build_codec("q8", tiny.feature_shape, tiny.fingerprint)
    x_hat, _ = codec.decompress(codec.compress(features, [0, 1]))
    assert (x_hat - features).abs().max() < (features.max() - features.min()) / 255


def test_training_noise_does_not_depend_on_memory_layout(x):
    codec = build_codec("learned", SHAPE, FP)
    codec.train()
    strided = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)  # same values, channels-last strides
    torch.manual_seed(1)
    a = codec(x).x_hat
    torch.manual_seed(1)
    b = codec(strided).x_hat
    torch.testing.assert_close(a, b)


def test_interleaved_wire_order_scatters_a_lost_packet_and_round_trips(x):
    codec = make("learned", interleave=True)
    _, h, w = codec.latent_shape()
    latent = torch.arange(h * w, dtype=torch.float32).view(1, 1, h, w)
    wire = codec.interleave.wire(latent)
    assert torch.equal(codec.interleave.latent(wire), latent)
    lost_row = wire[0, 0, 0].long()  # the latent positions one lost packet carries
    assert len({int(i) // w for i in lost_row}) == min(h, w)  # from min(h, w) latent rows, not one band
    assert len({int(i) % w for i in lost_row}) == w  # one from every column

    x_hat, lost = codec.decompress(through_wire(codec, x))
    plain = make("learned")
    plain.load_state_dict(codec.state_dict())
    x_plain, _ = plain.decompress(plain.compress(x, [0, 1, 2]))
    torch.testing.assert_close(x_hat, x_plain)  # same weights, clean channel: the order changes nothing
    assert not lost.any()


def test_a_learned_checkpoint_from_before_the_entropy_tables_loads(tmp_path, x):
    """Checkpoints written before the wire coded with the entropy model get their tables from it on load."""
    from safetensors.torch import load_file, save_file
    from safetensors import safe_open

    codec = make("learned")
    path = save_codec(codec, tmp_path / "new.safetensors")
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    old = {k: v for k, v in load_file(str(path)).items() if k != "entropy_tables"}
    save_file(old, str(tmp_path / "old.safetensors"), metadata=metadata)
    again = load_codec(tmp_path / "old.safetensors", fingerprint=FP)
    assert again.entropy_model_id() == codec.entropy_model_id()
    torch.testing.assert_close(again.decompress(through_wire(again, x))[0], codec.decompress(through_wire(codec, x))[0])


def test_a_checkpoint_that_does_not_fit_says_what_to_do(tmp_path):
    from safetensors.torch import load_file, save_file
    from safetensors import safe_open

    path = save_codec(make("learned"), tmp_path / "c.safetensors")
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    state = load_file(str(path))
    state["compressor.net.0.weight"] = state["compressor.net.0.weight"][:1]
    save_file(state, str(tmp_path / "bad.safetensors"), metadata=metadata)
    with pytest.raises(CodecError, match="retrain it with `semlink train`"):
        load_codec(tmp_path / "bad.safetensors", fingerprint=FP)


def test_q8_quantizes_alike_with_numpy_and_torch():
    """The CPU path (numpy, one scratch buffer) gives the symbols the device path (torch) gives."""
    import numpy as np

    from semlink.codecs.q8 import _quantize_numpy, _quantize_torch

    y = torch.randn(2, 64, 6, 5, generator=torch.Generator().manual_seed(3)) * 4 + 1
    y[0, 3] = 0.5  # a constant channel: the smallest scale
    by_numpy, by_torch = _quantize_numpy(y.numpy(), 8), _quantize_torch(y, 8)
    for name in ("values", "scale", "offset"):
        assert np.array_equal(getattr(by_numpy, name), getattr(by_torch, name)), name
    assert by_numpy.values.dtype == np.uint8
    assert np.abs(by_numpy.dequantize() - y.numpy()).max() <= by_numpy.scale.max() / 2 + 1e-3


@pytest.mark.parametrize("bits", [3, 8])
def test_q8_symbols_span_the_range_without_a_clamp(bits):
    """Quantising is ``floor((y - offset) / scale + 0.5)`` with no clamp: the extremes must land on 0 and the top
    symbol, never wrap past it, even for a channel far from zero with a tiny range (the float16 ``MIN_SCALE``) or one
    spanning many orders of magnitude."""
    import numpy as np

    from semlink.codecs.q8 import _quantize_numpy, _quantize_torch

    y = torch.rand(1, 4, 8, 8, generator=torch.Generator().manual_seed(5), dtype=torch.float64).float()
    y[0, 0] = y[0, 0] * 1e-6 + 1000.0  # a constant-ish channel far from zero
    y[0, 1] = y[0, 1] * 6e4 - 3e4  # near float16's largest
    y[0, 2] = (y[0, 2] - 0.5) * 1e-3
    y[0, 3, 0, 0], y[0, 3, 7, 7] = -7.25, 9.5  # extremes sitting exactly on the range's ends
    for symbols in (_quantize_numpy(y.numpy(), bits), _quantize_torch(y, bits)):
        values = symbols.values.reshape(4, -1).astype(int)
        assert values.max() <= 2**bits - 1
        assert (values.min(axis=1) == 0).all()
        assert values[3].max() == 2**bits - 1
        error = np.abs(symbols.dequantize() - y.numpy()).reshape(4, -1).max(axis=1)
        assert (error <= symbols.scale[0] / 2 * (1 + 1e-3) + 1e-6 * np.abs(symbols.offset[0])).all(), error


def test_q8_entropy_codes_only_frames_where_it_pays():
    """``min_saving``: symbols that fill their range go as zstd stored blocks (about their own size, decoded by the
    same decoder), peaked ones are Huffman-coded; 0 codes every frame."""
    import numpy as np

    from semlink.codecs.q8 import UniformConfig

    shape = (256, 8, 8)
    g = torch.Generator().manual_seed(2)
    flat = torch.rand(1, *shape, generator=g)  # uniform: 8 bits of entropy a symbol, nothing to save
    peaked = torch.randn(1, *shape, generator=g) * 0.05  # an outlier per channel stretches its range: most
    peaked[0, :, 0, 0], peaked[0, :, -1, -1] = -5.0, 5.0  # symbols fall in a few steps around the middle

    def coded(codec, x):
        [frame] = codec.compress(x, [0])
        x_hat, lost = codec.decompress([frame])
        assert not lost.any()
        assert (x_hat - x).abs().max() <= torch.tensor(frame.header.scale).max() / 2 + 1e-6
        return sum(len(p.payload) for p in frame.packets[:-1]) / np.prod(shape)

    adaptive = build_codec("q8", shape, FP)
    always = build_codec("q8", shape, FP, min_saving=0.0)
    assert coded(adaptive, flat) > 1.0  # stored: the symbols plus zstd's few bytes of framing
    assert coded(adaptive, peaked) < 0.85 and coded(adaptive, peaked) == coded(always, peaked)
    assert coded(always, flat) <= 1.0 + 0.01
    with pytest.raises(ValueError, match="min_saving"):
        UniformConfig(min_saving=1.0)

"""The learned codec's priors (semlink.codecs.priors): a mixture prices each symbol as its wire tables code it,
goes on from a trained logistic without changing what the codec sends, travels in the checkpoint but not on
the wire, and a codec trained with one is refused the other way round."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semlink.codecs import build_codec, load_codec, save_codec
from semlink.codecs.learned import LearnedConfig, with_prior
from semlink.codecs.priors import FactorizedLogistic, MixtureLogistic

FEATURES = (32, 8, 8)


def codec(**config):
    return build_codec("learned", FEATURES, "fp", hidden=8, latent_channels=4, **config).eval()


def random_mixture(channels: int = 4, seed: int = 0) -> MixtureLogistic:
    torch.manual_seed(seed)
    mixture = MixtureLogistic(channels)
    with torch.no_grad():
        mixture.loc.uniform_(-3, 3)
        mixture.log_scale.uniform_(-2, 1.5)
        mixture.logits.normal_()
    return mixture


def test_a_mixture_prices_each_symbol_as_its_tables_code_it():
    mixture, rng = random_mixture(), np.random.default_rng(0)
    tables = mixture.tables(8)
    pmf = tables.freqs / tables.freqs.sum(axis=1, keepdims=True)
    # symbols as the mixture draws them, (6 frames, 4 channels, 3 x 3)
    symbols = np.stack([rng.choice(256, size=(6, 3, 3), p=row) for row in pmf], axis=1)
    priced = mixture.bits(torch.from_numpy(symbols.astype(np.float32) - 128)).detach().numpy()
    coded = [tables.bits(frame.astype(np.uint8)) for frame in symbols]
    # the integer tables round each probability to 1/65,536 (and keep every symbol >= 1 of it)
    assert np.allclose(priced, coded, atol=1.0), (priced, coded)


def test_a_mixture_of_one_width_is_the_logistic():
    logistic = FactorizedLogistic(4)
    with torch.no_grad():
        logistic.loc.copy_(torch.tensor([-1.0, 0.0, 0.5, 2.0]))
        logistic.log_scale.copy_(torch.tensor([-1.0, 0.0, 0.3, 1.0]))
    mixture = MixtureLogistic.from_logistic(logistic)
    with torch.no_grad():
        mixture.log_scale.copy_(logistic.log_scale[:, None].expand(-1, 3))  # every component its width
    y = torch.randn(3, 4, 2, 2) * 3
    assert torch.allclose(mixture.bits(y), logistic.bits(y), rtol=1e-5)
    assert mixture.tables(8) == logistic.tables(8)


def test_going_on_as_a_mixture_keeps_what_the_codec_sends():
    before = codec()
    after = with_prior(before, "mixture")
    assert after.config.prior == "mixture" and isinstance(after.entropy_model, MixtureLogistic)
    features = torch.randn(2, *FEATURES)
    assert np.array_equal(before.quantize(before.analysis(features)).values,
                          after.quantize(after.analysis(features)).values)
    lost = torch.zeros(2, 4, dtype=torch.bool)
    y = torch.round(before.analysis(features))
    assert torch.equal(before.synthesis(y, lost), after.synthesis(y, lost))
    assert torch.equal(after.entropy_model.loc[:, 1], before.entropy_model.loc)  # each component at its place
    assert with_prior(after, "mixture") is after


def test_a_mixture_codec_round_trips_its_frames_and_its_checkpoint(tmp_path):
    mixed = with_prior(codec(), "mixture")
    mixed.entropy_model.load_state_dict(random_mixture().state_dict())
    mixed.update()  # its tables now come from the mixture
    assert mixed.tables() == mixed.entropy_model.tables(8) != codec().tables()
    features = torch.randn(3, *FEATURES)
    frames = mixed.compress(features, [0, 1, 2])
    decoded, lost = mixed.decompress(frames)
    expected = mixed.synthesis(torch.round(mixed._clamp(mixed.analysis(features))), lost)
    torch.testing.assert_close(decoded, expected)
    assert not lost.any()
    path = save_codec(mixed, tmp_path / "mixture.safetensors")
    again = load_codec(path, fingerprint="fp")
    assert again.config.prior == "mixture" and again.tables() == mixed.tables()
    assert torch.equal(again.entropy_model.logits, mixed.entropy_model.logits)
    torch.testing.assert_close(again.decompress(frames)[0], decoded)


def test_the_prior_is_not_on_the_wire():
    logistic, mixed = codec(), with_prior(codec(), "mixture")
    assert logistic.session(1).codec_config == mixed.session(1).codec_config
    assert "prior" not in logistic.session(1).codec_config


def test_a_mixture_does_not_go_back_to_a_logistic_and_unknown_priors_are_named():
    with pytest.raises(ValueError, match="cannot go on with a logistic one"):
        with_prior(with_prior(codec(), "mixture"), "logistic")
    with pytest.raises(ValueError, match="prior must be one of logistic, mixture"):
        LearnedConfig(prior="gauss")
    with pytest.raises(ValueError, match="prior must be one of logistic, mixture"):
        with_prior(codec(), "gauss")

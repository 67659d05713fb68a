"""The training loop on tiny-random: loss goes down, only the codec learns, checkpoints reload bit-exact,
a resumed run continues the same curve, and cached features train exactly as live ones."""

from __future__ import annotations

import json

import pytest
import torch

from semlink.codecs import build_codec, load_codec, save_codec
from semlink.runtime import load_codec_for

from trainer.checkpoint import TrainState, read_checkpoint, restore_checkpoint, save_checkpoint
from trainer.config import TrainConfig
from trainer.loop import CODEC_FILE, train, warmup_cosine
from trainer.objective import FlorenceReceivedGradient, LinkObjective, assert_frozen


def tiny(tmp_path, name="run", **sections) -> TrainConfig:
    """A few-second run of tiny-random on 16 shapes scenes, no evaluation unless asked."""
    base = TrainConfig.from_dict({
        "model": {"name": "tiny-random", "device": "cpu"},
        "codec": {"hidden": 16, "normalization_images": 16},
        "data": {"train_size": 16, "val_size": 2, "cache_dir": str(tmp_path / "cache")},
        "optim": {"steps": 4, "batch_size": 4, "lr": 3e-3, "warmup_steps": 1},
        "run": {"out_dir": str(tmp_path / name), "log_every": 1, "eval_every": 0, "checkpoint_every": 0,
                "eval_loss_rates": [], "progress": False},
    })
    return base.replace(**sections)


def test_smoke_loss_goes_down_and_codec_ships(tmp_path, bundle):
    config = tiny(tmp_path, optim={"steps": 24, "batch_size": 8, "lr": 1e-2},
                  data={"train_size": 8, "val_size": 2, "cache_dir": str(tmp_path / "cache")},
                  channel={"clean_fraction": 1.0}, run={"eval_loss_rates": [0.2]})
    result = train(config, bundle=bundle)
    first, last = sum(result.losses[:3]) / 3, sum(result.losses[-3:]) / 3
    assert last < first * 0.9, result.losses
    assert result.codec_path == tmp_path / "run" / CODEC_FILE
    codec = load_codec_for(bundle, str(result.codec_path))  # the services load it as it is
    assert codec.codec_id == "learned"
    assert "<CAPTION>@0.20/agree" in result.evaluation
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 24 + 1  # one row per step (log_every=1) and the final evaluation


def test_gradients_reach_only_the_codec(bundle):
    codec = build_codec("learned", bundle.feature_shape, bundle.fingerprint, hidden=16)
    weights = TrainConfig.from_dict({"loss": {"ce": 1.0, "distill": 1.0, "feature_mse": 1.0, "projector_mse": 1.0,
                                              "rate": 0.1}}).loss
    objective = LinkObjective(bundle, codec, weights)
    assert [n for n, _ in objective.named_parameters()] == [f"codec.{n}" for n, _ in codec.named_parameters()]
    features = torch.randn(2, *bundle.feature_shape)
    terms = objective(features, ["<CAPTION>"] * 2, ["a red circle.", "two blue squares."])
    terms["loss"].backward()
    assert set(terms) >= {"ce", "distill", "feature_mse", "projector_mse", "rate"}
    for name, p in codec.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert_frozen(bundle)  # nothing in Florence-2 got a gradient
    p = next(bundle.model.parameters())
    p.grad = torch.zeros_like(p)
    with pytest.raises(FlorenceReceivedGradient):
        assert_frozen(bundle)
    p.grad = None


def test_checkpoint_reloads_bit_exact(tmp_path, bundle):
    def objects():
        codec = build_codec("learned", bundle.feature_shape, bundle.fingerprint, hidden=16)
        optimizer = torch.optim.AdamW(codec.parameters(), lr=1e-2)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(2, 10, 0.1))
        return codec, optimizer, scheduler, torch.amp.GradScaler("cpu", enabled=False)

    codec, optimizer, scheduler, scaler = objects()
    for _ in range(3):
        codec(torch.randn(2, *bundle.feature_shape)).x_hat.square().mean().backward()
        optimizer.step(), scheduler.step(), optimizer.zero_grad()
    path = save_checkpoint(tmp_path, TrainState(3, 6), codec, optimizer, scheduler, scaler, {"x": 1})
    expected_draw = torch.rand(5)

    fresh = objects()
    state = restore_checkpoint(read_checkpoint(path), *fresh)
    assert state == TrainState(3, 6)
    assert torch.equal(torch.rand(5), expected_draw)  # RNG states restored
    for k, v in codec.state_dict().items():
        assert torch.equal(fresh[0].state_dict()[k], v), k
    saved, loaded = optimizer.state_dict(), fresh[1].state_dict()
    assert saved["param_groups"] == loaded["param_groups"]
    for i, s in saved["state"].items():
        for k, v in s.items():
            assert torch.equal(torch.as_tensor(loaded["state"][i][k]), torch.as_tensor(v)), (i, k)
    assert fresh[2].state_dict() == scheduler.state_dict()

    other = build_codec("learned", bundle.feature_shape, "other-weights", hidden=16)
    with pytest.raises(ValueError, match="other-weights"):
        restore_checkpoint(read_checkpoint(path), other, *objects()[1:])

    shipped = load_codec(save_codec(codec, tmp_path / "codec.safetensors"), fingerprint=bundle.fingerprint)
    x = torch.randn(2, *bundle.feature_shape)
    codec.eval()
    assert torch.equal(shipped(x).x_hat, codec(x).x_hat)


def test_resume_continues_the_same_curve(tmp_path, bundle):
    sections = {"optim": {"steps": 6, "batch_size": 4, "lr": 3e-3, "warmup_steps": 2},
                "channel": {"loss_p": [0.0, 0.3], "burst_fraction": 0.5, "bit_error_fraction": 0.3}}
    whole = train(tiny(tmp_path, "whole", **sections), bundle=bundle)
    first = train(tiny(tmp_path, "split", **sections), bundle=bundle, stop_at=3)
    assert first.codec_path is None and first.state.step == 3
    second = train(tiny(tmp_path, "split", **sections), bundle=bundle)  # resume="auto" finds step 3
    assert first.losses + second.losses == whole.losses
    a = load_codec(whole.codec_path).state_dict()
    b = load_codec(second.codec_path).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    steps = [json.loads(line)["step"] for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_cached_features_give_the_same_loss_as_live(tmp_path, bundle):
    cached = train(tiny(tmp_path, "cached", optim={"steps": 2}), bundle=bundle)
    live = train(tiny(tmp_path, "live", optim={"steps": 2},
                      data={"cache": False, "train_size": 16, "val_size": 2}), bundle=bundle)
    assert cached.losses == live.losses
    assert (tmp_path / "cache").is_dir() and not (tmp_path / "live" / "cache").exists()


def test_live_images_preprocessed_in_loader_workers_train_as_in_the_main_process(tmp_path, bundle):
    data = {"cache": False, "train_size": 16, "val_size": 2}
    main = train(tiny(tmp_path, "main", optim={"steps": 2}, data=data), bundle=bundle)
    workers = train(tiny(tmp_path, "workers", optim={"steps": 2}, data={**data, "workers": 2}), bundle=bundle)
    assert workers.losses == main.losses


def test_a_logistic_codec_goes_on_training_as_a_mixture(tmp_path, bundle):
    first = train(tiny(tmp_path, "logistic", loss={"rate": 1.0}), bundle=bundle)
    start = load_codec_for(bundle, str(first.codec_path))
    assert start.config.prior == "logistic"
    result = train(tiny(tmp_path, "mixture", codec={"init": str(first.codec_path), "prior": "mixture"},
                        loss={"rate": 1.0}), bundle=bundle)
    mixed = load_codec_for(bundle, str(result.codec_path))
    assert mixed.config.prior == "mixture" and type(mixed.entropy_model).__name__ == "MixtureLogistic"
    assert not torch.equal(mixed.entropy_model.logits, torch.zeros_like(mixed.entropy_model.logits))  # it trained
    assert mixed.tables() == mixed.entropy_model.tables(mixed.config.bits)  # and codes with its tables
    again = train(tiny(tmp_path, "again", codec={"init": str(result.codec_path)}, loss={"rate": 1.0}), bundle=bundle)
    assert load_codec_for(bundle, str(again.codec_path)).config.prior == "mixture"  # an init keeps its prior


def test_an_init_goes_on_with_this_runs_quantiser_and_names_the_architecture_it_keeps(tmp_path, bundle, caplog):
    first = train(tiny(tmp_path, "first"), bundle=bundle)
    assert load_codec_for(bundle, str(first.codec_path)).config.quantizer == "noise"
    with caplog.at_level("INFO", logger="trainer.codec_init"):
        ste = train(tiny(tmp_path, "ste", codec={"init": str(first.codec_path), "hidden": 16, "quantizer": "ste"}),
                    bundle=bundle)
    assert load_codec_for(bundle, str(ste.codec_path)).config.quantizer == "ste"  # the run's, not the init's
    assert "going on with ste" in caplog.text and "keeps its own architecture" not in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="trainer.codec_init"):
        wider = train(tiny(tmp_path, "wider", codec={"init": str(first.codec_path), "hidden": 32, "stride": 4}),
                      bundle=bundle)
    kept = load_codec_for(bundle, str(wider.codec_path)).config
    assert (kept.hidden, kept.stride) == (16, 2)  # the weights fix the architecture...
    warning = next(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "stride=2 (this config: 4)" in warning and "hidden=16 (this config: 32)" in warning  # ...and it is said

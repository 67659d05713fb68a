"""``semlink train-pixels``: the config, a few real steps through the frozen Florence-2, and the checkpoint it writes."""

from __future__ import annotations

import json

import pytest
import torch

from semlink.cli.main import main
from semlink.codecs.learned_pixels import load_pixel_codec
from semlink.runtime import load_model
from trainer.objective import FlorenceReceivedGradient
from trainer.pixels import PIXEL_CODEC_FILE, PixelTrainConfig, load_pixel_config, train_pixels

TINY_RUN = {
    "codec": {"hidden": 8, "latent_channels": 4},
    "data": {"train_size": 8, "val_size": 2},
    "optim": {"steps": 2, "batch_size": 4, "warmup_steps": 1},
    "run": {"log_every": 1, "eval_batch_size": 4, "eval_loss_rates": [0.0, 0.5]},
}


@pytest.fixture(scope="module")
def bundle():
    return load_model("shapes-tiny", "cpu", "float32")


def test_shipped_configs_load_and_bad_keys_are_named():
    config = load_pixel_config("configs/pixels-shapes.yaml", ["loss.rate=3"])
    assert config.loss.rate == 3.0 and config.model.name == "shapes-tiny" and config.codec.stride == 8
    assert load_pixel_config("configs/pixels-shapes-task.yaml").loss.ce == 1.0
    assert PixelTrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="valid keys are"):
        PixelTrainConfig.from_dict({"loss": {"pixel_msee": 1.0}})
    with pytest.raises(ValueError, match="every distortion weight"):
        PixelTrainConfig.from_dict({"loss": {"pixel_mse": 0.0}})


def test_task_fine_tuning_trains_only_the_codec_and_writes_a_loadable_point(bundle, tmp_path):
    first = PixelTrainConfig.from_dict({**TINY_RUN, "run": {**TINY_RUN["run"], "out_dir": str(tmp_path / "a")}})
    start = train_pixels(first, bundle=bundle)
    assert set(start) >= {"<CAPTION>@0.00/em", "<CAPTION>@0.50/wire_bytes", "train_seconds"}
    init = tmp_path / "a" / PIXEL_CODEC_FILE
    task = PixelTrainConfig.from_dict({
        **TINY_RUN, "codec": {"init": str(init)}, "loss": {"pixel_mse": 0.1, "ce": 1.0, "feature_mse": 0.5},
        "run": {**TINY_RUN["run"], "eval_loss_rates": [], "out_dir": str(tmp_path / "b")}})
    train_pixels(task, bundle=bundle)
    assert all(p.grad is None and not p.requires_grad for p in bundle.model.parameters())
    before, after = load_pixel_codec(init), load_pixel_codec(tmp_path / "b" / PIXEL_CODEC_FILE, bundle.fingerprint)
    assert after.config == before.config  # the architecture came from codec.init
    changed = [k for k, v in after.state_dict().items() if not torch.equal(v, before.state_dict()[k])]
    assert any(k.startswith("synthesis_net") for k in changed) and any(k.startswith("analysis_net") for k in changed)
    rows = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert {"ce", "pixel_mse", "feature_mse", "rate", "bits"} <= set(rows[0])


def test_a_model_that_is_not_frozen_is_refused(bundle, tmp_path):
    config = PixelTrainConfig.from_dict({**TINY_RUN, "run": {**TINY_RUN["run"], "out_dir": str(tmp_path)}})
    weight = next(bundle.model.parameters())
    weight.requires_grad_(True)
    try:
        with pytest.raises(FlorenceReceivedGradient):
            train_pixels(config, bundle=bundle)
    finally:
        weight.requires_grad_(False)


def test_the_command_prints_its_resolved_config(capsys):
    assert main(["train-pixels", "configs/pixels-shapes.yaml", "--set", "loss.rate=30", "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["loss"]["rate"] == 30.0


def test_every_example_in_the_help_parses(capsys):
    from semlink.cli.train_pixels import HELP

    examples = [line.split()[1:] for line in HELP.splitlines() if line.strip().startswith("semlink train-pixels")]
    assert len(examples) == 2
    for argv in examples:
        assert main([*argv, "--print-config"]) == 0
        assert json.loads(capsys.readouterr().out)["model"]["name"] == "shapes-tiny"


def test_an_init_goes_on_with_this_runs_quantiser_and_names_the_architecture_it_keeps(bundle, tmp_path, caplog):
    first = PixelTrainConfig.from_dict({**TINY_RUN, "run": {**TINY_RUN["run"], "eval_loss_rates": [],
                                                            "out_dir": str(tmp_path / "a")}})
    train_pixels(first, bundle=bundle)
    init = tmp_path / "a" / PIXEL_CODEC_FILE
    again = PixelTrainConfig.from_dict({
        **TINY_RUN, "codec": {"init": str(init), "hidden": 16, "latent_channels": 4, "quantizer": "ste"},
        "run": {**TINY_RUN["run"], "eval_loss_rates": [], "out_dir": str(tmp_path / "b")}})
    with caplog.at_level("WARNING", logger="trainer.codec_init"):
        train_pixels(again, bundle=bundle)
    after = load_pixel_codec(tmp_path / "b" / PIXEL_CODEC_FILE, bundle.fingerprint).config
    assert (after.quantizer, after.hidden) == ("ste", 8)  # the run's quantiser, the checkpoint's width
    assert "hidden=8 (this config: 16)" in caplog.text and "latent_channels" not in caplog.text

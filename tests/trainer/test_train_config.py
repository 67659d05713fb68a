"""Run configs: YAML + --set overrides, refusals that name the bad field, and the shipped configs parse."""

import json
import shlex
from pathlib import Path

import pytest
import yaml

from trainer.config import TrainConfig, apply_overrides, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", ["tiny.yaml", "first-run.yaml", "shapes.yaml", "coco-base.yaml"])
def test_shipped_configs_load(name):
    config = load_config(CONFIGS / name)
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_shapes_config_fits_one_64th_of_fp16_on_the_wire_and_trains_through_loss():
    config = load_config(CONFIGS / "shapes.yaml")
    assert config.model.name == "shapes-tiny"
    c, h, w = 128, 8, 8  # shapes-tiny's features
    rows = h // config.codec.stride
    zstd_framing = 9  # bytes per packet when a row does not compress (frame header + raw block header)
    worst_payload = rows * (config.codec.latent_channels * (w // config.codec.stride) + zstd_framing)
    assert config.codec.bits == 8 and worst_payload <= c * h * w * 2 / 64
    assert config.channel.loss_p == (0.0, 0.3)


def test_overrides_are_parsed_as_yaml(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("optim:\n  steps: 5\n")
    config = load_config(path, ["optim.lr=3e-4", "data.tasks=[<CAPTION>, <OD>]", "channel.loss_p=[0.1, 0.2]",
                                "run.progress=false"])
    assert config.optim.steps == 5 and config.optim.lr == 3e-4
    assert config.data.tasks == ("<CAPTION>", "<OD>")
    assert config.channel.loss_p == (0.1, 0.2)
    assert config.run.progress is False


def test_amp_off_survives_yaml_reading_off_as_false(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("run:\n  amp: off\n")
    assert load_config(path).run.amp == "off"
    assert load_config(None, ["run.amp=off"]).run.amp == "off"


@pytest.mark.parametrize("values, words", [
    ({"optim": {"stpes": 3}}, "stpes"),
    ({"optimiser": {}}, "optimiser"),
    ({"optim": {"lr": -1}}, "optim.lr"),
    ({"channel": {"loss_p": [0.3, 0.1]}}, "channel.loss_p"),
    ({"codec": {"bits": 12}}, "bits"),
    ({"data": {"source": "folder"}}, "data.path"),
    ({"loss": {"ce": 0}}, "distortion"),
    ({"data": {"look_alike_repeats": 0}}, "data.look_alike_repeats"),
    ({"data": {"source": "coco", "path": "x", "captions": "y", "look_alike_repeats": 2}}, "source: shapes"),
])
def test_bad_configs_name_the_field(values, words):
    with pytest.raises(ValueError, match=words):
        TrainConfig.from_dict(values)


def test_bad_override_syntax():
    with pytest.raises(ValueError, match="key=value"):
        apply_overrides({}, ["optim.lr"])


def test_replace_changes_one_field():
    config = TrainConfig().replace(optim={"steps": 7})
    assert config.optim.steps == 7 and config.optim.lr == TrainConfig().optim.lr


def test_every_semlink_train_example_in_the_help_resolves(capsys):
    """Each `semlink train` line of --help, as printed (continued lines joined), resolves to a config holding what
    it sets, and pastes into a shell as one command."""
    from semlink.cli.main import main

    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    printed = capsys.readouterr().out
    assert all(len(line) <= 120 for line in printed.splitlines()), "an example line runs on: continue it with \\"
    text = printed.split("\npositional arguments:")[0].replace("\\\n", " ")  # the description, lines joined
    assert not any(line.strip().startswith("--set") for line in text.splitlines())  # no continuation left bare
    examples = [shlex.split(line.split("#")[0])[2:] for line in text.splitlines()
                if line.strip().startswith("semlink train ")]
    assert len(examples) == 5
    for argv in examples:
        assert main(["train", *argv, "--print-config"]) == 0
        config = json.loads(capsys.readouterr().out)
        for setting in (argv[i + 1] for i, a in enumerate(argv) if a == "--set"):
            key, value = setting.split("=", 1)
            section, field = key.split(".")
            expected = yaml.safe_load(value)
            if isinstance(expected, str) and expected[:1].isdigit():
                expected = float(expected)  # YAML 1.1 reads 2e-4 as text; the config reads it as a number
            assert config[section][field] == expected, setting
    assert "codec.prior=mixture" in examples[-1]

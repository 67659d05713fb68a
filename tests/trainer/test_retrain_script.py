"""scripts/retrain-shapes-codec.sh: every run it describes is a config the trainer accepts, each continuing the last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def recipe_configs(script: str, tmp_path: Path) -> list[dict]:
    """The configs ``script`` would train, in order: the CLI is stood in for by one that prints each resolved
    config instead of training."""
    shim = tmp_path / "semlink"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m semlink.cli "$@" --print-config\n')
    shim.chmod(0o755)
    out = subprocess.run(["bash", str(ROOT / script), str(tmp_path / "runs")],
                         env={**os.environ, "SEMLINK": str(shim)}, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    decoder = json.JSONDecoder()
    text, configs = out.stdout, []
    while (start := text.find("{")) >= 0:
        config, end = decoder.raw_decode(text[start:])
        configs.append(config)
        text = text[start + end:]
    return configs


def test_each_run_of_the_codec_recipe_resolves_to_a_valid_config(tmp_path):
    configs = recipe_configs("scripts/retrain-shapes-codec.sh", tmp_path)
    assert len(configs) == 5
    for k, config in enumerate(configs, start=1):
        assert config["run"]["out_dir"] == str(tmp_path / "runs" / str(k))
        if k > 1:
            assert config["codec"]["init"] == str(tmp_path / "runs" / str(k - 1) / "codec-learned.safetensors")
    assert configs[-1]["optim"]["batch_size"] == 128 and configs[-1]["run"]["amp"] == "off"


def test_the_rate_points_recipe_resolves_and_chains(tmp_path):
    """scripts/train-rate-points.sh: eight runs, each a valid config continuing the run it names."""
    configs = recipe_configs("scripts/train-rate-points.sh", tmp_path)
    runs = {Path(c["run"]["out_dir"]).name: c for c in configs}
    assert list(runs)[:2] == ["rate-1", "rate-3"] and len(runs) == 8
    assert runs["rate-1"]["codec"]["init"] == "runs/shapes-codec/5/codec-learned.safetensors"
    assert runs["rate-120"]["codec"]["init"].endswith("rate-50/codec-learned.safetensors")
    assert runs["rate-120"]["loss"]["rate"] == 120 and runs["rate-120"]["codec"]["rows_per_packet"] == 2
    default = runs["rate-5-rows1-long"]
    assert default["codec"]["rows_per_packet"] == 1 and default["optim"]["steps"] == 1500

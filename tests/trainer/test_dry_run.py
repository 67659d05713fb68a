"""``semlink train --dry-run``: measures a run's cost on a few steps and writes nothing."""

from __future__ import annotations

import math

from semlink.cli.train import _cost_report

from trainer.config import TrainConfig
from trainer.dry_run import dry_run


def test_dry_run_estimates_and_writes_nothing(tmp_path, bundle):
    config = TrainConfig.from_dict({
        "model": {"name": "tiny-random", "device": "cpu"},
        "codec": {"hidden": 16, "normalization_images": 16},
        "data": {"train_size": 32, "val_size": 4, "cache_dir": str(tmp_path / "cache")},
        "optim": {"steps": 100, "batch_size": 4},
        "run": {"out_dir": str(tmp_path / "run"), "eval_every": 50, "eval_loss_rates": [0.0], "eval_batch_size": 4,
                "progress": False},
    })
    report = dry_run(config, steps=2, bundle=bundle)
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()
    assert report["timed_steps"] == 2 and report["steps_per_s"] > 0 and report["peak_memory_mb"] > 0
    cache = report["cache"]
    assert cache["to_encode"] == 36 and cache["bytes_total"] == 36 * 4 * math.prod(bundle.feature_shape)  # float32
    t = report["seconds"]
    assert t["evals"] == 2 and report["eta_seconds"] >= t["train"] + t["eval"] + t["feature_cache"] - 0.15  # each rounded to 0.1 s
    assert abs(t["train"] - 100 / report["steps_per_s"]) < 0.05 * t["train"] + 0.1
    text = _cost_report(report)
    assert "steps/s" in text and "ETA" in text and "peak memory" in text and "36 to encode" in text

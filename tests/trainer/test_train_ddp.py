"""Data-parallel training: 2 CPU processes (gloo) match one process with the same global batch."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from semlink.codecs import load_codec
from semlink.runtime import load_model

from trainer.config import TrainConfig
from trainer.loop import train

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(tmp_path, name: str, batch_size: int) -> TrainConfig:
    """Deterministic per-image losses (MSE terms, STE rounding, clean channel), so 2 x B equals 1 x 2B.

    Codec weights agree to float noise; Adam amplifies it on near-zero gradients (the entropy model's loc).
    """
    return TrainConfig.from_dict({
        "model": {"name": "tiny-random", "device": "cpu"},
        "codec": {"hidden": 16, "quantizer": "ste", "normalization_images": 16},
        "channel": {"clean_fraction": 1.0},
        "loss": {"ce": 0.0, "feature_mse": 1.0, "projector_mse": 1.0, "rate": 0.01},
        "data": {"train_size": 16, "val_size": 2, "cache_dir": str(tmp_path / "cache")},
        "optim": {"steps": 3, "batch_size": batch_size, "lr": 1e-2, "warmup_steps": 1},
        "run": {"out_dir": str(tmp_path / name), "log_every": 1, "eval_every": 0, "checkpoint_every": 0,
                "eval_loss_rates": [], "progress": False},
    })


def logged_losses(run_dir: Path) -> list[float]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


def assert_same_codec(a: Path, b: Path) -> None:
    sa, sb = load_codec(a).state_dict(), load_codec(b).state_dict()
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], rtol=1e-3, atol=1e-3, msg=lambda m, k=k: f"{k}: {m}")


def _worker(rank: int, port: int, cfg: TrainConfig, bundle) -> None:
    torch.set_num_threads(1)  # forked: keep OpenMP out of the child, one core each
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE="2")
    train(cfg, bundle=bundle)


def test_two_processes_match_one(tmp_path, tiny):
    bundle = tiny
    single = train(config(tmp_path, "single", batch_size=8), bundle=bundle)
    cfg = config(tmp_path, "ddp", batch_size=4)
    ctx = multiprocessing.get_context("fork")  # the parent's imports and model are reused: no 2 x 20 s start-up
    port = free_port()
    workers = [ctx.Process(target=_worker, args=(rank, port, cfg, bundle)) for rank in (0, 1)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    summary = json.loads((tmp_path / "ddp" / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["images"] == single.state.images
    torch.testing.assert_close(logged_losses(tmp_path / "ddp"), single.losses, rtol=1e-4, atol=1e-6)
    assert_same_codec(tmp_path / "ddp" / "codec-learned.safetensors", single.codec_path)


@pytest.mark.slow
def test_torchrun_two_processes(tmp_path):
    """The real launcher: ``torchrun --nproc_per_node 2 -m trainer CONFIG``."""
    path = tmp_path / "run.yaml"
    path.write_text(json.dumps(config(tmp_path, "torchrun", batch_size=4).to_dict()))  # JSON is YAML
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                    "--master_port", str(free_port()), "-m", "trainer", str(path)],
                   check=True, cwd=ROOT, env=env, timeout=300)
    single = train(config(tmp_path, "single", batch_size=8), bundle=load_model("tiny-random"))
    torch.testing.assert_close(logged_losses(tmp_path / "torchrun"), single.losses, rtol=1e-4, atol=1e-6)
    assert_same_codec(tmp_path / "torchrun" / "codec-learned.safetensors", single.codec_path)

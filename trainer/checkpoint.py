"""Training checkpoints that resume exactly: codec, optimizer, scheduler, grad scaler, RNG states, step.

One ``torch.save`` file per checkpoint (``step-00000100.pt`` under
``<out_dir>/checkpoints``), loadable with ``weights_only=True``. It carries the
run's config, so a resumed run can check it continues the same run. The shipped
codec is written separately with ``semlink.codecs.save_codec``.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)

FORMAT = "semlink-train/1"


@dataclass
class TrainState:
    """What a run has done: optimizer steps taken and images seen (all processes)."""

    step: int = 0
    images: int = 0


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch (CPU and every CUDA device) RNG states, as weights-only-loadable values."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos,
                  "has_gauss": has_gauss, "cached": cached},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_dir(out_dir: str | Path) -> Path:
    return Path(out_dir) / "checkpoints"


def save_checkpoint(out_dir: str | Path, state: TrainState, codec, optimizer, scheduler, scaler,
                    config: dict, keep: int = 2) -> Path:
    """Write ``step-XXXXXXXX.pt`` atomically, then delete all but the newest ``keep``."""
    directory = checkpoint_dir(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"step-{state.step:08d}.pt"
    payload = {
        "format": FORMAT,
        "step": state.step,
        "images": state.images,
        "config": config,
        "fingerprint": codec.fingerprint,
        "codec": codec.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(),
        "rng": rng_state(),
    }
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    for old in sorted(directory.glob("step-*.pt"))[:-keep]:
        old.unlink()
    return path


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    found = sorted(checkpoint_dir(out_dir).glob("step-*.pt"))
    return found[-1] if found else None


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a semlink training checkpoint (format {payload.get('format')!r})")
    return payload


def restore_checkpoint(payload: dict[str, Any], codec, optimizer, scheduler, scaler) -> TrainState:
    """Load a checkpoint's states into live objects and set the RNGs; returns the run's state.

    Refuses a checkpoint of a codec trained for other Florence-2 weights.
    """
    if payload["fingerprint"] != codec.fingerprint:
        raise ValueError(f"this checkpoint trained a codec for Florence-2 weights {payload['fingerprint']}, but the "
                         f"loaded model is {codec.fingerprint}: start a new run (another run.out_dir, or --resume never)")
    codec.load_state_dict(payload["codec"])
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    scaler.load_state_dict(payload["scaler"])
    set_rng_state(payload["rng"])
    return TrainState(step=payload["step"], images=payload["images"])

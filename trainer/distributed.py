"""Data parallelism under ``torchrun``: process group setup (gloo on CPU, NCCL on CUDA) and small collectives.

Without torchrun's environment (``WORLD_SIZE`` unset or 1) everything here is a
no-op, so the same training code runs as one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Processes:
    """This process's place among ``world`` data-parallel processes."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def setup(device: str) -> tuple[Processes, str]:
    """Join torchrun's process group if there is one; returns the processes and this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Processes(), device
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return Processes(rank, world, local_rank), device


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(processes: Processes) -> None:
    if processes.distributed:
        dist.barrier()


def mean_over_processes(values: dict[str, float], processes: Processes, device: str) -> dict[str, float]:
    """Each value averaged over all processes (every process must call this with the same keys)."""
    if not processes.distributed or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return {k: v / processes.world for k, v in zip(keys, t.tolist())}

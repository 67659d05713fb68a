"""Scaling efficiency: the same load on one receiver and on two (round robin), in one run.

Efficiency = answers/s of two receivers / (2 x answers/s of one). On one GPU per
receiver it should approach 1; on a CPU-only machine both receivers share the
cores, so it mostly shows the machine's limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from semlink.bench.receiver_load import LoadResult, ReceiverConfig, deliver, receivers, run_levels
from semlink.packets import Frame, Session


@dataclass(frozen=True)
class Scaling:
    one: LoadResult
    two: LoadResult

    @property
    def speedup(self) -> float:
        return self.two.answers_per_s / self.one.answers_per_s

    @property
    def efficiency(self) -> float:
        return self.speedup / 2


def measure(config: ReceiverConfig, frames: Sequence[Frame], session: Session, task: str, concurrency: int,
            requests_per_client: int, devices: Sequence[str] = ()) -> Scaling:
    """One receiver, then two (``devices`` cycled over them), under the same load."""
    results = []
    for count in (1, 2):
        with receivers(config, count, devices) as fleet:
            for _, target in fleet:
                deliver(target, frames, session)  # every replica holds every frame: no store in the way
            urls = [url for url, _ in fleet]
            ids = [f.header.frame_id for f in frames]
            results.append(run_levels(urls, ids, task, [concurrency], requests_per_client)[0])
    return Scaling(*results)


def table(s: Scaling, header: str) -> str:
    return "\n".join([
        header,
        f"{'receivers':>9} | {'ans/s':>8} {'p50 ms':>9} {'p99 ms':>9}",
        f"{1:>9} | {s.one.answers_per_s:>8.2f} {s.one.p50_ms:>9.1f} {s.one.p99_ms:>9.1f}",
        f"{2:>9} | {s.two.answers_per_s:>8.2f} {s.two.p50_ms:>9.1f} {s.two.p99_ms:>9.1f}",
        f"speedup {s.speedup:.2f}x, scaling efficiency {100 * s.efficiency:.0f}% (two / (2 x one))",
    ])

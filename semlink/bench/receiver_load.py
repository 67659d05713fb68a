"""Receiver throughput and latency under concurrent task requests: dynamic batching against ``max_batch=1``.

Each configuration runs as real ``python -m receiver_service`` processes on
loopback; frames of the sample images are coded here and sent over gRPC to every
receiver, then ``concurrency`` clients each POST tasks back to back (spread round
robin over the receivers) until ``requests`` answers are in. One configuration
runs at a time, so they do not share the machine.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import grpc
import httpx
import numpy as np

from semlink.launch.ports import free_ports
from semlink.launch.process import ServiceProcess
from semlink.link.sender import MESSAGE_SIZE_OPTIONS
from semlink.bench.stream_client import StreamClient
from semlink.packets import Frame, Session
from semlink.packets.outcome import AckStatus


@dataclass(frozen=True)
class LoadResult:
    """What ``requests`` answers at ``concurrency`` cost: answers per second and latency percentiles (ms)."""

    concurrency: int
    answers: int
    errors: int
    answers_per_s: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class ReceiverConfig:
    model: str
    codec: str
    device: str = "auto"
    max_batch: int = 8
    max_delay_ms: float = 10.0
    max_new_tokens: int | None = None
    torch_threads: int = 0
    store: str = "memory"

    def environment(self, http_port: int, grpc_port: int, device: str | None = None) -> dict[str, str]:
        env = {
            "SEMLINK_RX_MODEL": self.model, "SEMLINK_RX_CODEC": self.codec, "SEMLINK_RX_DEVICE": device or self.device,
            "SEMLINK_RX_HOST": "127.0.0.1", "SEMLINK_RX_HTTP_PORT": str(http_port),
            "SEMLINK_RX_GRPC_PORT": str(grpc_port), "SEMLINK_RX_MAX_BATCH": str(self.max_batch),
            "SEMLINK_RX_MAX_DELAY_MS": str(self.max_delay_ms), "SEMLINK_RX_QUEUE_SIZE": "1024",
            "SEMLINK_RX_TORCH_THREADS": str(self.torch_threads), "SEMLINK_RX_STORE": self.store,
            "SEMLINK_RX_LOG_LEVEL": "warning",
        }
        if self.max_new_tokens:
            env["SEMLINK_RX_MAX_NEW_TOKENS"] = str(self.max_new_tokens)
        return env


@contextmanager
def receivers(config: ReceiverConfig, count: int = 1, devices: Sequence[str] = (), ready_timeout_s: float = 900):
    """``count`` receiver processes on free loopback ports (``devices[i]`` for the i-th, cycled); their
    ``(http_url, grpc_target)`` pairs. Stopped on exit."""
    ports = free_ports(2 * count)
    procs = []
    with ExitStack() as stack:
        for i in range(count):
            http, grpc_port = ports[2 * i], ports[2 * i + 1]
            device = devices[i % len(devices)] if devices else None
            proc = ServiceProcess(f"receiver-{i}", "receiver_service", config.environment(http, grpc_port, device),
                                  f"http://127.0.0.1:{http}")
            proc.start()
            stack.callback(proc.stop, 10.0)
            procs.append((proc, f"127.0.0.1:{grpc_port}"))
        deadline = time.monotonic() + ready_timeout_s
        with httpx.Client() as client:
            for proc, _ in procs:
                proc.wait_ready(deadline, client)
        yield [(proc.url, target) for proc, target in procs]


def deliver(grpc_target: str, frames: Sequence[Frame], session: Session) -> None:
    """Send ``frames`` on one stream and wait for every ack (raise if any frame is not ``ok``)."""
    with grpc.insecure_channel(grpc_target, options=MESSAGE_SIZE_OPTIONS) as channel:
        link = StreamClient(channel, session, timeout=120)
        try:
            reply = link.opened(60)
            if not reply.accepted:
                raise RuntimeError(f"the receiver refused the session: {reply.reason}: {reply.detail}")
            for frame in frames:
                link.send(frame)
            for frame in frames:
                ack = link.ack(frame.header.frame_id, 120)
                if ack.status != AckStatus.OK:
                    raise RuntimeError(f"frame {frame.header.frame_id} was acked {ack.status}: {ack.detail}")
        finally:
            link.close()


async def _load(urls: Sequence[str], frame_ids: Sequence[int], task: str, concurrency: int,
                requests: int) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    targets = itertools.cycle([(u, f) for f in frame_ids for u in urls])
    limits = httpx.Limits(max_connections=concurrency + 4)
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:
        left = requests

        async def worker():
            nonlocal left, errors
            while left > 0:
                left -= 1
                url, fid = next(targets)
                started = time.perf_counter()
                response = await client.post(f"{url}/v1/frames/{fid}/tasks", json={"task": task})
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000 if latencies else np.array([float("nan")])
    return LoadResult(concurrency, len(latencies), errors, len(latencies) / wall, float(np.percentile(ms, 50)),
                      float(np.percentile(ms, 99)))


def load(urls: Sequence[str], frame_ids: Sequence[int], task: str, concurrency: int, requests: int) -> LoadResult:
    """``requests`` task requests from ``concurrency`` clients at once, round robin over ``urls`` and frames."""
    return asyncio.run(_load(urls, frame_ids, task, concurrency, requests))


def run_levels(urls, frame_ids, task: str, levels: Sequence[int], requests_per_client: int,
               warmup: int = 2) -> list[LoadResult]:
    """One :class:`LoadResult` per concurrency level (after ``warmup`` answers at the top level)."""
    if warmup:
        load(urls, frame_ids, task, max(levels), max(warmup, max(levels)))
    return [load(urls, frame_ids, task, c, max(c * requests_per_client, c)) for c in levels]


def batching_table(batched: list[LoadResult], single: list[LoadResult], max_batch: int, header: str) -> str:
    lines = [header, f"{'concurrency':>11} | {f'max_batch={max_batch}: ans/s':>22} {'p50 ms':>9} {'p99 ms':>9} | "
             f"{'max_batch=1: ans/s':>18} {'p50 ms':>9} {'p99 ms':>9} | {'ratio':>6}"]
    for b, s in zip(batched, single):
        lines.append(f"{b.concurrency:>11} | {b.answers_per_s:>22.2f} {b.p50_ms:>9.1f} {b.p99_ms:>9.1f} | "
                     f"{s.answers_per_s:>18.2f} {s.p50_ms:>9.1f} {s.p99_ms:>9.1f} | {b.answers_per_s / s.answers_per_s:>5.2f}x")
    errors = sum(r.errors for r in batched + single)
    if errors:
        lines.append(f"{errors} requests failed (not counted)")
    return "\n".join(lines)

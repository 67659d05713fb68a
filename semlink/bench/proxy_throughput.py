"""channel_sim's throughput against a bare grpc.aio pass-through, on the same frames, in one run.

Both hops are child processes between this process's client and sink
(:class:`semlink.launch.proxy_hop.ProxyHop`); each streams the same coded frames
back to back, ``rounds`` times, alternating hops, and the best round of each counts.
All three processes share the machine's cores, so on a small machine a round's
throughput also measures who got the CPU; the hop process's own CPU time per
frame (from ``/proc``, over all rounds) is the steadier reading of what each hop
costs, and ``1 / cpu`` the frames/s it could carry on a core of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace

import grpc
import torch

from semlink.codecs import build_codec
from semlink.launch.proxy_hop import GRPC_OPTIONS, ProxyHop
from semlink.packets import Frame, Session


class PassThroughProcess:
    """``python -m semlink.bench.passthrough`` as the hop's process (what ProxyHop calls on its proxy)."""

    def __init__(self, port: int, upstream_port: int):
        self.port, self.upstream_port = port, upstream_port
        self.url = f"grpc://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "semlink.bench.passthrough", str(self.port),
                                      f"127.0.0.1:{self.upstream_port}"], stdin=subprocess.DEVNULL)

    def wait_ready(self, deadline: float, client=None) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{self.port}", options=GRPC_OPTIONS) as channel:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the pass-through exited with {self.proc.returncode}")
                try:
                    grpc.channel_ready_future(channel).result(timeout=0.5)
                    return
                except grpc.FutureTimeoutError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the pass-through did not listen in time") from None

    def stop(self, grace: float) -> int | None:
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode


class PassThroughHop(ProxyHop):
    """:class:`ProxyHop` with the bare pass-through where channel_sim would be."""

    def __init__(self, session: Session, ready_timeout: float = 60.0):
        super().__init__(session, ready_timeout)
        self.proxy = PassThroughProcess(self.ports.channel_grpc, self.ports.receiver_grpc)


@dataclass(frozen=True)
class HopThroughput:
    hop: str
    frames_per_s: float
    packets_per_s: float
    megabytes_per_s: float
    cpu_ms_per_frame: float | None = None  # the hop process's user + system CPU over all rounds; None without /proc


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of process ``pid`` so far, from ``/proc`` (None where there is none)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except (OSError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15


def coded_frames(feature_shape: tuple[int, int, int], codec: str, count: int) -> tuple[list[Frame], Session]:
    """``count`` frames of random features coded by ``codec`` (no model needed) and their session."""
    coder = build_codec(codec, feature_shape, "bench")
    features = torch.randn(count, *feature_shape, generator=torch.Generator().manual_seed(0))
    session = coder.session(1, (768, 768))
    return coder.compress(features, [session.frame_id(i) for i in range(count)]), session


def renumbered(frames: list[Frame], session: Session, first_seq: int) -> list[Frame]:
    """``frames`` under fresh sequence numbers, so each pass's arrivals are its own."""
    out = []
    for i, f in enumerate(frames):
        fid = session.frame_id(first_seq + i)
        out.append(replace(f, header=replace(f.header, frame_id=fid),
                           packets=tuple(replace(p, frame_id=fid) for p in f.packets)))
    return out


def measure(frames: list[Frame], session: Session, rounds: int = 3) -> list[HopThroughput]:
    """Best-of-``rounds`` throughput of the bare pass-through and of channel_sim, same frames, rounds interleaved."""
    packets = sum(len(f.packets) for f in frames)
    megabytes = sum(f.payload_bytes for f in frames) / 1e6
    best = {"bare grpc.aio pass-through": 0.0, "channel_sim": 0.0}
    cpu: dict[str, list[float]] = {name: [] for name in best}  # CPU seconds of each round
    with PassThroughHop(session) as bare, ProxyHop(session) as channel:
        hops = {"bare grpc.aio pass-through": bare, "channel_sim": channel}
        seq = 1
        for hop in hops.values():  # open each stream, warm both paths
            hop.send(renumbered(frames[:2], session, seq))
            seq += 2
        for _ in range(rounds):
            for name, hop in hops.items():
                before = cpu_seconds(hop.proxy.pid)
                _, total = hop.send(renumbered(frames, session, seq))
                after = cpu_seconds(hop.proxy.pid)
                seq += len(frames)
                best[name] = max(best[name], len(frames) / total)
                if before is not None and after is not None:
                    cpu[name].append(after - before)
    return [HopThroughput(name, fps, fps * packets / len(frames), fps * megabytes / len(frames),
                          1000 * sum(cpu[name]) / (len(frames) * len(cpu[name])) if cpu[name] else None)
            for name, fps in best.items()]


def table(results: list[HopThroughput], frames: int, shape, codec: str) -> str:
    bare, channel = results
    lines = [f"bench proxy: {frames} frames of {codec} at {tuple(shape)} streamed back to back (best of rounds)",
             f"{'hop':<30}{'frames/s':>10}{'packets/s':>12}{'MB/s':>9}{'CPU ms/frame':>14}"]
    lines += [f"{r.hop:<30}{r.frames_per_s:>10.1f}{r.packets_per_s:>12.0f}{r.megabytes_per_s:>9.1f}"
              + (f"{r.cpu_ms_per_frame:>14.3f}" if r.cpu_ms_per_frame is not None else f"{'n/a':>14}")
              for r in results]
    lines.append(f"channel_sim / bare pass-through: {channel.frames_per_s / bare.frames_per_s:.2f} (goal >= 0.80)")
    if bare.cpu_ms_per_frame and channel.cpu_ms_per_frame:
        lines.append(f"by CPU per frame (each hop on a core of its own): "
                     f"{bare.cpu_ms_per_frame / channel.cpu_ms_per_frame:.2f}")
    return "\n".join(lines)

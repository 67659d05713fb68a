"""The link stage by stage: compress, serialize, proxy, reassemble, decompress, timed one frame at a time.

One loop (:func:`run_stages`, after ``WARMUP_FRAMES`` untimed frames) serves both
benches: ``semlink bench link`` runs it on a model's features and adds the model
halves around it (:func:`link_report`); ``semlink bench stages`` on random features
of a given shape (:func:`measure`), no model to load, for profiling the link at
Florence-2-base's shape ``(1024, 24, 24)`` in seconds.

Bytes, per frame: ``payload_bytes`` are the coded packets' payloads; ``wire_bytes``
every byte the channel carries (each datagram with its header and check, as
serialised by :func:`semlink.wire.frame_datagrams`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from semlink.channel import Channel
from semlink.codecs import build_codec
from semlink.packets import Frame, Session
from semlink.packets.transport import with_overhead
from semlink.wire import frame_datagrams, parse_packets, wire_bytes

log = logging.getLogger(__name__)

STAGES = ("compress", "serialize", "proxy", "reassemble", "decompress")
WARMUP_FRAMES = 3
"""Frames coded and decoded untimed before the timed ones (first calls pay for allocations and caches)."""
GOAL_MS = 2.0


def timed(fn: Callable, *args):
    """``(fn(*args), seconds it took)``."""
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def reassemble(datagrams: list[bytes], session: Session) -> Frame:
    """What the receiver does on arrival: check and parse the datagrams into a frame of the session."""
    return parse_packets(datagrams, session, None).frames[0]


def renumbered(frames: list[Frame], session: Session, first_seq: int) -> list[Frame]:
    """``frames`` under fresh sequence numbers, so each pass's arrivals are its own."""
    return [replace(f, header=replace(f.header, frame_id=session.frame_id(first_seq + i)),
                    packets=tuple(replace(p, frame_id=session.frame_id(first_seq + i)) for p in f.packets))
            for i, f in enumerate(frames)]


def proxy_stage(mode: str, frames: list[Frame], session: Session) -> tuple[str, list[float], float]:
    """``(how, per-frame seconds, seconds to stream all frames)`` for the proxy hop."""
    if mode in ("auto", "process"):
        try:
            from semlink.launch.proxy_hop import ProxyHop

            with ProxyHop(session) as hop:
                n = len(frames)
                hop.send(renumbered(frames[:1], session, 1))  # open the stream
                times = [hop.send([f])[0][0] for f in renumbered(frames, session, 2)]
                _, total = hop.send(renumbered(frames, session, 2 + n))
                return "gRPC loopback through a channel_sim process", times, total
        except (ImportError, RuntimeError, OSError) as err:
            if mode == "process":
                raise
            log.warning("no channel_sim process (%s); timing the proxy in-process", str(err).splitlines()[0])
    channel = Channel()
    times = [timed(channel.transmit_datagrams, frame_datagrams(f, session))[1] for f in frames]
    return "in-process Channel.transmit_datagrams (no network)", times, sum(times)


@dataclass
class StageRun:
    """What :func:`run_stages` timed: seconds per frame for each stage, and the frames it sent."""

    times: dict[str, list[float]]
    frames: list[Frame]
    wire_bytes: list[int]
    decoded: list[torch.Tensor]
    """One reconstruction ``(1, C, H, W)`` per distinct input, in input order."""
    proxy: str
    stream_s: float
    """Seconds to stream all timed frames back to back through the proxy."""

    def stages_ms(self) -> dict[str, dict[str, float]]:
        return {stage: {"p50": 1000 * float(np.percentile(t, 50)), "p99": 1000 * float(np.percentile(t, 99))}
                for stage, t in self.times.items()}

    def mean_wire_bytes(self) -> int:
        return round(sum(self.wire_bytes) / len(self.wire_bytes))

    def mean_payload_bytes(self) -> int:
        return round(sum(f.payload_bytes for f in self.frames) / len(self.frames))


def run_stages(codec, features: torch.Tensor, session: Session, frames: int, proxy: str = "auto",
               warmup: int = WARMUP_FRAMES) -> StageRun:
    """``frames`` frames of ``features`` ``(B, C, H, W)`` (cycled) through every stage, after ``warmup`` untimed."""
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    times: dict[str, list[float]] = {s: [] for s in STAGES}
    sent: list[Frame] = []
    wire: list[int] = []
    decoded: dict[int, torch.Tensor] = {}
    for i in range(warmup + frames):
        which = i % len(features)
        [frame], t_compress = timed(codec.compress, features[which:which + 1], [session.frame_id(i)])
        datagrams, t_serialize = timed(frame_datagrams, frame, session)
        received, t_reassemble = timed(reassemble, datagrams, session)
        (x_hat, _), t_decompress = timed(codec.decompress, [received])
        decoded.setdefault(which, x_hat)
        if i < warmup:
            continue
        for stage, t in zip(("compress", "serialize", "reassemble", "decompress"),
                            (t_compress, t_serialize, t_reassemble, t_decompress)):
            times[stage].append(t)
        sent.append(frame)
        wire.append(wire_bytes(datagrams))
    how, times["proxy"], stream_s = proxy_stage(proxy, sent, session)
    return StageRun(times, sent, wire, [decoded[k] for k in sorted(decoded)], how, stream_s)


def measure(shape: tuple[int, int, int], codec_name: str, frames: int, proxy: str = "auto") -> dict:
    """``bench stages``: per-stage p50/p99 of ``frames`` frames of 2 random feature maps (cycled), no model."""
    codec = build_codec(codec_name, shape, "bench")
    features = torch.randn(2, *shape, generator=torch.Generator().manual_seed(0))
    run = run_stages(codec, features, codec.session(1, (768, 768)), frames, proxy)
    return {"shape": shape, "codec": codec_name, "frames": frames, "proxy": run.proxy,
            "wire_bytes": run.mean_wire_bytes(), "payload_bytes": run.mean_payload_bytes(),
            "stages_ms": run.stages_ms()}


def table(r: dict) -> str:
    """``bench stages``' table: one row per stage and their sum against ``GOAL_MS``."""
    lines = [f"bench stages: codec={r['codec']} features {r['shape']} ({r['frames']} frames, "
             f"~{r['wire_bytes']:,} wire B each, {r['payload_bytes']:,} B payload; proxy: {r['proxy']}; "
             f"torch threads {torch.get_num_threads()})",
             f"{'stage':<12}{'p50 ms':>10}{'p99 ms':>10}"]
    lines += [f"{s:<12}{v['p50']:>10.3f}{v['p99']:>10.3f}" for s, v in r["stages_ms"].items()]
    total = sum(v["p50"] for v in r["stages_ms"].values())
    lines.append(f"{'link':<12}{total:>10.3f}   (sum of p50s; goal <= {GOAL_MS:.1f} ms)")
    return "\n".join(lines)


def link_report(run: StageRun, vision_s: float, language_s: float, datagram_overhead: int = 0) -> dict:
    """``bench link``'s figures: the stages, the proxy's throughput and the link's share of end-to-end time
    (``vision_s`` and ``language_s`` per frame); ``wire_bytes`` counts ``datagram_overhead`` transport bytes
    per datagram, ``datagram_bytes`` the datagrams alone."""
    ms = run.stages_ms()
    link_ms = sum(v["p50"] for v in ms.values())
    end_to_end_ms = 1000 * vision_s + link_ms + 1000 * language_s
    frames = len(run.frames)
    packets = sum(f.total_packets for f in run.frames)
    return {
        "frames": frames, "wire_bytes": round(with_overhead(sum(run.wire_bytes), packets, datagram_overhead) / frames),
        "datagram_bytes": run.mean_wire_bytes(), "datagrams": packets / frames, "datagram_overhead": datagram_overhead,
        "payload_bytes": run.mean_payload_bytes(), "packets_per_frame": packets / frames, "stages_ms": ms, "proxy": run.proxy,
        "proxy_frames_per_s": frames / run.stream_s, "proxy_packets_per_s": packets / run.stream_s,
        "vision_ms": 1000 * vision_s, "link_ms": link_ms, "language_ms": 1000 * language_s,
        "end_to_end_ms": end_to_end_ms, "link_share": link_ms / end_to_end_ms,
    }


def link_table(r: dict) -> str:
    """``bench link``'s table."""
    lines = [
        f"bench link: model={r['model']} codec={r['codec']} device={r['device']} frames={r['frames']} "
        f"features {tuple(r['feature_shape'])}: {r['wire_bytes']:,} wire B/frame in {r['packets_per_frame']:.0f} "
        f"packets ({r['payload_bytes']:,} B payload; {r['datagram_overhead']} B transport per datagram; session "
        f"{r['session_bytes']:,} B once)",
        f"{'stage':<12}{'p50 ms':>10}{'p99 ms':>10}",
    ]
    lines += [f"{s:<12}{v['p50']:>10.3f}{v['p99']:>10.3f}" for s, v in r["stages_ms"].items()]
    lines += [
        f"{'link':<12}{r['link_ms']:>10.3f}   (sum of p50s)",
        f"proxy: {r['proxy']}: {r['proxy_frames_per_s']:,.1f} frames/s, {r['proxy_packets_per_s']:,.0f} packets/s "
        f"({r['frames']} frames back to back)",
        f"end to end per frame: vision {r['vision_ms']:,.1f} ms + link {r['link_ms']:,.1f} ms + language "
        f"{r['language_ms']:,.1f} ms = {r['end_to_end_ms']:,.1f} ms; link share {100 * r['link_share']:.2f}%",
    ]
    return "\n".join(lines)

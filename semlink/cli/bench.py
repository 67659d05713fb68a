"""``semlink bench link``: where a frame's time goes on the link, stage by stage, and the proxy's throughput."""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable

import numpy as np
import torch

from semlink.bench.cli import register as register_scale_benches
from semlink.channel import Channel
from semlink.cli.options import add_model_options
from semlink.codecs import codec_names
from semlink.florence import LanguageHalf, TaskRequest, VisionHalf
from dataclasses import replace

from semlink.packets import Frame, Session
from semlink.packets.transport import parse_overhead, with_overhead
from semlink.pipeline import session_bytes
from semlink.runtime import load_codec_for, load_model
from semlink.samples import sample_images
from semlink.wire import frame_datagrams, parse_packets, wire_bytes

log = logging.getLogger(__name__)

HELP = """\
Times one frame at a time through the real link code:
  compress    codec.compress (analysis, quantization, zstd or ANS per packet)
  serialize   semlink.wire.frame_datagrams (headers and checks)
  proxy       a real loopback gRPC hop through a channel_sim process (lossless);
              with --proxy inprocess: Channel.transmit_datagrams, no network
  reassemble  semlink.wire.parse_packets (checks, headers, sequence numbers)
  decompress  codec.decompress (zstd or ANS, dequantization, synthesis)
and prints p50/p99 per stage, frames/s and packets/s through the proxy (all
frames streamed back to back), and the link's share of end-to-end time: vision
tower + link + language model answering --task, the model halves timed on
--images frames. Example:
  semlink bench link --model base-random --codec q8 --frames 100
"""

STAGES = ("compress", "serialize", "proxy", "reassemble", "decompress")


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks: link (per-stage link timings), receiver, proxy, scaling", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = p.add_subparsers(dest="bench", metavar="WHAT", required=True)
    link = kinds.add_parser("link", help="per-stage time of the link and proxy throughput", description=HELP,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(link, default="base-random")
    link.add_argument("--codec", default="q8", help=f"{', '.join(codec_names())} or a checkpoint (default: q8)")
    link.add_argument("--frames", type=int, default=100, help="frames timed per stage (default: 100)")
    link.add_argument("--images", type=int, default=2,
                      help="distinct sample images coded (cycled over --frames) and used for the model halves")
    link.add_argument("--task", default="<CAPTION>", help="task for the end-to-end share (default: <CAPTION>)")
    link.add_argument("--proxy", choices=["auto", "process", "inprocess"], default="auto",
                      help="auto: a channel_sim process if it starts, else in-process (default: auto)")
    link.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    link.add_argument("--datagram-overhead", type=parse_overhead, default=0, metavar="B",
                      help="transport bytes counted per datagram into wire_bytes: 0 the link as simulated (default), "
                           "28 UDP/IPv4, 40 RTP/UDP/IPv4, 60 RTP/UDP/IPv6")
    link.set_defaults(func=run)
    register_scale_benches(kinds)


def timed(fn: Callable, *args):
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


def run(args) -> int:
    logging.getLogger("httpx").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    if args.frames < 1 or args.images < 1:
        raise ValueError("--frames and --images must be at least 1")
    bundle = load_model(args.model, args.device, args.dtype)
    codec = load_codec_for(bundle, args.codec)
    images = sample_images(args.images)
    features, vision_s = timed(VisionHalf(bundle).encode, images)
    features = features.float()
    session = codec.session(1, images[0].size)

    times: dict[str, list[float]] = {s: [] for s in STAGES}
    sent: list[Frame] = []
    wire: list[int] = []
    decoded = []
    for i in range(args.frames):
        x = features[i % len(images):i % len(images) + 1]
        [frame], t = timed(codec.compress, x, [session.frame_id(i)])
        times["compress"].append(t)
        datagrams, t = timed(frame_datagrams, frame, session)
        times["serialize"].append(t)
        wire.append(wire_bytes(datagrams))
        received, t = timed(reassemble, datagrams, session)
        times["reassemble"].append(t)
        (x_hat, _), t = timed(codec.decompress, [received])
        times["decompress"].append(t)
        sent.append(frame)
        if i < len(images):
            decoded.append(x_hat)
    how, times["proxy"], stream_s = proxy_stage(args.proxy, sent, session)

    language = LanguageHalf(bundle)
    requests = [TaskRequest(args.task, im.size) for im in images]
    _, language_s = timed(language.answer, torch.cat(decoded).to(bundle.device, bundle.dtype), requests)

    report = summarize(args, bundle, sent, wire, times, how, stream_s, vision_s / len(images),
                       language_s / len(images))
    report["session_bytes"] = session_bytes(session)
    print(json.dumps(report) if args.json else table(report))
    return 0


def summarize(args, bundle, sent, wire, times, how, stream_s, vision_s, language_s) -> dict:
    ms = {s: {"p50": 1000 * float(np.percentile(t, 50)), "p99": 1000 * float(np.percentile(t, 99))}
          for s, t in times.items()}
    link_ms = sum(v["p50"] for v in ms.values())
    end_to_end_ms = 1000 * vision_s + link_ms + 1000 * language_s
    packets = sum(f.total_packets for f in sent)
    overhead = args.datagram_overhead
    return {
        "model": args.model, "codec": args.codec, "device": str(bundle.device), "frames": len(sent),
        "feature_shape": list(bundle.feature_shape),
        "wire_bytes": round(with_overhead(sum(wire), packets, overhead) / len(wire)),
        "datagram_bytes": round(sum(wire) / len(wire)), "datagrams": packets / len(sent),
        "datagram_overhead": overhead,
        "payload_bytes": round(sum(f.payload_bytes for f in sent) / len(sent)),
        "packets_per_frame": packets / len(sent),
        "stages_ms": ms, "proxy": how,
        "proxy_frames_per_s": len(sent) / stream_s, "proxy_packets_per_s": packets / stream_s,
        "vision_ms": 1000 * vision_s, "link_ms": link_ms, "language_ms": 1000 * language_s,
        "end_to_end_ms": end_to_end_ms, "link_share": link_ms / end_to_end_ms,
    }


def table(r: dict) -> str:
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

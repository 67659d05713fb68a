"""``semlink bench link | stages | receiver | proxy | scaling``: the benchmarks' one command line."""

from __future__ import annotations

import argparse
import json
import logging

import torch

from semlink.bench import proxy_throughput, scaling, stages
from semlink.bench.receiver_load import ReceiverConfig, batching_table, deliver, receivers, run_levels
from semlink.cli.checks import check_link, non_negative_int, positive_int, positive_ints
from semlink.cli.options import add_model_options
from semlink.codecs import codec_names
from semlink.florence import LanguageHalf, TaskRequest, VisionHalf
from semlink.packets.transport import parse_overhead
from semlink.pipeline import session_bytes
from semlink.runtime import load_codec_for, load_model
from semlink.samples import sample_images

HELP = """\
Times one frame at a time through the real link code (after 3 untimed warm-up frames):
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


RECEIVER_HELP = """\
Answers per second and p50/p99 latency of real receiver processes under
concurrent task requests, dynamic batching (--max-batch) against max_batch=1,
side by side, at each --concurrency. Examples:
  semlink bench receiver --quick                     # tiny-random on the CPU, seconds
  semlink bench receiver --model florence-community/Florence-2-base --device cuda
(goal on a GPU: >= 3x at concurrency 16)
"""
PROXY_HELP = """\
channel_sim's throughput against a bare grpc.aio pass-through (python -m
semlink.bench.passthrough), both child processes, on the same coded frames
streamed back to back; prints the ratio (goal >= 0.80). Needs no model:
frames are random features of --shape coded with --codec. Example:
  semlink bench proxy --frames 100
"""
SCALING_HELP = """\
One receiver against two, under the same load (--concurrency clients,
round robin over the receivers, every receiver holding every frame); prints
the speedup and the scaling efficiency, two / (2 x one). On a machine with two
GPUs give each receiver its own:
  semlink bench scaling --model florence-community/Florence-2-base --devices cuda:0,cuda:1
(expected there: efficiency near 100%; on a CPU the two share the cores).
"""


STAGES_HELP = """\
The link's stages (compress, serialize, loopback proxy through channel_sim,
reassemble, decompress), p50/p99 each, on random features of --shape: no model
is loaded. Example (Florence-2-base's shape, q8):
  semlink bench stages --codec q8 --frames 100
"""


def register(sub) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("bench", help="benchmarks: link (per-stage link timings), stages, receiver, proxy, scaling",
                       description=HELP, formatter_class=fmt)
    kinds = p.add_subparsers(dest="bench", metavar="WHAT", required=True)
    link = kinds.add_parser("link", help="per-stage time of the link and proxy throughput", description=HELP,
                            formatter_class=fmt)
    add_model_options(link, default="base-random")
    link.add_argument("--codec", default="q8", help=f"{', '.join(codec_names())} or a checkpoint (default: q8)")
    link.add_argument("--frames", type=positive_int, default=100, help="frames timed per stage (default: 100)")
    link.add_argument("--images", type=positive_int, default=2,
                      help="distinct sample images coded (cycled over --frames) and used for the model halves")
    link.add_argument("--task", default="<CAPTION>", help="task for the end-to-end share (default: <CAPTION>)")
    link.add_argument("--proxy", choices=["auto", "process", "inprocess"], default="auto",
                      help="auto: a channel_sim process if it starts, else in-process (default: auto)")
    link.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    link.add_argument("--datagram-overhead", type=parse_overhead, default=0, metavar="B",
                      help="transport bytes counted per datagram into wire_bytes: 0 the link as simulated (default), "
                           "28 UDP/IPv4, 40 RTP/UDP/IPv4, 60 RTP/UDP/IPv6")
    link.set_defaults(func=run_link)

    random_stages = kinds.add_parser("stages", help="the link's stages on random features (no model)",
                                     description=STAGES_HELP, formatter_class=fmt)
    random_stages.add_argument("--shape", default="1024,24,24",
                               help="feature shape C,H,W (default: Florence-2-base's)")
    random_stages.add_argument("--codec", default="q8", help="codec (default: q8)")
    random_stages.add_argument("--frames", type=int, default=100, help="frames timed (default: 100)")
    random_stages.add_argument("--proxy", choices=["auto", "process", "inprocess"], default="auto",
                               help="auto: a channel_sim process if it starts, else in-process (default: auto)")
    random_stages.add_argument("--quick", action="store_true", help="20 frames")
    random_stages.set_defaults(func=run_random_stages)

    rx = kinds.add_parser("receiver", help="dynamic batching against max_batch=1, answers/s and latency",
                          description=RECEIVER_HELP, formatter_class=fmt)
    _receiver_options(rx)
    rx.add_argument("--concurrency", type=positive_ints, default="1,4,16", help="comma-separated client counts (default: 1,4,16)")
    rx.set_defaults(func=run_receiver)

    proxy = kinds.add_parser("proxy", help="channel_sim against a bare grpc.aio pass-through",
                             description=PROXY_HELP, formatter_class=fmt)
    proxy.add_argument("--shape", default="1024,24,24", help="feature shape C,H,W (default: Florence-2-base's)")
    proxy.add_argument("--codec", default="q8", help="codec coding the frames (default: q8)")
    proxy.add_argument("--frames", type=int, default=100, help="frames per round (default: 100)")
    proxy.add_argument("--rounds", type=int, default=3, help="rounds per hop, interleaved; the best counts")
    proxy.add_argument("--quick", action="store_true", help="20 frames of a small shape, 2 rounds")
    proxy.set_defaults(func=run_proxy)

    scale = kinds.add_parser("scaling", help="one receiver against two on the same load",
                             description=SCALING_HELP, formatter_class=fmt)
    _receiver_options(scale)
    scale.add_argument("--concurrency", type=positive_int, default=16, help="clients at once (default: 16)")
    scale.add_argument("--devices", default="", help="comma-separated devices cycled over the receivers "
                                                     "(e.g. cuda:0,cuda:1); default: --device for all")
    scale.set_defaults(func=run_scaling)


def _receiver_options(p: argparse.ArgumentParser) -> None:
    add_model_options(p, default="tiny-random")
    p.add_argument("--codec", default="q8", help="codec (default: q8)")
    p.add_argument("--task", default="<CAPTION>", help="task asked (default: <CAPTION>)")
    p.add_argument("--frames", type=positive_int, default=4, help="distinct frames asked about (default: 4)")
    p.add_argument("--requests", type=positive_int, default=8, help="requests per client at each level (default: 8)")
    p.add_argument("--max-batch", type=positive_int, default=16, help="the batched receiver's max_batch (default: 16)")
    p.add_argument("--max-delay-ms", type=float, default=10.0, help="its batching delay (default: 10)")
    p.add_argument("--max-new-tokens", type=positive_int, default=None, help="cap on generated tokens (default: model's)")
    p.add_argument("--torch-threads", type=non_negative_int, default=0, help="torch CPU threads per receiver (0: torch's)")
    p.add_argument("--quick", action="store_true", help="tiny-random, 2 frames, 4 requests a client, 8 tokens")


def run_link(args) -> int:
    logging.getLogger("httpx").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    check_link(args.model, args.codec, args.task)
    bundle = load_model(args.model, args.device, args.dtype)
    codec = load_codec_for(bundle, args.codec)
    images = sample_images(args.images)
    features, vision_s = stages.timed(VisionHalf(bundle).encode, images)
    session = codec.session(1, images[0].size)
    run = stages.run_stages(codec, features.float(), session, args.frames, args.proxy)

    language = LanguageHalf(bundle)
    requests = [TaskRequest(args.task, im.size) for im in images]
    _, language_s = stages.timed(language.answer, torch.cat(run.decoded).to(bundle.device, bundle.dtype), requests)

    report = {"model": args.model, "codec": args.codec, "device": str(bundle.device),
              "feature_shape": list(bundle.feature_shape),
              **stages.link_report(run, vision_s / len(images), language_s / len(images), args.datagram_overhead),
              "session_bytes": session_bytes(session)}
    print(json.dumps(report) if args.json else stages.link_table(report))
    return 0


def _frames(args):
    """Frames of the sample images coded for ``args.model``/``args.codec``, and their session."""
    check_link(args.model, args.codec, args.task)
    bundle = load_model(args.model, args.device, args.dtype)
    codec = load_codec_for(bundle, args.codec)
    images = sample_images(args.frames)
    with torch.inference_mode():
        features = VisionHalf(bundle).encode(images).float()
    session = codec.session(1, images[0].size)
    return codec.compress(features, [session.frame_id(i) for i in range(len(images))]), session


def _config(args, max_batch: int) -> ReceiverConfig:
    return ReceiverConfig(args.model, args.codec, args.device, max_batch, args.max_delay_ms, args.max_new_tokens,
                          args.torch_threads)


def _quick(args) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would bury the table
    if args.quick:
        args.model, args.frames, args.requests = "tiny-random", min(args.frames, 2), 4
        args.max_new_tokens = args.max_new_tokens or 8


def run_receiver(args) -> int:
    _quick(args)
    levels = args.concurrency
    if args.quick:
        levels = [c for c in levels if c <= 4] or [1]
    frames, session = _frames(args)
    ids = [f.header.frame_id for f in frames]
    results = {}
    for max_batch in (args.max_batch, 1):
        with receivers(_config(args, max_batch)) as [(url, target)]:
            deliver(target, frames, session)
            results[max_batch] = run_levels([url], ids, args.task, levels, args.requests)
    header = (f"bench receiver: model={args.model} codec={args.codec} device={args.device} task={args.task} "
              f"{args.requests} requests per client per level")
    print(batching_table(results[args.max_batch], results[1], args.max_batch, header))
    return 0


def run_random_stages(args) -> int:
    if args.quick:
        args.frames = min(args.frames, 20)
    shape = tuple(int(d) for d in args.shape.split(","))
    print(stages.table(stages.measure(shape, args.codec, args.frames, args.proxy)))
    return 0


def run_proxy(args) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.quick:
        args.shape, args.frames, args.rounds = "256,12,12", 20, 2
    shape = tuple(int(d) for d in args.shape.split(","))
    frames, session = proxy_throughput.coded_frames(shape, args.codec, args.frames)
    results = proxy_throughput.measure(frames, session, args.rounds)
    print(proxy_throughput.table(results, args.frames, shape, args.codec))
    return 0


def run_scaling(args) -> int:
    _quick(args)
    frames, session = _frames(args)
    devices = [d for d in args.devices.split(",") if d]
    result = scaling.measure(_config(args, args.max_batch), frames, session, args.task, args.concurrency,
                             args.requests, devices)
    header = (f"bench scaling: model={args.model} codec={args.codec} devices={devices or [args.device]} "
              f"concurrency={args.concurrency}, {args.requests} requests per client")
    print(scaling.table(result, header))
    return 0

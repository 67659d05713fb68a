"""``semlink bench link``: where a frame's time goes on the link, stage by stage, and the proxy's throughput."""

from __future__ import annotations

import argparse
import json
import logging

import torch

from semlink.bench.cli import register as register_scale_benches
from semlink.bench.stages import link_report, link_table, run_stages, timed
from semlink.cli.options import add_model_options
from semlink.codecs import codec_names
from semlink.florence import LanguageHalf, TaskRequest, VisionHalf
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
    link.set_defaults(func=run)
    register_scale_benches(kinds)


def run(args) -> int:
    logging.getLogger("httpx").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    if args.frames < 1 or args.images < 1:
        raise ValueError("--frames and --images must be at least 1")
    bundle = load_model(args.model, args.device, args.dtype)
    codec = load_codec_for(bundle, args.codec)
    images = sample_images(args.images)
    features, vision_s = timed(VisionHalf(bundle).encode, images)
    session = codec.session(1, images[0].size)
    run = run_stages(codec, features.float(), session, args.frames, args.proxy)

    language = LanguageHalf(bundle)
    requests = [TaskRequest(args.task, im.size) for im in images]
    _, language_s = timed(language.answer, torch.cat(run.decoded).to(bundle.device, bundle.dtype), requests)

    report = {"model": args.model, "codec": args.codec, "device": str(bundle.device),
              "feature_shape": list(bundle.feature_shape),
              **link_report(run, vision_s / len(images), language_s / len(images)),
              "session_bytes": session_bytes(session)}
    print(json.dumps(report) if args.json else link_table(report))
    return 0

"""``semlink codecs``: bytes per frame of every codec at a model's feature shape."""

from __future__ import annotations

import argparse
import json

from semlink.cli.checks import check_model, positive_int
from semlink.cli.options import add_model_options, progress_line
from semlink.codecs import codec_names
from semlink.pipeline import session_bytes
from semlink.wire import frame_datagrams, wire_bytes
from semlink.runtime import load_codec_for, load_model
from semlink.samples import sample_images
from semlink.florence import VisionHalf

HELP = """\
Codes the built-in sample images with every codec and prints wire bytes per
frame (every byte the channel carries: each packet's header, coded payload and
check), the payload bytes within them, the session message each stream sends
once, packets per frame and the ratio of wire bytes to raw float32 features.
Example:
  semlink codecs --model base-random --json
"""


def register(sub) -> None:
    p = sub.add_parser("codecs", help="bytes per frame for each codec", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(p)
    p.add_argument("--images", type=positive_int, default=2, help="sample images to average over (default: 2)")
    p.add_argument("--json", action="store_true", help="one JSON object per codec")
    p.set_defaults(func=run)


def measure(bundle, codec, features) -> dict:
    height, width = bundle.image_size
    session = codec.session(1, (width, height))
    frames = codec.compress(features, [session.frame_id(i) for i in range(features.shape[0])])
    c, h, w = bundle.feature_shape
    raw_fp32 = c * h * w * 4
    wire = sum(wire_bytes(frame_datagrams(f, session)) for f in frames) / len(frames)
    return {
        "codec": codec.codec_id,
        "latent_shape": list(codec.latent_shape()),
        "wire_bytes": round(wire),
        "payload_bytes": round(sum(f.payload_bytes for f in frames) / len(frames)),
        "session_bytes": session_bytes(session),
        "packets": frames[0].total_packets,
        "ratio_vs_fp32": round(wire / raw_fp32, 5),
    }


def run(args) -> int:
    check_model(args.model)
    progress_line("codecs", f"loading model {args.model}...")
    bundle = load_model(args.model, args.device, args.dtype)
    features = VisionHalf(bundle).encode(sample_images(args.images)).float()
    rows = []
    for i, name in enumerate(codec_names(), 1):
        progress_line("codecs", f"coding {args.images} sample images with {name} ({i}/{len(codec_names())})"
                      + ("; pca first fits on the sample images" if name == "pca" else "") + "...")
        rows.append(measure(bundle, load_codec_for(bundle, name), features))
    if args.json:
        for row in rows:
            print(json.dumps({"model": args.model, **row}))
        return 0
    c, h, w = bundle.feature_shape
    print(f"model {args.model}: features (C, H, W) = ({c}, {h}, {w}), raw fp32 = {c * h * w * 4:,} bytes/frame")
    print(f"{'codec':<10}{'latent':>16}{'wire B':>10}{'payload B':>11}{'session B':>11}{'packets':>9}{'vs fp32':>10}")
    for r in rows:
        latent = "x".join(str(s) for s in r["latent_shape"])
        print(f"{r['codec']:<10}{latent:>16}{r['wire_bytes']:>10,}{r['payload_bytes']:>11,}{r['session_bytes']:>11,}"
              f"{r['packets']:>9}{r['ratio_vs_fp32']:>10.4f}")
    return 0

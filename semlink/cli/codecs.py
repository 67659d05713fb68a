"""``semlink codecs``: bytes per frame of every codec at a model's feature shape."""

from __future__ import annotations

import argparse
import json

from semlink.cli.options import add_model_options
from semlink.codecs import codec_names
from semlink.pipeline import header_bytes
from semlink.runtime import load_codec_for, load_model
from semlink.samples import sample_images
from semlink.florence import VisionHalf

HELP = """\
Codes the built-in sample images with every codec and prints payload bytes per
frame (entropy-coded, all packets), header bytes (counted separately), packet
count and the ratio to raw float32 features. Example:
  semlink codecs --model base-random --json
"""


def register(sub) -> None:
    p = sub.add_parser("codecs", help="bytes per frame for each codec", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(p)
    p.add_argument("--images", type=int, default=2, help="sample images to average over (default: 2)")
    p.add_argument("--json", action="store_true", help="one JSON object per codec")
    p.set_defaults(func=run)


def measure(bundle, codec, features) -> dict:
    frames = codec.compress(features, range(features.shape[0]))
    c, h, w = bundle.feature_shape
    raw_fp32 = c * h * w * 4
    payload = sum(f.payload_bytes for f in frames) / len(frames)
    return {
        "codec": codec.codec_id,
        "latent_shape": list(codec.latent_shape()),
        "payload_bytes": round(payload),
        "header_bytes": round(sum(header_bytes(f) for f in frames) / len(frames)),
        "packets": frames[0].header.packet_count,
        "ratio_vs_fp32": round(payload / raw_fp32, 5),
    }


def run(args) -> int:
    bundle = load_model(args.model, args.device, args.dtype)
    features = VisionHalf(bundle).encode(sample_images(args.images)).float()
    rows = [measure(bundle, load_codec_for(bundle, name), features) for name in codec_names()]
    if args.json:
        for row in rows:
            print(json.dumps({"model": args.model, **row}))
        return 0
    c, h, w = bundle.feature_shape
    print(f"model {args.model}: features (C, H, W) = ({c}, {h}, {w}), raw fp32 = {c * h * w * 4:,} bytes/frame")
    print(f"{'codec':<10}{'latent':>16}{'payload B':>12}{'header B':>10}{'packets':>9}{'vs fp32':>10}")
    for r in rows:
        latent = "x".join(str(s) for s in r["latent_shape"])
        print(f"{r['codec']:<10}{latent:>16}{r['payload_bytes']:>12,}{r['header_bytes']:>10}{r['packets']:>9}"
              f"{r['ratio_vs_fp32']:>10.4f}")
    return 0

"""``semlink train-pixels``: train the learned pixel codec (the ``learned-pixels`` peer) from a YAML run config."""

from __future__ import annotations

import argparse
import json

HELP = """\
Trains the learned pixel codec: an analysis/synthesis network on the model's
input image with the feature codec's entropy model, quantiser and packets, on
pixel MSE plus a rate weight (loss.rate), through the same randomised lossy
channels as `semlink train`; with loss.ce it fine-tunes through the frozen
Florence-2 on the caption loss (only the codec trains). One YAML file describes
the run (configs/pixels-*.yaml); --set overrides any field. The codec is
<run.out_dir>/pixels-learned.safetensors; copied beside a model as
pixels-learned[-POINT].safetensors it is the peer `semlink eval --baselines
learned-pixels[:POINT|:all]`.
Examples:
  semlink train-pixels configs/pixels-shapes.yaml --set loss.rate=10 --set run.out_dir=runs/pixels-rate10
  semlink train-pixels configs/pixels-shapes-task.yaml --set codec.init=runs/pixels-rate10/pixels-learned.safetensors
"""


def register(sub) -> None:
    p = sub.add_parser("train-pixels", help="train the learned pixel codec (the learned-pixels peer)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", nargs="?", help="run config (YAML); omitted = all defaults")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set loss.rate=3 (repeatable; values parsed as YAML)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as JSON and exit")
    p.set_defaults(func=run)


def run(args) -> int:
    from trainer.pixels import load_pixel_config, train_pixels  # imported here: `semlink --help` stays fast

    config = load_pixel_config(args.config, args.overrides)
    if args.print_config:
        print(json.dumps(config.to_dict(), indent=2))
        return 0
    print(json.dumps(train_pixels(config), indent=2))
    return 0

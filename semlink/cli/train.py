"""``semlink train``: train a learned codec from a YAML run config, optionally data-parallel under torchrun."""

from __future__ import annotations

import argparse
import json

HELP = """\
Trains the learned codec (compressor + decompressor + entropy model) end to end
through the frozen Florence-2 halves and a randomised differentiable channel.
One YAML file describes the run (see configs/); --set overrides any field.
Re-running the same command resumes from the newest checkpoint in run.out_dir.
The trained codec is <run.out_dir>/codec-learned.safetensors; pass it to any
command or service as --codec PATH. Examples:
  semlink train configs/tiny.yaml
  semlink train configs/shapes.yaml --set optim.steps=2000 --set run.out_dir=runs/s1
  torchrun --nproc_per_node 2 -m trainer configs/shapes.yaml
"""


def register(sub) -> None:
    p = sub.add_parser("train", help="train a learned codec end to end", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", nargs="?", help="run config (YAML); omitted = all defaults (tiny-random)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set optim.lr=3e-4 (repeatable; values parsed as YAML)")
    p.add_argument("--resume", default="auto",
                   help="auto (newest checkpoint in run.out_dir, if any), never, or a checkpoint path")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as JSON and exit")
    p.set_defaults(func=run)


def run(args) -> int:
    from trainer import load_config, train  # imported here: `semlink --help` stays fast

    config = load_config(args.config, args.overrides)
    if args.print_config:
        print(json.dumps(config.to_dict(), indent=2))
        return 0
    result = train(config, resume=args.resume)
    if result.main:
        print(json.dumps(result.summary, indent=2))
    return 0

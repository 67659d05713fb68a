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
command or service as --codec PATH. --dry-run says what a run will cost (data
check, cache size and build time, steps/s, ETA, peak memory) and writes nothing.
Examples:
  semlink train configs/first-run.yaml      # a codec that learns, ~5 minutes on a CPU
  semlink train configs/first-run.yaml --dry-run
  semlink train configs/tiny.yaml           # the plumbing check: seconds, random weights, scores 0
  semlink train configs/shapes.yaml --set optim.steps=2000 --set run.out_dir=runs/s1
  semlink train configs/shapes.yaml --set codec.init=semlink/assets/shapes-tiny/codec-learned.safetensors \\
      --set codec.prior=mixture --set loss.rate=15 --set optim.steps=1000 --set optim.lr=2e-4 \\
      --set run.out_dir=runs/mixture   # go on from the default, priced by a mixture prior; then fit-tables
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
    p.add_argument("--dry-run", action="store_true",
                   help="load model and data, time a few steps, print steps/s, ETA, peak memory and cache size; "
                        "write nothing")
    p.add_argument("--dry-run-steps", type=int, default=5, metavar="N", help="timed steps of --dry-run (default: 5)")
    p.set_defaults(func=run)


def run(args) -> int:
    from trainer import load_config, train  # imported here: `semlink --help` stays fast

    config = load_config(args.config, args.overrides)
    if args.print_config:
        print(json.dumps(config.to_dict(), indent=2))
        return 0
    if args.dry_run:
        from trainer.dry_run import dry_run

        print(_cost_report(dry_run(config, steps=max(1, args.dry_run_steps))))
        return 0
    result = train(config, resume=args.resume)
    if result.main:
        print(json.dumps(result.summary, indent=2))
    return 0


def _cost_report(r: dict) -> str:
    """The dry run's estimates as a few lines a person reads before starting the run."""
    def hms(seconds: float) -> str:
        m, s = divmod(int(round(seconds)), 60)
        return f"{m // 60}h{m % 60:02d}m" if m >= 60 else f"{m}m{s:02d}s"

    def gb(n: float) -> str:
        return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"

    t, c = r["seconds"], r["cache"]
    lines = [f"dry run on {r['device']}: {r['train_images']} training images, {r['val_images']} validation images",
             f"  speed       {r['steps_per_s']:.3f} steps/s, {r['frames_per_s']:.1f} frames/s "
             f"({r['timed_steps']} steps timed{', from cached features' if c['enabled'] else ', vision tower live'})",
             f"  peak memory {r['peak_memory_mb']:.0f} MB"]
    if c["enabled"]:
        lines.append(f"  cache       {gb(c['bytes_total'])} in {c['dtype']} for {c['images']} images "
                     f"({c['to_encode']} to encode; its directories hold {gb(c['bytes_on_disk'])} now, {gb(c['bytes_free'])} free"
                     f"{'' if c['fits'] else ': WILL NOT FIT'})")
    else:
        lines.append("  cache       off (data.cache: false): the vision tower runs every step")
    lines.append(f"  ETA         {hms(r['eta_seconds'])} for {r['steps']} steps: check data {hms(t['check_data'])}, "
                 f"feature cache {hms(t['feature_cache'])}, teacher texts {hms(t['teacher_texts'])}, "
                 f"train {hms(t['train'])}, {t['evals']} evaluations {hms(t['eval'])} (model load not included)")
    return "\n".join(lines)

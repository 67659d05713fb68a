"""``semlink soak``: frames at a fixed rate through a lossy channel for minutes; memory, accounting and errors."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from semlink.cli.checks import check_link, positive_float, positive_int, probability
from semlink.launch import CHANNEL, RECEIVER, TRANSMITTER

log = logging.getLogger(__name__)

HELP = """\
Starts the three services (or uses running ones, --targets), uploads sample
images to the transmitter at --fps through --loss packet loss, asks a task
about every --ask-every-th delivered frame, and every --sample-s seconds
prints each service's RSS (VmRSS from /proc) and the frames so far. At the
end it waits for every frame to end and checks the accounting: each frame the
transmitter accepted ends delivered (acked, partial) or lost with a reason
within 45 s, none answered twice (the receiver's events), no ack unmatched.
Writes soak.json and soak.png (RSS over time, frames) to --out. Exit code 1
if the accounting fails or a service's RSS grew more than --max-growth
percent after warm-up (the first --warmup fraction of the run). Example:
  semlink soak --minutes 10 --fps 5 --loss 0.05 --out runs/soak
"""


def register(sub) -> None:
    p = sub.add_parser("soak", help="a long run: fixed-rate frames, lossy channel, RSS and frame accounting",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=positive_float, default=10.0, help="how long frames are sent (default: 10)")
    p.add_argument("--fps", type=positive_float, default=5.0, help="frames uploaded per second (default: 5)")
    p.add_argument("--loss", type=probability, default=0.05, help="channel packet loss probability (default: 0.05)")
    p.add_argument("--out", type=Path, default=Path("runs/soak"), help="where soak.json and soak.png go "
                   "(default: runs/soak)")
    p.add_argument("--max-growth", type=float, default=5.0,
                   help="most RSS growth after warm-up, percent, for any service (default: 5)")
    p.add_argument("--warmup", type=probability, default=0.2, help="fraction of the run that is warm-up (default: 0.2)")
    p.add_argument("--sample-s", type=positive_float, default=5.0, help="seconds between RSS samples (default: 5)")
    p.add_argument("--ask-every", type=positive_int, default=5, help="ask <CAPTION> about every N-th delivered frame "
                   "(0: never; default: 5)")
    p.add_argument("--model", default="tiny-random", help="model for the services it starts (default: tiny-random)")
    p.add_argument("--codec", default="q8", help="codec for the services it starts (default: q8)")
    p.add_argument("--device", default="cpu", help="device for the services it starts (default: cpu)")
    p.add_argument("--targets", nargs=3, metavar=("TRANSMITTER", "CHANNEL", "RECEIVER"),
                   help="URLs of running services instead of starting them (RSS read for the processes "
                        "listening on their ports, when on this machine)")
    p.set_defaults(func=run)


def run(args) -> int:
    from semlink.soak import SoakConfig, run_soak

    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not args.targets:
        check_link(args.model, args.codec)
    targets = dict(zip((TRANSMITTER, CHANNEL, RECEIVER), args.targets)) if args.targets else None
    config = SoakConfig(minutes=args.minutes, fps=args.fps, loss=args.loss, out=args.out,
                        max_growth_pct=args.max_growth, sample_s=args.sample_s, warmup_fraction=args.warmup,
                        ask_every=args.ask_every, model=args.model, codec=args.codec, device=args.device,
                        targets=targets)
    report = run_soak(config, progress=lambda line: print(line, flush=True))
    print(summary_lines(report), flush=True)
    print(f"wrote {args.out / 'soak.json'} and {args.out / 'soak.png'}")
    return 0 if report["passed"] else 1


def summary_lines(report: dict) -> str:
    f = report["frames"]
    lines = [f"frames: accepted {f['accepted']} ({report['achieved_fps']:.2f} fps of {report['config']['fps']:g} "
             f"offered), delivered {f['delivered']} (acked {f['acked']}, partial "
             f"{f['partial']}), lost {f['lost']} {json.dumps(f['lost_reasons'])}, not ended {f['open']}",
             f"uploads {json.dumps(report['uploads'])} (seconds to the wire: "
             f"{json.dumps({k: round(v, 2) for k, v in report['upload_seconds'].items()})}), "
             f"tasks {json.dumps(report['tasks'])}, "
             f"errors {len(report['errors'])}"]
    for name, m in report["memory"].items():
        if m["warmup_kib"] is not None and m["final_kib"] is not None:
            growth = "n/a" if m["growth_pct"] is None else f"{m['growth_pct']:+.1f}%"
            lines.append(f"{name:<20} RSS after warm-up {m['warmup_kib'] / 1024:.1f} MiB, final "
                         f"{m['final_kib'] / 1024:.1f} MiB, growth {growth}")
    lines += [f"PROBLEM: {p}" for p in report["problems"]]
    lines.append("soak passed" if report["passed"] else "soak FAILED")
    return "\n".join(lines)

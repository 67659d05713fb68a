"""``semlink eval``: quality of the split pipeline through a channel, over held-out data; sweeps and plots."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from semlink.builtin import operating_points
from semlink.codecs.registry import repacketized
from semlink.cli.options import DEFAULT_MODEL, add_model_options
from semlink.evaluation import coco_samples, evaluate, folder_samples, shapes_samples
from semlink.evaluation.bd_rate import bd_rate, curve_of
from semlink.evaluation.plots import plot_sweep
from semlink.evaluation.runner import PixelBaseline
from semlink.runtime import load_codec_for, load_model

HELP = """\
Runs held-out shapes scenes (or your images) through transmitter half → codec →
channel → receiver half, and scores the answers: exact match, per-attribute
accuracy, CIDEr-D and BLEU-4 against ground truth, mAP@0.5 for <OD>, and
agreement with the uncompressed pipeline (raw codec, clean channel), with the
wire bytes each frame cost (every byte the channel carried: packet headers,
payloads and checks; pixel baselines travel in the same packet framing).
Comma-separated values sweep:

  semlink eval --codec q8 --n 200                      # one point
  semlink eval --seed 7 --json                         # scenes nobody trained or tuned on
  semlink eval --codec fp16,q8,pca,learned --loss 0,0.1,0.2,0.3 --snr 20,10,5,0 \\
               --baselines jpeg:10,30,70 webp:10,50 --out runs/sweep   # table + PNG plots
  semlink eval --codec learned:all --baselines jpeg:5,10,30,50 webp:5,10,30,60   # rate-quality curve, BD-rates
  semlink eval --model florence-community/Florence-2-base --data images/ --captions caps.jsonl

--snr sets bit errors from BPSK over AWGN at that Es/N0 (dB); --burst L makes
losses bursty (Gilbert-Elliott, mean burst length L packets). learned:all is the
default learned codec and every operating point shipped beside the model
(learned:NAME). With learned rows and JPEG or WebP rows at each channel point, the
BD-rate of the learned curve against each pixel codec is printed (negative: fewer
bytes for the same quality) and saved in results.json.
"""


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def register(sub) -> None:
    p = sub.add_parser("eval", help="quality vs bytes, loss and SNR on held-out data", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(p, default=DEFAULT_MODEL)
    p.add_argument("--codec", default="learned",
                   help="codec name(s) or checkpoint path(s), comma-separated; learned:untrained = a fresh, untrained learned codec")
    p.add_argument("--task", default="<CAPTION>", help="task(s), comma-separated (default: <CAPTION>)")
    p.add_argument("--n", type=int, default=100, help="frames per point (default: 100)")
    p.add_argument("--seed", type=int, default=0, help="stream of held-out scenes, and the channel's seed")
    p.add_argument("--loss", default="0", help="packet loss rate(s), comma-separated (default: 0)")
    p.add_argument("--burst", type=float, default=None, help="mean loss burst length (Gilbert-Elliott)")
    p.add_argument("--snr", default="", help="SNR(s) in dB for bit errors, comma-separated (default: none)")
    p.add_argument("--rows-per-packet", type=int, default=None, metavar="N",
                   help="send every codec's latent in packets of N rows (the packetisation trade: fewer packets, "
                        "fewer framing bytes, more lost at once)")
    p.add_argument("--baselines", nargs="*", default=[], metavar="FMT:Q,Q",
                   help="pixel baselines through the same channel, e.g. jpeg:10,50 webp:30")
    p.add_argument("--data", help="a folder of images instead of shapes scenes")
    p.add_argument("--captions", help="JSONL of {file, caption|captions} for --data")
    p.add_argument("--coco", help="COCO captions JSON (with --data as its image folder)")
    p.add_argument("--batch", type=int, default=8, help="frames per batch (default: 8)")
    p.add_argument("--out", help="directory for results.json and PNG plots")
    p.add_argument("--json", action="store_true", help="print one JSON object per result row")
    p.set_defaults(func=run)


def _samples(args):
    if args.coco:
        if not args.data:
            raise ValueError("--coco needs --data pointing at the COCO image folder")
        return coco_samples(args.coco, args.data, args.n)
    if args.data:
        return folder_samples(args.data, args.n, args.captions)
    return shapes_samples(args.n, args.seed)


def _baselines(specs: list[str]) -> list[PixelBaseline]:
    out = []
    for spec in specs:
        fmt, _, qualities = spec.partition(":")
        if not qualities:
            raise ValueError(f"baseline {spec!r}: write FORMAT:Q[,Q...], e.g. jpeg:10,50")
        out += [PixelBaseline(fmt.lower(), int(q)) for q in qualities.split(",")]
    return out


def run(args) -> int:
    bundle = load_model(args.model, args.device, args.dtype)
    samples = _samples(args)
    tasks = [t.strip() for t in args.task.split(",") if t.strip()]
    losses, snrs = _floats(args.loss) or [0.0], _floats(args.snr)
    points = [(loss, None) for loss in losses] + [(0.0, snr) for snr in snrs]
    codecs = [load_codec_for(bundle, c) for c in _codec_specs(args.codec, bundle.name)]
    if args.rows_per_packet is not None:
        codecs = [repacketized(c, args.rows_per_packet) for c in codecs]
    senders = [*codecs, *_baselines(args.baselines)]
    progress = sys.stderr.isatty() or not args.json
    results = []
    for task in tasks:
        reference = evaluate(bundle, load_codec_for(bundle, "raw"), samples, task, batch_size=args.batch,
                             progress=progress)[1]
        for sender in senders:
            for loss, snr in points:
                result, _ = evaluate(bundle, sender, samples, task, loss, snr, args.seed, args.burst, reference,
                                     args.batch, progress)
                results.append(result)
                if args.json:
                    print(json.dumps(result.row()), flush=True)
    rates = bd_rates(results)
    if not args.json:
        _print_table(results)
        for r in rates:
            snr = "" if r["snr_db"] is None else f" snr {r['snr_db']:g}"
            print(f"BD-rate {r['task']} loss {r['loss']:g}{snr}: {r['test']} vs {r['anchor']} on {r['metric']}: "
                  f"{_percent(r['bd_rate'])}")
    else:
        for r in rates:
            print(json.dumps({"bd_rate": r}), flush=True)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps([r.row() for r in results], indent=1))
        (out / "bd_rates.json").write_text(json.dumps(rates, indent=1))
        for path in plot_sweep(results, out):
            print(f"wrote {path}", file=sys.stderr)
        print(f"wrote {out / 'results.json'}", file=sys.stderr)
    return 0


def _print_table(results) -> None:
    keys = sorted({k for r in results for k in r.metrics})
    head = f"{'task':<20}{'codec':<12}{'loss':>6}{'snr':>6}{'wire B':>10}{'lost':>6}" + "".join(f"{k:>14}" for k in keys)
    print(head)
    for r in results:
        snr = "-" if r.snr_db is None else f"{r.snr_db:g}"
        cells = "".join(f"{r.metrics[k]:>14.3f}" if k in r.metrics else f"{'':>14}" for k in keys)
        print(f"{r.task:<20}{r.codec:<12}{r.loss:>6.2f}{snr:>6}{r.wire_bytes:>10,.0f}{r.packets_lost:>6.1f}{cells}")
    print(f"model {results[0].model}, n={results[0].n} frames per row" if results else "no results")


def _codec_specs(text: str, model: str) -> list[str]:
    specs = []
    for spec in (c.strip() for c in text.split(",") if c.strip()):
        specs += ["learned", *(f"learned:{p}" for p in operating_points(model))] if spec == "learned:all" else [spec]
    return specs


def bd_rates(results) -> list[dict]:
    """BD-rate of the learned curve against each pixel codec's, per task and channel point (``bd_rate.py``)."""
    groups: dict[tuple, dict[str, list]] = {}
    for r in results:
        family = curve_of(r.codec)
        if family in ("learned", "jpeg", "webp") and r.quality == r.quality:
            groups.setdefault((r.task, r.loss, r.snr_db), {}).setdefault(family, []).append(r)
    rates = []
    for (task, loss, snr), families in groups.items():
        learned = families.get("learned", [])
        for anchor in ("webp", "jpeg"):
            if len(learned) < 2 or len(families.get(anchor, [])) < 2:
                continue
            metric = next(k for k in ("exact_match", "map50", "cider", "agreement") if k in learned[0].metrics)
            rate = bd_rate([(r.wire_bytes, r.metrics[metric]) for r in families[anchor]],
                           [(r.wire_bytes, r.metrics[metric]) for r in learned])
            rates.append({"task": task, "loss": loss, "snr_db": snr, "test": "learned", "anchor": anchor,
                          "metric": metric, "bd_rate": rate})
    return rates


def _percent(value: float | None) -> str:
    return "no overlap in quality" if value is None else f"{value:+.1f}%"

"""``semlink eval``: quality of the split pipeline through a channel, over held-out data; sweeps, BD-rates and plots."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

from semlink.builtin import operating_points
from semlink.codecs.registry import repacketized
from semlink.cli.checks import (burst_length, check_codecs, check_model, check_tasks, non_negative_int,
                                non_negative_ints, numbers, positive_int, positive_ints, probabilities)
from semlink.cli.options import DEFAULT_MODEL, add_model_options, progress_line
from semlink.evaluation import coco_samples, evaluate, folder_samples, shapes_samples
from semlink.evaluation.bd_rate import bd_rates, packed_name
from semlink.evaluation.runner import EvalResult
from semlink.evaluation.plots import plot_sweep
from semlink.packets.packing import MAX_PACK
from semlink.packets.transport import PRESETS, parse_overheads
from semlink.pixels.peer import PixelFraming, hand_peers
from semlink.pixels.spec import HandSpec, LearnedSpec, parse_peer_specs
from semlink.wire.spread import MAX_SPREAD
from semlink.runtime import load_codec_for, load_model

HELP = f"""\
Runs held-out shapes scenes (or your images) through transmitter half → codec →
channel → receiver half, and scores the answers: exact match, per-attribute
accuracy, CIDEr-D and BLEU-4 against ground truth, mAP@0.5 for <OD>, and
agreement with the uncompressed pipeline (raw codec, clean channel), with the
wire bytes each frame cost: every byte of its datagrams (header, payload,
check), plus --datagram-overhead transport bytes per datagram. Session bytes
(once per stream) are reported apart. Comma-separated values sweep:

  semlink eval --codec q8 --n 200                      # one point
  semlink eval --seed 7 --json                         # scenes nobody trained or tuned on
  semlink eval --codec fp16,learned --loss 0,0.2 --burst 4 --datagram-overhead 0,rtp-ipv4
  semlink eval --codec learned:all --baselines avif:10,20,30 webp:10,30 jpeg:30 --out runs/rq
  semlink eval --codec learned --baselines avif@32:40,60 avif-s0:20 webp:30 --pixel-framing file
  semlink eval --codec learned:all,fp16 --baselines avif:20,40 learned-pixels:all --loss 0,0.2
  semlink eval --codec learned:all --baselines avif-s0:5,10 --pack 1,4 --datagram-overhead 0,40  # 4 frames a group
  semlink eval --codec learned --loss 0.2 --burst 4 --spread 0,1    # a frame's datagrams a frame period apart
  semlink eval --codec fp16,q8,pca,learned --loss 0,0.3 --snr 10 --out runs/sweep
  semlink eval --model florence-community/Florence-2-base --data images/ --captions caps.jsonl

Pixel peers (--baselines) send the model's input image instead of features,
through the same datagram framing and channel:
  FMT:Q[,Q...]      jpeg, webp or avif at quality Q (0-100)
  FMT@S:Q[,Q...]    coded at S x S pixels, resized back to the model input
  avif-sN:Q[,Q...]  AVIF at encoder speed N (0 slowest .. 10; default 8, real time)
  learned-pixels[:NAME,...|:all]   the learned pixel codec's shipped points
A spec that cannot work is refused before any model loads. With
--pixel-framing stream (the default) the stream-constant headers (JPEG tables,
RIFF, HEIF boxes and the AV1 sequence header) are session bytes and only the
frame travels; --pixel-framing file sends the whole file, as older tables did.

--datagram-overhead B[,B...] adds B bytes per datagram to wire_bytes (0 the link
as simulated; {", ".join(f"{k} = {v}" for k, v in PRESETS.items() if v)});
each sender and channel point runs once and gives one row per overhead.
--snr sets bit errors from BPSK over AWGN at that Es/N0 (dB); --burst L makes
losses bursty (Gilbert-Elliott, mean burst length L datagrams). learned:all is
the default learned codec and every operating point shipped beside the model.
The BD-rate of the learned curve against each pixel peer family and against
the best of all pixel peers (their pareto front, "best-pixels") is printed per
task, channel point and overhead (negative: fewer bytes at equal quality) and
saved in bd_rates.json.
"""


def register(sub) -> None:
    p = sub.add_parser("eval", help="quality vs bytes, loss and SNR on held-out data", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(p, default=DEFAULT_MODEL)
    p.add_argument("--codec", default="learned",
                   help="codec name(s) or checkpoint path(s), comma-separated; learned:untrained = a fresh, untrained learned codec")
    p.add_argument("--task", default="<CAPTION>", help="task(s), comma-separated (default: <CAPTION>)")
    p.add_argument("--n", type=positive_int, default=100, help="frames per point (default: 100)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="stream of held-out scenes, and the channel's seed")
    p.add_argument("--loss", type=probabilities, default="0", help="packet loss rate(s), comma-separated (default: 0)")
    p.add_argument("--burst", type=burst_length, default=None, help="mean loss burst length (Gilbert-Elliott)")
    p.add_argument("--snr", type=numbers, default="", help="SNR(s) in dB for bit errors, comma-separated (default: none)")
    p.add_argument("--datagram-overhead", default="0", metavar="B[,B...]",
                   help="transport bytes per datagram counted in wire bytes, a sweep: numbers or "
                        f"{', '.join(PRESETS)} (default: 0)")
    p.add_argument("--pack", type=positive_ints, default="1", metavar="K[,K...]",
                   help="send K consecutive frames as one group of datagrams, datagram j carrying slice j of each "
                        f"(1 to {MAX_PACK}; 1: every frame alone, the default): each frame pays 1/K of a datagram's "
                        "framing and transport bytes, a lost datagram erases 1/K of each of K frames, and a frame "
                        "waits up to K-1 frame periods; a sweep gives rows per K, and BD-rates take each curve's "
                        "best packing at each quality. --batch must be a multiple of every K")
    p.add_argument("--spread", type=non_negative_ints, default="0", metavar="S[,S...]",
                   help="send datagram j of each frame (or group) S*j frame periods after its first, between the "
                        f"other frames' (0 to {MAX_SPREAD}; 0: back to back, the default): a loss burst then rarely "
                        "takes a whole frame; nothing is added to the wire, a frame waits S*(n-1) periods for its n "
                        "datagrams; a sweep gives rows per S, and BD-rates take each curve's best setting")
    p.add_argument("--rows-per-packet", type=positive_int, default=None, metavar="N",
                   help="send every codec's latent in packets of N rows (the packetisation trade: fewer packets, "
                        "fewer framing bytes, more lost at once)")
    p.add_argument("--baselines", nargs="*", default=[], metavar="SPEC",
                   help="pixel peers through the same channel, e.g. avif:20,30 webp@32:60 avif-s0:20 "
                        "learned-pixels:all")
    p.add_argument("--pixel-framing", choices=[f.value for f in PixelFraming], default=PixelFraming.STREAM.value,
                   help="stream: headers once per stream, the frame per frame (default); file: the whole file")
    p.add_argument("--data", help="a folder of images instead of shapes scenes")
    p.add_argument("--captions", help="JSONL of {file, caption|captions} for --data")
    p.add_argument("--coco", help="COCO captions JSON (with --data as its image folder)")
    p.add_argument("--batch", type=positive_int, default=8, help="frames per batch (default: 8)")
    p.add_argument("--out", help="directory for results.json, bd_rates.json and PNG plots")
    p.add_argument("--update", action="store_true",
                   help="with --out: keep the rows of DIR/results.json this run does not make (other senders or "
                        "channel points) and re-make BD-rates and plots over all of them")
    p.add_argument("--json", action="store_true", help="print one JSON object per result row")
    p.set_defaults(func=run)


def _samples(args):
    for flag, path, want in (("--data", args.data, Path.is_dir), ("--captions", args.captions, Path.is_file),
                             ("--coco", args.coco, Path.is_file)):
        if path and not want(Path(path)):
            raise ValueError(f"{flag} {path}: no such {'folder' if want is Path.is_dir else 'file'}")
    if args.coco:
        if not args.data:
            raise ValueError("--coco needs --data pointing at the COCO image folder")
        return coco_samples(args.coco, args.data, args.n)
    if args.data:
        return folder_samples(args.data, args.n, args.captions)
    return shapes_samples(args.n, args.seed)


def run(args) -> int:
    # Everything that can be refused is refused here, before a model loads.
    check_model(args.model)
    check_codecs(args.codec, args.model, allow_all=True)
    tasks = check_tasks(args.task)
    losses, snrs = args.loss or [0.0], args.snr
    if args.burst is not None and max(losses) >= 1.0:
        raise ValueError("--burst needs every --loss below 1 (a burst ends when a datagram gets through)")
    overheads = parse_overheads(args.datagram_overhead)
    packs = sorted(set(args.pack))
    if max(packs) > MAX_PACK or any(args.batch % k for k in packs):
        raise ValueError(f"--pack {','.join(map(str, packs))}: each K must be 1 to {MAX_PACK} and divide --batch "
                         f"{args.batch}")
    spreads = sorted(set(args.spread)) or [0]
    if max(spreads) > MAX_SPREAD:
        raise ValueError(f"--spread {','.join(map(str, spreads))}: each S must be 0 to {MAX_SPREAD}")
    peer_specs = parse_peer_specs(args.baselines, model=args.model)

    samples = _samples(args)  # a missing --data folder or --captions file is refused here too
    kept = _kept_rows(args)

    progress_line("eval", f"loading model {args.model}...")
    bundle = load_model(args.model, args.device, args.dtype)
    points = [(loss, None) for loss in losses] + [(0.0, snr) for snr in snrs]
    codecs = [load_codec_for(bundle, c) for c in _codec_specs(args.codec, bundle.name)]
    if args.rows_per_packet is not None:
        codecs = [repacketized(c, args.rows_per_packet) for c in codecs]
    senders = [*codecs, *_pixel_peers(bundle, peer_specs, args.pixel_framing)]
    progress = sys.stderr.isatty() or not args.json
    out = Path(args.out) if args.out else None
    results = []
    for task in tasks:
        reference = evaluate(bundle, load_codec_for(bundle, "raw"), samples, task, batch_size=args.batch,
                             progress=progress)[1]
        for sender in senders:
            for (loss, snr), pack, spread in itertools.product(points, packs, spreads):
                result, _ = evaluate(bundle, sender, samples, task, loss, snr, args.seed, args.burst, reference,
                                     args.batch, progress, pack=pack, spread=spread)
                for overhead in overheads:
                    results.append(result.at_overhead(overhead))
                    if args.json:
                        print(json.dumps(results[-1].row()), flush=True)
                if out is not None:  # rows so far survive a later failure
                    _write_results(out, _merged(kept, results))
    results = _merged(kept, results)
    rates = bd_rates(results)
    if not args.json:
        _print_table(results)
        for r in rates:
            print(_rate_line(r))
    else:
        for r in rates:
            print(json.dumps({"bd_rate": r}), flush=True)
    if out is not None:
        _write_results(out, results)
        (out / "bd_rates.json").write_text(json.dumps(rates, indent=1))
        for path in plot_sweep(results, out):
            print(f"wrote {path}", file=sys.stderr)
        print(f"wrote {out / 'results.json'} and {out / 'bd_rates.json'}", file=sys.stderr)
    return 0


def _pixel_peers(bundle, specs: list[HandSpec | LearnedSpec], framing: str) -> list:
    peers = []
    for spec in specs:
        if isinstance(spec, LearnedSpec):
            from semlink.pixels.learned import learned_pixel_peers

            peers += learned_pixel_peers(bundle, list(spec.names))
        else:
            peers += hand_peers([spec], framing)
    return peers


def _kept_rows(args) -> list[EvalResult]:
    """With --update, the rows already in --out's results.json (checked before any model loads)."""
    if not args.update:
        return []
    if not args.out:
        raise ValueError("--update needs --out DIR, the folder whose results.json it updates")
    path = Path(args.out) / "results.json"
    if not path.is_file():
        raise ValueError(f"--update: {path} does not exist; run once without --update first")
    try:
        rows = [EvalResult.from_row(row) for row in json.loads(path.read_text())]
    except (ValueError, TypeError) as err:
        raise ValueError(f"--update: {path} is not an eval results file ({err})") from err
    other = sorted({(r.model, r.n) for r in rows} - {(args.model, args.n)})
    if other and not args.data:
        raise ValueError(f"--update: {path} holds rows of --model {other[0][0]} --n {other[0][1]}; rows are merged "
                         f"only with rows of the same model and number of frames (this run: {args.model}, {args.n})")
    return rows


def _merged(kept: list[EvalResult], new: list[EvalResult]) -> list[EvalResult]:
    """``kept`` rows, each replaced by the ``new`` row of its point, in place; new points after them."""
    fresh = {r.point(): r for r in new}
    merged = [fresh.pop(r.point(), r) for r in kept]
    return merged + list(fresh.values())


def _write_results(out: Path, results) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps([r.row() for r in results], indent=1))


def _print_table(results) -> None:
    keys = sorted({k for r in results for k in r.metrics})
    names = [packed_name(r.codec, r.pack, r.spread) for r in results]
    width = max([24, *(len(n) + 2 for n in names)])
    head = (f"{'task':<18}{'codec':<{width}}{'domain':<9}{'loss':>5}{'snr':>5}{'+B/dg':>6}{'wire B':>9}{'session':>8}"
            f"{'dgrams':>7}{'lost':>6}" + "".join(f"{k:>13}" for k in keys))
    print(head)
    for r, name in zip(results, names):
        snr = "-" if r.snr_db is None else f"{r.snr_db:g}"
        cells = "".join(f"{r.metrics[k]:>13.3f}" if k in r.metrics else f"{'':>13}" for k in keys)
        print(f"{r.task:<18}{name:<{width}}{r.domain:<9}{r.loss:>5.2f}{snr:>5}{r.datagram_overhead:>6}"
              f"{r.wire_bytes:>9,.1f}{r.session_bytes:>8,}{r.datagrams:>7.2f}{r.datagrams_lost:>6.2f}{cells}")
    print(f"model {results[0].model}, n={results[0].n} frames per row; wire B per frame includes +B/dg transport "
          "bytes per datagram; session B once per stream" if results else "no results")


def _rate_line(r: dict) -> str:
    snr = "" if r["snr_db"] is None else f" snr {r['snr_db']:g}"
    burst = f" bursts {r['burst']:g}" if r.get("burst") else ""
    if r["bd_rate"] is None:
        (t_low, t_high), (a_low, a_high) = r["test_quality"], r["anchor_quality"]
        value = (f"no overlap in quality ({r['test']} {t_low:.3f}-{t_high:.3f}, {r['anchor']} {a_low:.3f}-{a_high:.3f}"
                 f"{'; one point' if len(r['anchor_points']) < 2 else ''})")
    else:
        value = f"{r['bd_rate']:+.1f}%"
    return (f"BD-rate {r['task']} loss {r['loss']:g}{burst}{snr} +{r['datagram_overhead']} B/datagram: "
            f"{r['test']} vs {r['anchor']} on {r['metric']}: {value}")


def _codec_specs(text: str, model: str) -> list[str]:
    specs = []
    for spec in (c.strip() for c in text.split(",") if c.strip()):
        specs += ["learned", *(f"learned:{p}" for p in operating_points(model))] if spec == "learned:all" else [spec]
    return specs

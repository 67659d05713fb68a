"""``semlink pretrain-shapes``: train the shapes-tiny Florence-2 on a CPU, from scratch or from a checkpoint."""

from __future__ import annotations

import argparse

from trainer.pretrain_shapes import PretrainConfig, pretrain

HELP = """\
Trains Florence-2 (the real transformers class, shapes_tiny preset) on the shapes
world: a short vision warm-up on a per-cell auxiliary probe, then all three tasks
(<CAPTION>, <DETAILED_CAPTION>, <OD>) jointly with the probe kept on; saves
model, processor and generation config to --out, then reports exact match and
<OD> mAP@0.5 on the held-out test split. --init continues a saved checkpoint
(a later stage of a curriculum). The shipped model is three such runs:
  scripts/rebuild-shapes-tiny.sh runs/shapes-tiny
(see semlink/assets/shapes-tiny/TRAINING.md for the recipe, its timings and what failed).
"""


def register(sub) -> None:
    p = sub.add_parser("pretrain-shapes", help="train the shapes-tiny Florence-2 from scratch (CPU)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = PretrainConfig()
    p.add_argument("--out", required=True, help="directory to save the checkpoint to")
    p.add_argument("--steps", type=int, default=d.steps, help=f"optimizer steps, at most (default: {d.steps})")
    p.add_argument("--minutes", type=float, default=d.minutes,
                   help="wall-clock budget of the training loop; the cosine follows it and training stops there (0: none)")
    p.add_argument("--batch", type=int, default=d.batch, help=f"images per step, each with all 3 tasks (default: {d.batch})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"peak learning rate (default: {d.lr})")
    p.add_argument("--warmup", type=int, default=d.warmup, help=f"warmup steps (default: {d.warmup})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"init, pool and batch seed (default: {d.seed})")
    p.add_argument("--pool", type=int, default=d.pool, help=f"pre-rendered training scenes (default: {d.pool})")
    p.add_argument("--loc-sigma", type=float, default=d.loc_sigma,
                   help=f"std (bins) of a Gaussian-smoothed <loc_N> target; 0 = plain cross-entropy (default: "
                        f"{d.loc_sigma}). Beware: it spreads each location's probability over many bins, so at "
                        "decoding a non-location token can out-score every bin (sigma 6 took <OD> mAP from 0.6 to 0.08)")
    p.add_argument("--probe-steps", type=int, default=d.probe_steps,
                   help=f"vision warm-up steps on the per-cell probe before joint training (default: {d.probe_steps})")
    p.add_argument("--probe-weight", type=float, default=d.probe_weight,
                   help=f"weight of the per-cell probe loss during joint training (default: {d.probe_weight})")
    p.add_argument("--threads", type=int, default=d.threads, help=f"torch CPU threads (default: {d.threads})")
    p.add_argument("--eval-every", type=int, default=d.eval_every, help="steps between 100-scene val evals (0: never)")
    p.add_argument("--eval-scenes", type=int, default=d.eval_scenes, help="test scenes for the final eval (0: skip)")
    p.add_argument("--repeat-weight", type=float, default=d.repeat_weight,
                   help=f"sampling weight of scenes with look-alikes, whose <CAPTION> counts them (\"two red "
                        f"circles\"); 8%% of scenes, the captions a model gets wrong longest (default: {d.repeat_weight})")
    p.add_argument("--num-beams", type=int, default=d.num_beams,
                   help=f"beams of the saved generation config (default: {d.num_beams}, greedy)")
    p.add_argument("--init", default=d.init, metavar="DIR",
                   help="continue training this checkpoint instead of a fresh model; the probe warm-up then "
                        "trains only the new probe (use a new --seed for a fresh pool of scenes)")
    p.add_argument("--tiny", action="store_true", help="the tiny-random architecture (for smoke tests)")
    p.set_defaults(func=run)


def run(args) -> int:
    cfg = PretrainConfig(
        steps=args.steps, minutes=args.minutes, batch=args.batch, lr=args.lr, warmup=args.warmup, seed=args.seed, pool=args.pool,
        loc_sigma=args.loc_sigma, threads=args.threads, eval_every=args.eval_every,
        eval_scenes=args.eval_scenes, tiny=args.tiny,
        probe_steps=args.probe_steps, probe_weight=args.probe_weight,
        num_beams=args.num_beams, init=args.init, repeat_weight=args.repeat_weight,
    )
    record = pretrain(args.out, cfg)
    print(f"saved {args.out} ({record['parameters'] / 1e6:.2f}M parameters) in {record['train_seconds']:.0f} s")
    for name, value in record["test_metrics"].items():
        print(f"  {name}: {value:.4f}")
    return 0

#!/usr/bin/env bash
# Rebuild the shipped shapes-tiny Florence-2 from scratch on a CPU: three runs of
# `semlink pretrain-shapes`, each continuing the last (see semlink/assets/shapes-tiny/TRAINING.md).
#   scripts/rebuild-shapes-tiny.sh [OUT]     # OUT defaults to runs/shapes-tiny; about 1.5 h on 2 cores
# Then retrain its codec (the model's fingerprint changed):
#   semlink train configs/shapes.yaml --set model.name=OUT
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/shapes-tiny}
SEMLINK=${SEMLINK:-.venv/bin/semlink}
WORK="$OUT.stages"

# 1. From scratch: vision warm-up on the per-cell probe, then all three tasks (2,500 steps).
"$SEMLINK" pretrain-shapes --out "$WORK/1-scratch" --eval-scenes 0
# 2. A fresh pool of 12,000 scenes, half the learning rate: <OD> boxes sharpen (mAP 0.6 -> 0.9).
"$SEMLINK" pretrain-shapes --init "$WORK/1-scratch" --out "$WORK/2-boxes" --steps 3000 --lr 5e-4 --warmup 100 \
    --seed 1 --pool 12000 --probe-steps 100 --eval-scenes 0
# 3. Another fresh pool, scenes with look-alikes ("two red circles") drawn 4x as often: captions that count.
"$SEMLINK" pretrain-shapes --init "$WORK/2-boxes" --out "$OUT" --steps 1500 --lr 3e-4 --warmup 50 \
    --seed 2 --pool 12000 --probe-steps 50 --repeat-weight 4

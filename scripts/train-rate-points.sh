#!/usr/bin/env bash
# Retrain the shapes-tiny learned codec's rate-quality operating points (semlink/assets/shapes-tiny/CODEC.md):
# `semlink train` runs continuing the codec shipped before them (the 228-byte one, 4 one-row packets), each at a
# rate weight (loss.rate: bits per feature element from the entropy model that also codes the wire), all on
# 2 CPU cores, ~5 minutes per 700 steps.
#   scripts/train-rate-points.sh [OUT]        # OUT defaults to runs/rate-points
# Ship them with: scripts/ship-rate-points.sh OUT
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/rate-points}
SEMLINK=${SEMLINK:-.venv/bin/semlink}
START=${START:-runs/shapes-codec/5/codec-learned.safetensors}  # scripts/retrain-shapes-codec.sh: the 228-byte default before this curve
train() {  # train NAME INIT ROWS RATE STEPS [LR]
  "$SEMLINK" train configs/shapes.yaml --set run.progress=false --set codec.init="$2" \
      --set codec.rows_per_packet="$3" --set loss.rate="$4" --set optim.steps="$5" --set optim.lr="${6:-2e-4}" \
      --set optim.warmup_steps=30 --set run.eval_every="$5" --set run.checkpoint_every="$5" \
      --set run.out_dir="$OUT/$1"
}
ckpt() { echo "$OUT/$1/codec-learned.safetensors"; }
# Two latent rows per packet (2 packets a frame), rising rate weights, each run continuing the last.
train rate-1 "$START" 2 1 700
train rate-3 "$(ckpt rate-1)" 2 3 700
train rate-8 "$(ckpt rate-3)" 2 8 700
train rate-20 "$(ckpt rate-8)" 2 20 700
train rate-50 "$(ckpt rate-20)" 2 50 700
train rate-120 "$(ckpt rate-50)" 2 120 700
# The default: one row per packet (4 packets a frame: a lost packet costs a quarter of the latent).
train rate-8-rows1 "$(ckpt rate-8)" 1 8 700
train rate-5-rows1-long "$(ckpt rate-8-rows1)" 1 5 1500
echo "operating points in $OUT/*/codec-learned.safetensors; ship them with scripts/ship-rate-points.sh $OUT"

#!/usr/bin/env bash
# Train the shapes-tiny learned codec's rate-quality operating points (semlink/assets/shapes-tiny/codec-learned-*.safetensors):
# a chain of `semlink train` runs from the shipped default codec, each at a larger rate weight (loss.rate), two latent
# rows per packet (the packetisation docs/rate-quality.md chose). About 7 minutes a point on 2 CPU cores.
#   scripts/train-rate-points.sh [OUT] [RATE ...]     # OUT defaults to runs/rate-points; rates to 1 3 8 20
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/rate-points}
shift || true
RATES=("${@:-1 3 8 20}")
read -r -a RATES <<< "${RATES[*]}"
SEMLINK=${SEMLINK:-.venv/bin/semlink}
STEPS=${STEPS:-700}
init=semlink/assets/shapes-tiny/codec-learned.safetensors
for rate in "${RATES[@]}"; do
  "$SEMLINK" train configs/shapes.yaml --set run.progress=false --set codec.init="$init" \
      --set codec.rows_per_packet=2 --set loss.rate="$rate" --set optim.steps="$STEPS" --set optim.lr=2e-4 \
      --set optim.warmup_steps=30 --set run.eval_every="$STEPS" --set run.checkpoint_every="$STEPS" \
      --set run.out_dir="$OUT/rate-$rate"
  init="$OUT/rate-$rate/codec-learned.safetensors"
done
echo "operating points in $OUT/rate-*/codec-learned.safetensors"

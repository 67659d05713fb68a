#!/usr/bin/env bash
# Retrain the shipped shapes-tiny codec (semlink/assets/shapes-tiny/codec-learned.safetensors):
# five `semlink train` runs, each continuing the last (see semlink/assets/shapes-tiny/CODEC.md).
#   scripts/retrain-shapes-codec.sh [OUT]    # OUT defaults to runs/shapes-codec
# Runs 1-3 take ~1 h on 2 CPU cores; runs 4-5 ran on one H200 (6.5 min there together, 1,880
# frames/s from the feature cache) and would take ~3.5 h on those CPU cores.
# DEVICE=cuda picks the GPU explicitly; the default (auto) takes one when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/shapes-codec}
SEMLINK=${SEMLINK:-.venv/bin/semlink}
DEVICE=${DEVICE:-auto}
train() { "$SEMLINK" train configs/shapes.yaml --set model.device="$DEVICE" --set run.progress=false "$@"; }

# 1-3. The config as it is, then two continuations on twice the images at lower learning rates (CPU).
train --set run.out_dir="$OUT/1"
train --set codec.init="$OUT/1/codec-learned.safetensors" --set run.out_dir="$OUT/2" --set optim.steps=2000 \
    --set optim.lr=5e-4 --set optim.warmup_steps=50 --set data.train_size=16384
train --set codec.init="$OUT/2/codec-learned.safetensors" --set run.out_dir="$OUT/3" --set optim.steps=1500 \
    --set optim.lr=3e-4 --set optim.warmup_steps=50 --set data.train_size=16384
# 4-5. Large batches on 32,768 images, more clean channels (GPU; fp32 weights, no autocast).
big=(--set data.train_size=32768 --set optim.batch_size=128 --set channel.clean_fraction=0.25
     --set model.dtype=float32 --set run.amp=off)
train "${big[@]}" --set codec.init="$OUT/3/codec-learned.safetensors" --set run.out_dir="$OUT/4" \
    --set optim.steps=3280 --set optim.lr=4e-4 --set optim.warmup_steps=100 --set run.seed=7
train "${big[@]}" --set codec.init="$OUT/4/codec-learned.safetensors" --set run.out_dir="$OUT/5" \
    --set optim.steps=2417 --set optim.lr=2e-4 --set optim.warmup_steps=50 --set run.seed=8
echo "codec: $OUT/5/codec-learned.safetensors (ship it: cp it to semlink/assets/shapes-tiny/)"

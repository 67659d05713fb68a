#!/usr/bin/env bash
# Copy the operating points scripts/train-rate-points.sh trained into semlink/assets/shapes-tiny/, each saved with
# its entropy model's integer tables (what the wire codes with).
#   scripts/ship-rate-points.sh [OUT]         # OUT defaults to runs/rate-points
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/rate-points}
PYTHON=${PYTHON:-.venv/bin/python}
"$PYTHON" - "$OUT" <<'PY'
import sys
from pathlib import Path

from semlink.codecs import load_codec, save_codec

out, assets = Path(sys.argv[1]), Path("semlink/assets/shapes-tiny")
points = {"": "rate-5-rows1-long", "rate1": "rate-1", "rate20": "rate-20", "rate50": "rate-50", "rate120": "rate-120"}
for name, run in points.items():
    target = assets / (f"codec-learned-{name}.safetensors" if name else "codec-learned.safetensors")
    save_codec(load_codec(out / run / "codec-learned.safetensors"), target)
    print(f"{out / run} -> {target}")
PY

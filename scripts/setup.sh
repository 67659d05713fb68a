#!/usr/bin/env bash
# Create .venv and install semlink with its test tools. Torch goes first, pinned: an unpinned
# torch pulls a multi-GB CUDA build. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${SEMLINK_TORCH:-torch==2.13.0}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q "$TORCH_SPEC"
.venv/bin/python -m pip install -q -e ".[dev]"
echo "semlink installed in .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"

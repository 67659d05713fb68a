"""Command-line options shared by several sub-commands, defined once."""

from __future__ import annotations

import argparse


DEFAULT_MODEL = "shapes-tiny"
# Kept literal so that parsing options imports no torch; a test checks it against available_models().
MODEL_PRESETS = ("tiny-random", "base-random", "shapes-tiny")


def add_model_options(parser: argparse.ArgumentParser, default: str = DEFAULT_MODEL) -> None:
    parser.add_argument(
        "--model", default=default,
        help=f"preset ({', '.join(MODEL_PRESETS)}), hub id or local directory (default: {default})",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--dtype", default="auto", help="auto (fp16 on CUDA, fp32 on CPU), float32, float16, bfloat16")

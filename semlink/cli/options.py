"""Command-line options shared by several sub-commands, defined once."""

from __future__ import annotations

import argparse
import os
import sys


TOKEN_ENV = "SEMLINK_API_TOKEN"
GRPC_TOKEN_ENV = "SEMLINK_GRPC_TOKEN"

DEFAULT_MODEL = "shapes-tiny"
# Kept literal so that parsing options imports no torch; a test checks it against available_models().
MODEL_PRESETS = ("tiny-random", "base-random", "shapes-tiny")


def add_token_option(parser: argparse.ArgumentParser, what: str = "sent to the services") -> None:
    """``--token``: the services' bearer token (their API_TOKEN), by default from ``SEMLINK_API_TOKEN``."""
    parser.add_argument("--token", default=os.environ.get(TOKEN_ENV) or None, metavar="TOKEN",
                        help=f"bearer token {what} as 'Authorization: Bearer TOKEN' (default: ${TOKEN_ENV}; "
                             "unset: none)")


def add_grpc_token_option(parser: argparse.ArgumentParser) -> None:
    """``--grpc-token``: the token on every gRPC hop (each server's GRPC_TOKEN, each client's UPSTREAM_TOKEN)."""
    parser.add_argument("--grpc-token", default=os.environ.get(GRPC_TOKEN_ENV) or None, metavar="TOKEN",
                        help="bearer token every gRPC hop requires and sends (receiver and channel_sim GRPC_TOKEN, "
                             f"channel_sim and transmitter UPSTREAM_TOKEN; default: ${GRPC_TOKEN_ENV}; unset: one is "
                             "made up for the run when --token is set, else the gRPC ports take anyone)")


def add_model_options(parser: argparse.ArgumentParser, default: str = DEFAULT_MODEL) -> None:
    parser.add_argument(
        "--model", default=default,
        help=f"preset ({', '.join(MODEL_PRESETS)}), hub id or local directory (default: {default})",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--dtype", default="auto", help="auto (fp16 on CUDA, fp32 on CPU), float32, float16, bfloat16")


def progress_line(command: str, what: str) -> None:
    """One line on stderr saying what a command is doing while it works for more than a few seconds."""
    print(f"semlink {command}: {what}", file=sys.stderr, flush=True)

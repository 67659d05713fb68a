"""``semlink``: the command line. Each sub-command lives in its own module with ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Sub-command name -> (module, one-line summary), in the order ``--help`` lists them. Only the
# module of the command being run is imported, so a client command does not pay for torch.
COMMANDS = {
    "check": ("semlink.cli.check", "parity of the split pipeline against the unsplit model"),
    "codecs": ("semlink.cli.codecs", "bytes per frame for each codec"),
    "eval": ("semlink.cli.eval", "quality vs bytes, loss and SNR on held-out data"),
    "pretrain-shapes": ("semlink.cli.pretrain_shapes", "train the shapes-tiny Florence-2 from scratch (CPU)"),
    "train": ("semlink.cli.train", "train a learned codec end to end"),
    "fit-tables": ("semlink.cli.fit_tables", "refit a learned codec's wire tables to its symbols (fewer bytes)"),
    "train-pixels": ("semlink.cli.train_pixels", "train the learned pixel codec (the learned-pixels peer)"),
    "up": ("semlink.cli.up", "run the three services locally until Ctrl-C"),
    "demo": ("semlink.cli.demo", "offline end-to-end run through the three services"),
    "caption": ("semlink.cli.caption", "send an image through running services, print the answer"),
    "bench": ("semlink.cli.bench", "benchmarks (bench link: per-stage link timings)"),
    "soak": ("semlink.cli.soak", "a long run: fixed-rate frames, lossy channel, RSS and frame accounting"),
    "certs": ("semlink.cli.certs", "make a development CA and certificates for the three services"),
}

DESCRIPTION = """\
semlink sends Florence-2's vision features, not pixels, across an imperfect network.

Models: a preset (tiny-random, base-random, shapes-tiny), a hub id
(florence-community/Florence-2-base) or a local directory.
Codecs: raw, fp16, q8, pca, learned, or a codec checkpoint (.safetensors).
"""


class OneLineParser(argparse.ArgumentParser):
    """A parser whose mistakes cost one line: what is wrong and where the help is, not the whole usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; ``command``'s module is imported and registered in full, the others listed by name.

    With ``command=None`` every module is imported (for tests and docs).
    """
    parser = OneLineParser(
        prog="semlink", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, summary) in COMMANDS.items():
        if command is None or name == command:
            importlib.import_module(module).register(sub)
        else:
            sub.add_parser(name, help=summary, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else "")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except (ValueError, RuntimeError, OSError) as err:
        print(f"semlink {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""``python -m trainer CONFIG [--set k=v ...]``: the same as ``semlink train``, handy under ``torchrun -m``."""

import sys

from semlink.cli.main import main

sys.exit(main(["train", *sys.argv[1:]]))

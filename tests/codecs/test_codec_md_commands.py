"""Every `semlink` command shown in shapes-tiny's CODEC.md parses as its command line would (continued lines
joined; a `semlink train` line resolves to a config holding what it sets)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from semlink.cli.main import build_parser, main

CODEC_MD = Path(__file__).resolve().parents[2] / "semlink" / "assets" / "shapes-tiny" / "CODEC.md"


def commands() -> list[list[str]]:
    text = CODEC_MD.read_text().replace("\\\n", " ")
    return [shlex.split(line.split("#")[0])[1:] for line in text.splitlines()
            if line.startswith("    ") and line.strip().startswith("semlink ")]


def test_every_command_in_codec_md_parses(capsys):
    found = commands()
    assert {argv[0] for argv in found} == {"fit-tables", "train", "eval"}, found
    for argv in found:
        if argv[0] == "train":
            assert main([*argv, "--print-config"]) == 0
            config = json.loads(capsys.readouterr().out)
            assert config["codec"]["prior"] == "mixture" and config["loss"]["rate"] == 15
        else:
            build_parser(argv[0]).parse_args(argv)

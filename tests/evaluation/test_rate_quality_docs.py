"""The commands docs/rate-quality gives parse, and every peer and overhead in them is one `semlink eval` takes."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from semlink.cli.main import build_parser
from semlink.packets.transport import parse_overheads
from semlink.pixels.spec import parse_peer_specs

DOC = Path(__file__).resolve().parents[2] / "docs" / "rate-quality" / "README.md"


def _eval_commands() -> list[list[str]]:
    text = DOC.read_text().replace("\\\n", " ")
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [shlex.split(line)[1:] for block in blocks for line in block.splitlines()
            if line.strip().startswith("semlink eval")]


def test_the_verdict_commands_parse_with_valid_peers():
    commands = _eval_commands()
    assert len(commands) >= 2  # the Bernoulli and the Gilbert-Elliott runs
    parser = build_parser("eval")
    for argv in commands:
        args = parser.parse_args(argv)  # too long to run here (600 frames a point); every option must still parse
        peers = parse_peer_specs(args.baselines, model=args.model)
        assert peers or args.update  # a run without pixel peers only updates a table that has them
        assert parse_overheads(args.datagram_overhead) == [0, 40]
        assert (args.n, args.seed) == (600, 1207)  # every row of the tables comes from the same scenes

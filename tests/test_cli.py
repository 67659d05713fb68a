"""The `semlink` command line: every command teaches with --help, and parsing stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from semlink.cli.main import COMMANDS, build_parser
from semlink.cli.options import MODEL_PRESETS


def test_every_command_registers_and_has_help():
    parser = build_parser()  # imports every command module
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)
    for name, p in sub.choices.items():
        assert p.description or p.format_help(), name


def test_model_presets_listed_in_help_are_the_real_ones():
    from semlink.florence.loading import available_models

    assert set(MODEL_PRESETS) == set(available_models())


@pytest.mark.parametrize("command", ["caption", "up"])
def test_client_commands_do_not_import_torch(command):
    code = (
        "import sys; from semlink.cli.main import build_parser; "
        f"build_parser({command!r}).parse_args([{command!r}, '--help'])"
    )
    out = subprocess.run([sys.executable, "-c", code + "\n", ], capture_output=True, text=True)
    assert "usage: semlink" in out.stdout
    probe = subprocess.run(
        [sys.executable, "-c", f"import sys; from semlink.cli.main import build_parser; build_parser({command!r}); "
         "print('torch' in sys.modules)"],
        capture_output=True, text=True,
    )
    assert probe.stdout.strip() == "False", probe.stderr


def test_unknown_command_prints_help_and_fails(capsys):
    from semlink.cli.main import main

    with pytest.raises(SystemExit):
        main(["no-such-command"])

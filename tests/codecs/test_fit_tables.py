"""Wire tables fitted to a learned codec's symbols: exact round trips, kept through update() and checkpoints,
named in the session, never more bytes than the logistic on the data they were fitted to; the command's refusals
come before a model loads and its --help examples run."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest
import torch

from semlink.cli import fit_tables as fit_tables_cli
from semlink.cli.main import build_parser, main
from semlink.codecs import build_codec, load_codec, save_codec
from semlink.codecs.fit_tables import fit_tables, payload_bits, symbol_counts, wire_symbols, with_logistic_tables
from semlink.entropy import CdfTables
from semlink.wire.carry import carry

SHAPE = (32, 6, 5)
FP = "0123456789abcdef"


@pytest.fixture(scope="module")
def codec():
    torch.manual_seed(0)
    codec = build_codec("learned", SHAPE, FP, latent_channels=4).eval()
    with torch.no_grad():  # a logistic far from the symbols' real spread, as a trained one is in shape
        codec.entropy_model.log_scale.fill_(2.0)
    return codec


@pytest.fixture(scope="module")
def batches():
    return [torch.randn(8, *SHAPE) * 3 for _ in range(4)]


def test_counts_are_per_channel_histograms():
    symbols = np.array([[[[0, 1]], [[2, 2]]], [[[1, 1]], [[3, 2]]]], dtype=np.uint8)  # (2 frames, 2 channels, 1, 2)
    assert symbol_counts(symbols, 4).tolist() == [[1, 3, 0, 0], [0, 0, 3, 1]]


def test_tables_from_counts_sum_exactly_and_keep_every_symbol_codable():
    tables = CdfTables.from_counts(np.array([[0, 5, 0, 3], [0, 0, 0, 0]]))
    assert (tables.freqs.sum(axis=1) == 1 << tables.precision).all() and (tables.freqs >= 1).all()
    assert tables.freqs[0, 1] > tables.freqs[0, 3] > tables.freqs[0, 0]
    assert len(set(tables.freqs[1].tolist())) == 1  # a channel never seen: uniform
    with pytest.raises(ValueError, match=">= 0"):
        CdfTables.from_counts(np.array([[1, -1]]))


def test_fitted_tables_round_trip_exactly_and_cost_no_more_than_the_logistic(codec, batches):
    fitted = fit_tables(codec, batches)
    assert fitted.config.tables == "histogram" and codec.config.tables == "logistic"
    assert fitted.entropy_model_id() != codec.entropy_model_id()
    assert payload_bits(fitted, batches) < payload_bits(codec, batches)
    x = batches[0]
    session = fitted.session(3)
    frames = fitted.compress(x, [session.frame_id(i) for i in range(x.shape[0])])
    received = [carry(f, session, None).received for f in frames]
    sent = torch.from_numpy(wire_symbols(fitted, x).astype(np.float32)) - fitted.half_range
    with torch.no_grad():
        assert torch.equal(fitted.decompress(received)[0], fitted.synthesis(sent, torch.zeros(x.shape[0], 3)))
    assert json.loads(session.codec_config)["tables"] == "histogram"  # the session names the kind of tables


def test_update_and_checkpoints_keep_fitted_tables(codec, batches, tmp_path):
    fitted = fit_tables(codec, batches)
    identity = fitted.entropy_model_id()
    fitted.update()
    assert fitted.entropy_model_id() == identity
    loaded = load_codec(save_codec(fitted, tmp_path / "fitted.safetensors"), fingerprint=FP)
    assert loaded.config.tables == "histogram" and loaded.entropy_model_id() == identity
    empty = build_codec("learned", SHAPE, FP, latent_channels=4, tables="histogram")
    with pytest.raises(ValueError, match="semlink fit-tables"):
        empty.update()


def test_training_from_a_fitted_codec_prices_and_codes_with_the_logistic_again(codec, batches):
    again = with_logistic_tables(fit_tables(codec, batches))
    assert again.config.tables == "logistic"
    assert again.entropy_model_id() == codec.entropy_model_id()


@pytest.mark.parametrize("argv, says", [
    (["--codec", "q8", "--out", "x.safetensors"], "only a trained learned codec"),
    (["--codec", "lerned", "--out", "x.safetensors"], "did you mean 'learned'?"),
    (["--out", "codec.pt"], "a codec checkpoint is a .safetensors file"),
    (["--data", "no/such/folder", "--out", "x.safetensors"], "--data no/such/folder: no such folder"),
    (["--n", "0", "--out", "x.safetensors"], "argument --n: must be 1 or more"),
    (["--codec", "learned-pixels:rate_4", "--out", "x.safetensors"], "did you mean 'rate4'?"),
])
def test_mistakes_are_refused_before_the_model_loads(argv, says, monkeypatch, capsys):
    import semlink.runtime

    monkeypatch.setattr(semlink.runtime, "load_model", lambda *a, **k: pytest.fail("the model loaded first"))
    try:
        code = main(["fit-tables", *argv])
    except SystemExit as exit_:
        code = exit_.code
    assert code in (1, 2)  # 1 from a check, 2 from argparse
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1, err


def help_examples() -> list[list[str]]:
    return [shlex.split(line.strip())[1:] for line in fit_tables_cli.HELP.splitlines()
            if line.strip().startswith("semlink fit-tables")]


def test_every_help_example_parses():
    examples = help_examples()
    assert len(examples) == 4
    for argv in examples:
        args = build_parser("fit-tables").parse_args(argv)
        assert args.func is fit_tables_cli.run


def test_the_second_help_example_runs_and_refits_close_to_the_shipped_tables(tmp_path, capsys):
    argv = help_examples()[1]
    argv[argv.index("--out") + 1] = str(tmp_path / "rate20.safetensors")
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["fit_images"] == 200 and result["held_out_images"] == 100
    # the shipped point's tables were fitted on 3,000 scenes; 200 come within 2% of them on unseen scenes
    assert abs(result["payload_bytes_after"] / result["payload_bytes_before"] - 1) < 0.02, result
    assert load_codec(tmp_path / "rate20.safetensors").config.tables == "histogram"


def test_the_pixel_example_refits_the_learned_pixel_peer_too(tmp_path, capsys):
    """The learned-pixels peer codes with the same entropy model: it gets the same fitted tables (fair peers)."""
    from semlink.codecs.learned_pixels import load_pixel_codec

    argv = help_examples()[2]
    argv[argv.index("--out") + 1] = str(tmp_path / "pixels.safetensors")
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out) if "--json" in argv else None
    assert load_pixel_codec(tmp_path / "pixels.safetensors").config.tables == "histogram"
    if result:
        assert result["payload_bytes_after"] <= 1.02 * result["payload_bytes_before"]


def test_a_checkpoint_written_before_fitted_tables_loads_with_its_logistic_tables(codec, tmp_path):
    """Old checkpoints keep loading: a config without the tables field is a logistic codec, as it was."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    path = save_codec(codec, tmp_path / "new.safetensors")
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    config = json.loads(metadata["config"])
    del config["tables"]
    old = tmp_path / "old.safetensors"
    save_file(load_file(str(path)), str(old), metadata={**metadata, "config": json.dumps(config)})
    loaded = load_codec(old, fingerprint=FP)
    assert loaded.config.tables == "logistic" and loaded.entropy_model_id() == codec.entropy_model_id()

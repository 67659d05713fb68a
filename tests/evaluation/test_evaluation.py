"""Evaluation: samples, senders through a channel, scoring, and the `semlink eval` command."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from semlink.cli.main import main
from semlink.codecs import build_codec
from semlink.evaluation import evaluate, folder_samples, shapes_samples
from semlink.pixels.peer import HandPeer
from semlink.pixels.spec import HandSpec


def test_shapes_samples_carry_truth_for_every_task():
    samples = shapes_samples(3, seed=5)
    assert len(samples) == 3 and all(s.boxes and s.scene for s in samples)
    assert set(samples[0].refs) == {"<CAPTION>", "<DETAILED_CAPTION>", "<OD>"}
    assert [s.name for s in shapes_samples(3, seed=5)] == [s.name for s in samples]
    assert shapes_samples(1, seed=6)[0].refs != samples[0].refs or shapes_samples(1, seed=6)[0].scene != samples[0].scene


def test_raw_codec_agrees_with_itself_and_loss_is_reported(tiny):
    samples = shapes_samples(3)
    raw = build_codec("raw", tiny.feature_shape, tiny.fingerprint)
    clean, answers = evaluate(tiny, raw, samples, "<CAPTION>", progress=False)
    again, _ = evaluate(tiny, raw, samples, "<CAPTION>", reference=answers, progress=False)
    assert again.metrics["agreement"] == 1.0
    assert "exact_match" in again.metrics and "cider" in again.metrics
    lossy, _ = evaluate(tiny, raw, samples, "<CAPTION>", loss=0.5, seed=3, reference=answers, progress=False)
    assert lossy.datagrams_lost > 0 and lossy.wire_bytes == clean.wire_bytes > clean.payload_bytes
    assert clean.session_bytes > 0


def test_od_is_scored_with_map(tiny):
    result, _ = evaluate(tiny, HandPeer(HandSpec("jpeg", 50)), shapes_samples(2), "<OD>", progress=False)
    assert "map50" in result.metrics and 0 <= result.metrics["map50"] <= 1


def test_folder_samples_with_captions(tmp_path):
    Image.new("RGB", (32, 32), (255, 0, 0)).save(tmp_path / "a.png")
    (tmp_path / "caps.jsonl").write_text(json.dumps({"file": "a.png", "caption": "red"}) + "\n")
    samples = folder_samples(tmp_path, captions=tmp_path / "caps.jsonl")
    assert samples[0].refs == {"<CAPTION>": ["red"]}
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        folder_samples(tmp_path / "empty")


def test_eval_cli_json_and_plots(tmp_path, capsys):
    code = main(["eval", "--model", "tiny-random", "--codec", "q8", "--n", "3", "--loss", "0,0.5",
                 "--json", "--out", str(tmp_path)])
    assert code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2
    for key in ("model", "codec", "task", "n", "wire_bytes", "payload_bytes", "session_bytes", "datagrams",
                "datagram_overhead", "domain", "exact_match", "cider", "agreement"):
        assert key in rows[0]
    assert rows[1]["datagrams_lost"] > 0 and rows[0]["domain"] == "features"
    assert (tmp_path / "results.json").exists() and (tmp_path / "caption_quality_vs_loss.png").exists()


def test_update_replaces_the_rows_it_makes_and_keeps_the_others(tmp_path, capsys):
    base = ["eval", "--model", "tiny-random", "--n", "3", "--json", "--out", str(tmp_path)]
    assert main([*base, "--codec", "q8,fp16", "--loss", "0,0.5"]) == 0
    before = json.loads((tmp_path / "results.json").read_text())
    (tmp_path / "results.json").write_text(json.dumps([{**r, "exact_match": -1.0} if r["codec"] == "q8" else r
                                                       for r in before]))
    assert main([*base, "--codec", "q8", "--loss", "0,0.5", "--update"]) == 0
    after = json.loads((tmp_path / "results.json").read_text())
    assert [(r["codec"], r["loss"]) for r in after] == [(r["codec"], r["loss"]) for r in before]
    assert all(r["exact_match"] >= 0 for r in after)  # the q8 rows were made again
    assert [r for r in after if r["codec"] == "fp16"] == [r for r in before if r["codec"] == "fp16"]
    capsys.readouterr()
    for argv, says in ((["--n", "4"], "only with rows of the same model and number of frames"),
                       (["--out", str(tmp_path / "none")], "run once without --update first")):
        args = [*base, "--codec", "q8", "--update", *argv]
        assert main(args) == 1
        assert says in capsys.readouterr().err


def test_codec_rows_are_labelled_by_what_was_asked_for(tiny, tmp_path):
    from semlink.codecs import save_codec
    from semlink.runtime import load_codec_for

    untrained = load_codec_for(tiny, "learned:untrained")
    assert untrained.codec_id == "learned" and untrained.label == "learned:untrained"
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        save_codec(untrained, tmp_path / folder / "codec.safetensors")
    labels = {load_codec_for(tiny, str(tmp_path / f / "codec.safetensors")).label for f in ("a", "b")}
    assert labels == {"a/codec", "b/codec"}  # two checkpoints of one codec type stay two rows
    result, _ = evaluate(tiny, untrained, shapes_samples(1), "<CAPTION>", progress=False)
    assert result.codec == "learned:untrained"
    assert load_codec_for(tiny, "q8").label == "q8"

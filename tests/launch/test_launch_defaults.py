"""The demo's choice of model and codec, made from files on disk."""

from __future__ import annotations

from semlink.launch import defaults


def test_falls_back_to_tiny_random_and_q8_without_shipped_files(tmp_path, monkeypatch):
    monkeypatch.setitem(defaults.SHIPPED, "shapes-tiny", tmp_path / "shapes-tiny")
    assert defaults.best_builtin_model() == "tiny-random"
    assert defaults.best_codec("tiny-random") == "q8"
    assert defaults.best_codec("shapes-tiny") == "q8"


def test_prefers_shapes_tiny_and_its_trained_codec(tmp_path, monkeypatch):
    folder = tmp_path / "shapes-tiny"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    monkeypatch.setitem(defaults.SHIPPED, "shapes-tiny", folder)
    assert defaults.best_builtin_model() == "shapes-tiny"
    assert defaults.best_codec("shapes-tiny") == "q8"
    (folder / "codec-learned.safetensors").write_bytes(b"")
    assert defaults.best_codec("shapes-tiny") == "learned"


def test_a_local_model_directory_with_a_codec_gets_learned(tmp_path):
    (tmp_path / "codec-learned.safetensors").write_bytes(b"")
    assert defaults.best_codec(str(tmp_path)) == "learned"

"""Sources are checked before any work: images that do not open, are not images or lack references."""

from __future__ import annotations

import json
import logging

import pytest

from semlink.shapes import ShapesDataset
from semlink.shapes.__main__ import main as write_shapes, sheet_path

from trainer.config import TrainConfig
from trainer.sources import build_sources, folder_source, validate


@pytest.fixture
def messy(tmp_path):
    """Six good scenes with captions, plus a non-image, a truncated PNG, an uncaptioned image and a hidden file."""
    folder = tmp_path / "images"
    folder.mkdir()
    rows = []
    for i in range(6):
        item = ShapesDataset("val", 6)[i]
        item["image"].save(folder / f"{i}.png")
        rows.append({"file": f"{i}.png", "caption": item["targets"]["<CAPTION>"]})
    (folder / "notes.png").write_text("not a picture")
    good = (folder / "0.png").read_bytes()
    (folder / "cut.png").write_bytes(good[: len(good) // 2])
    ShapesDataset("val", 1)[0]["image"].save(folder / "sheet.png")
    (folder / ".thumbs").mkdir()
    ShapesDataset("val", 1)[0]["image"].save(folder / ".thumbs" / "0.png")
    rows += [{"file": "notes.png", "caption": "x"}, {"file": "cut.png", "caption": "x"},
             {"file": "gone.png", "caption": "x"}]
    jsonl = tmp_path / "captions.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder, jsonl


def _config(folder, jsonl, **data):
    return TrainConfig.from_dict({"data": {"source": "folder", "path": str(folder), "captions": str(jsonl),
                                           "val_size": 2, **data}})


def test_validate_counts_each_reason(messy):
    folder, jsonl = messy
    source = folder_source(folder, jsonl)
    assert ".thumbs/0.png" not in source.keys and source.orphans == ["gone.png"]
    report = validate(source, "train", ["<CAPTION>"])
    assert len(report.usable) == 6 and report.total == 9
    assert report.skipped == {"not an image": ["notes.png"], "no reference for <CAPTION>": ["sheet.png"],
                              "does not open (OSError)": ["cut.png"]}
    assert validate(source, "train", []).skipped.keys() == {"not an image", "does not open (OSError)"}  # teacher


def test_fail_is_the_default_and_names_the_option(messy):
    folder, jsonl = messy
    with pytest.raises(ValueError, match=r"6 of 9 images usable.*data.on_missing: skip"):
        build_sources(_config(folder, jsonl).data)


def test_skip_trains_on_the_usable_images(messy, caplog):
    folder, jsonl = messy
    with caplog.at_level(logging.INFO, logger="trainer.sources"):
        train, val = build_sources(_config(folder, jsonl, on_missing="skip").data)
    assert (len(train), len(val)) == (4, 2)
    assert not {"notes.png", "cut.png", "sheet.png"} & set(train.keys + val.keys)
    assert "3 unusable" in caplog.text and "gone.png" in caplog.text


def test_train_subset_is_seeded_and_disjoint_from_validation(messy):
    folder, jsonl = messy
    data = _config(folder, jsonl, on_missing="skip", train_subset=3, val_size=1).data
    train, val = build_sources(data)
    assert len(train) == 3 and train.keys == build_sources(data)[0].keys and not set(train.keys) & set(val.keys)


def test_shapes_sample_folder_trains_as_it_stands(tmp_path, capsys):
    out = tmp_path / "sample"
    write_shapes(["--out", str(out), "--n", "5"])
    assert sheet_path(out).is_file() and not (out / "sheet.png").exists()
    config = TrainConfig.from_dict({"data": {"source": "folder", "path": str(out),
                                             "captions": str(out / "annotations.jsonl"), "val_size": 1}})
    train, val = build_sources(config.data)  # on_missing: fail, and nothing fails
    assert (len(train), len(val)) == (4, 1)


def test_shapes_refuses_a_task_it_has_no_targets_for():
    config = TrainConfig.from_dict({"data": {"tasks": ["<OCR>"], "train_size": 4, "val_size": 2}})
    with pytest.raises(ValueError, match="no targets for"):
        build_sources(config.data)

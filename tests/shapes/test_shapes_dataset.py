"""Splits and streams: reproducible, disjoint by content; the sample writer and its CLI."""

import json

import pytest

from semlink.shapes.__main__ import main
from semlink.shapes.dataset import ShapesDataset, scenes_from_seed, split_of, split_scene, write_sample
from semlink.shapes.scene import Scene, SceneConfig
from semlink.shapes.text import TASKS, od_boxes, target


def test_items_are_reproducible():
    a, b = ShapesDataset("train", 20), ShapesDataset("train", 20)
    for i in (0, 7, 19):
        x, y = a[i], b[i]
        assert x["scene"] == y["scene"]
        assert x["image"].tobytes() == y["image"].tobytes()
        assert x["targets"] == {t: target(x["scene"], t) for t in TASKS}
    assert a[-1]["scene"] == a[19]["scene"]
    with pytest.raises(IndexError):
        a[20]
    assert ShapesDataset("train", 5, seed_offset=1).scene(0) != a.scene(0)


def test_splits_are_disjoint_by_content():
    hashes = {}
    for split, n in (("train", 2000), ("val", 200), ("test", 200)):
        dataset = ShapesDataset(split, n)
        scenes = [dataset.scene(i) for i in range(n)]
        assert all(split_of(s) == split for s in scenes)
        hashes[split] = {s.content_hash() for s in scenes}
    assert not hashes["train"] & hashes["val"]
    assert not hashes["train"] & hashes["test"]
    assert not hashes["val"] & hashes["test"]
    assert len(hashes["val"]) > 195, "scenes within a split are (nearly all) distinct"


def test_split_scene_validates():
    with pytest.raises(ValueError, match="split"):
        split_scene("dev", 0)
    with pytest.raises(ValueError, match="split"):
        ShapesDataset("dev", 3)


def test_streams():
    assert scenes_from_seed(3, 10)[:4] == scenes_from_seed(3, 4)
    assert scenes_from_seed(3, 4) != scenes_from_seed(4, 4)
    assert all(split_of(s) == "test" for s in scenes_from_seed(3, 20, split="test"))
    config = SceneConfig(width=64, height=64, max_shapes=2)
    assert all(s.width == 64 and len(s.shapes) <= 2 for s in scenes_from_seed(0, 20, config))


def test_write_sample(tmp_path):
    out = write_sample(tmp_path / "sample", 6, split="val", seed=0)
    lines = [json.loads(line) for line in (out / "annotations.jsonl").read_text().splitlines()]
    assert len(lines) == 6 and (out / "sheet.png").exists()
    dataset = ShapesDataset("val", 6)
    for i, line in enumerate(lines):
        assert (out / line["file"]).exists()
        scene = Scene.from_dict(line["scene"])
        assert scene == dataset.scene(i)
        assert line["caption"] == target(scene, "<CAPTION>")
        assert line["detailed_caption"] == target(scene, "<DETAILED_CAPTION>")
        assert line["od"] == target(scene, "<OD>")
        assert line["boxes"] == od_boxes(scene)


def test_cli(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0 and "--out" in capsys.readouterr().out
    main(["--out", str(tmp_path), "--n", "3", "--split", "stream", "--seed", "5", "--kinds", "star", "cross"])
    lines = (tmp_path / "annotations.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all("star" in l or "cross" in l for l in lines)
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--max-shapes", "12"])
    assert "max_shapes" in capsys.readouterr().err

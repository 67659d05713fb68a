"""Caption metrics: exact match, agreement, per-attribute accuracy, CIDEr-D / BLEU-4."""

import logging

import pytest

from semlink.metrics import captions
from semlink.metrics.captions import agreement, attribute_accuracy, cider_bleu, exact_match, match_objects
from semlink.shapes.dataset import scenes_from_seed
from semlink.shapes.scene import Scene, ShapeSpec
from semlink.shapes.text import ObjectDescription, caption, detailed_caption


def _scene():
    return Scene(
        128,
        128,
        (
            ShapeSpec("circle", "red", "large", 20.0, 21.0, 16.0),
            ShapeSpec("square", "blue", "small", 64.0, 64.0, 9.0),
            ShapeSpec("triangle", "green", "small", 110.0, 110.0, 8.0),
        ),
    )


def test_exact_match_known_values():
    assert exact_match(["a red circle.", "a blue square."], ["a red circle.", "a blue circle."]) == 0.5
    assert exact_match([" a red circle. "], ["a red circle."]) == 1.0
    assert exact_match(["A red circle."], ["a red circle."]) == 0.0
    with pytest.raises(ValueError, match="lengths differ"):
        exact_match(["a"], [])
    with pytest.raises(ValueError):
        exact_match([], [])


def test_agreement_works_for_text_and_boxes():
    assert agreement(["a", "b", "c", "d"], ["a", "b", "x", "d"]) == 0.75
    od = {"bboxes": [[1, 2, 3, 4]], "labels": ["circle"]}
    assert agreement([od, od], [dict(od), {"bboxes": [], "labels": []}]) == 0.5


def test_attribute_accuracy_perfect_and_degraded():
    scene = _scene()
    truth = detailed_caption(scene)
    perfect = attribute_accuracy([truth], [scene])
    assert perfect == {"count": 1.0, "color": 1.0, "shape": 1.0, "size": 1.0, "position": 1.0}

    wrong_colour = truth.replace("blue square", "yellow square")
    assert attribute_accuracy([wrong_colour], [scene]) == pytest.approx(
        {"count": 1.0, "color": 2 / 3, "shape": 1.0, "size": 1.0, "position": 1.0}
    )
    missing = "a large red circle at the top left and a small green triangle at the bottom right."
    assert attribute_accuracy([missing], [scene]) == pytest.approx(
        {"count": 0.0, "color": 2 / 3, "shape": 2 / 3, "size": 2 / 3, "position": 2 / 3}
    )
    assert attribute_accuracy(["zzz", truth], [scene, scene]) == pytest.approx(
        {"count": 0.5, "color": 0.5, "shape": 0.5, "size": 0.5, "position": 0.5}
    )


def test_matching_survives_reordering():
    true = [ObjectDescription("large", "red", "circle", "top left"), ObjectDescription("small", "blue", "square", "center")]
    pred = [true[1], ObjectDescription("large", "red", "circle", "top")]
    assert match_objects(pred, true) == [(0, 1), (1, 0)]


def test_attribute_accuracy_on_generated_scenes():
    scenes = scenes_from_seed(0, 100)
    result = attribute_accuracy([detailed_caption(s) for s in scenes], scenes)
    assert set(result.values()) == {1.0}


def test_cider_bleu_ranks_identical_above_different():
    scenes = scenes_from_seed(1, 12)
    refs = [caption(s) for s in scenes]
    same = cider_bleu(refs, [[r] for r in refs])
    shuffled = cider_bleu(refs[1:] + refs[:1], refs)
    assert same["cider"] > shuffled["cider"] + 1.0
    assert same["bleu4"] == pytest.approx(1.0, abs=1e-6)
    assert shuffled["bleu4"] < 0.9
    assert cider_bleu(["", *refs[1:]], refs)["cider"] < same["cider"]


def test_cider_bleu_without_java(monkeypatch, caplog):
    monkeypatch.setattr(captions.shutil, "which", lambda name: None)
    scenes = scenes_from_seed(2, 8)
    refs = [detailed_caption(s) for s in scenes]
    with caplog.at_level(logging.WARNING, logger="semlink.metrics.captions"):
        same = cider_bleu(refs, refs)
        different = cider_bleu(refs[::-1], refs)
    assert "java not found" in caplog.text
    assert same["cider"] > different["cider"]
    assert captions._simple_tokenize({0: ["A Red circle, at the top."]}) == {0: ["a red circle at the top"]}

"""Targets: known texts, parse round trips, the vocabulary, and parity with Florence-2's box quantisation."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from semlink.shapes.dataset import scenes_from_seed
from semlink.shapes.scene import COLORS, KINDS, Scene, SceneConfig, ShapeSpec
from semlink.shapes.text import (
    LOCATION_TOKENS,
    TASKS,
    VOCABULARY,
    ObjectDescription,
    caption,
    dequantize,
    describe,
    detailed_caption,
    join_words,
    od_boxes,
    od_target,
    parse_detailed_caption,
    parse_od,
    quantize,
    split_words,
    target,
)

FULL = SceneConfig(kinds=KINDS, colors=tuple(COLORS), max_shapes=9, small_radius=(0.04, 0.05),
                   large_radius=(0.07, 0.09))  # fmt: skip


@pytest.fixture(scope="module")
def scenes():
    return scenes_from_seed(0, 250) + scenes_from_seed(1, 250, FULL)


def _scene():
    """Top-left red circle (large), centre blue square (small), bottom-right red circle (small)."""
    return Scene(
        128,
        128,
        (
            ShapeSpec("circle", "red", "small", 110.0, 110.0, 8.0),  # drawing order is not text order
            ShapeSpec("circle", "red", "large", 20.0, 21.0, 16.0),
            ShapeSpec("square", "blue", "small", 64.0, 64.0, 9.0),
        ),
    )


def test_known_texts():
    scene = _scene()
    assert caption(scene) == "two red circles and a blue square."
    assert detailed_caption(scene) == (
        "a large red circle at the top left, a small blue square at the center and a small red circle at the bottom right."
    )
    assert od_target(scene) == (
        "circle<loc_31><loc_39><loc_281><loc_289>"
        "square<loc_429><loc_429><loc_570><loc_570>"
        "circle<loc_796><loc_796><loc_921><loc_921>"
    )
    assert [target(scene, t) for t in TASKS] == [caption(scene), detailed_caption(scene), od_target(scene)]
    with pytest.raises(ValueError, match="unknown task"):
        target(scene, "<OCR>")


def test_single_objects_and_articles():
    one = Scene(128, 128, (ShapeSpec("cross", "orange", "large", 64, 20, 15),))
    assert caption(one) == "an orange cross."
    assert detailed_caption(one) == "a large orange cross at the top."
    two = Scene(128, 128, (ShapeSpec("cross", "orange", "small", 20, 64, 7), ShapeSpec("cross", "orange", "small", 100, 64, 7)))
    assert caption(two) == "two orange crosses."


def test_detailed_caption_round_trip(scenes):
    for scene in scenes:
        assert parse_detailed_caption(detailed_caption(scene), strict=True) == describe(scene)


def test_lenient_parse_keeps_what_it_can():
    parsed = parse_detailed_caption("a large red blob at the top left and a tiny green square at the moon")
    assert parsed == [
        ObjectDescription("large", "red", None, "top left"),
        ObjectDescription(None, "green", "square", None),
    ]
    assert parse_detailed_caption("") == []
    for bad in ("a large red circle at the top left", "a large red circle at the top left and", "a red circle."):
        with pytest.raises(ValueError):
            parse_detailed_caption(bad, strict=True)


def test_vocabulary_covers_every_target(scenes):
    vocabulary, locations = set(VOCABULARY), set(LOCATION_TOKENS)
    assert len(VOCABULARY) == len(vocabulary)
    seen = set()
    for scene in scenes:
        for task in TASKS:
            text = target(scene, task)
            words = split_words(text)
            assert join_words(words) == text
            assert set(words) <= vocabulary | locations, set(words) - vocabulary - locations
            seen |= set(words) & vocabulary
    crowd = Scene(128, 128, tuple(ShapeSpec("star", "white", "small", 21 + 43 * (i % 3), 21 + 43 * (i // 3), 8)
                                  for i in range(9)))  # fmt: skip
    seen |= set(split_words(caption(crowd)))
    for n in range(2, 10):
        seen |= set(split_words(caption(Scene(128, 128, crowd.shapes[:n]))))
    assert seen == vocabulary, f"never used: {vocabulary - seen}"


def test_quantize_matches_the_formula():
    values = [i / 4 for i in range(4 * 128 + 1)]
    got = [b[0] for b in quantize([[v, v, v, v] for v in values], (128, 128))]
    expected = [min(999, max(0, int(np.floor(np.float32(v) / np.float32(128 / 1000))))) for v in values]
    assert got == expected
    assert quantize([[0, 0, 128, 128]], (128, 128)) == [[0, 0, 999, 999]]
    assert dequantize([[0, 0, 999, 999]], (1000, 500)) == [[0, 0, 999, 499]]


def _hf_post_processor():
    florence2 = pytest.importorskip("transformers.models.florence2.processing_florence2")
    # quantize/dequantize and the <OD> parser never touch the tokenizer.
    return florence2.Florence2PostProcessor(config=None, tokenizer=SimpleNamespace(all_special_tokens=[]))


@pytest.mark.parametrize("size", [(128, 128), (100, 77), (768, 768)])
def test_quantisation_matches_transformers(size):
    hf = _hf_post_processor()
    values = [i / 4 for i in range(4 * max(size) + 2)]
    boxes = [[v, v, v, v] for v in values]
    assert quantize(boxes, size) == hf.quantize(torch.tensor(boxes), size).tolist()
    bins = [[i, i, i, i] for i in range(1000)]
    assert dequantize(bins, size) == hf.dequantize(torch.tensor(bins), size).tolist()



def test_od_parse_matches_transformers_post_processing(scenes):
    hf = _hf_post_processor()
    for scene in scenes[::10]:
        size = (scene.width, scene.height)
        parsed = hf.parse_description_with_bboxes_from_text_and_spans(od_target(scene), image_size=size)
        expected = {"bboxes": [p["bbox"] for p in parsed], "labels": [p["cat_name"] for p in parsed]}
        assert od_boxes(scene) == expected
        assert parse_od(od_target(scene), size) == expected


def test_parse_od_reads_targets_back(scenes):
    for scene in scenes:
        size = (scene.width, scene.height)
        assert parse_od(od_target(scene), size) == od_boxes(scene)
        assert parse_od("<s>" + od_target(scene) + "</s>", size) == od_boxes(scene)
    assert parse_od("circle<loc_1><loc_2><loc_3>", (128, 128)) == {"bboxes": [], "labels": []}


def test_od_boxes_within_a_bin_of_truth(scenes):
    for scene in scenes:
        bins_per_px_x, bins_per_px_y = 1000 / scene.width, 1000 / scene.height
        boxes = od_boxes(scene)
        assert boxes["labels"] == [s.kind for s in scene.ordered]
        for shape, box, ids in zip(scene.ordered, boxes["bboxes"], quantize([list(s.bbox) for s in scene.ordered],
                                                                            (scene.width, scene.height))):
            for k, (truth, got, b) in enumerate(zip(shape.bbox, box, ids)):
                per_bin = scene.width / 1000 if k % 2 == 0 else scene.height / 1000
                assert abs((b + 0.5) * per_bin - truth) <= per_bin, "bin centre within one bin"
                assert abs(got - truth) <= 1, "post-processed (int) box within a pixel"
        assert bins_per_px_x > 1 and bins_per_px_y > 1

"""Detection metrics: IoU, AP with all-point interpolation, mAP over classes, rank order without scores."""

import pytest

from semlink.metrics.detection import average_precision_per_class, box_iou, mean_average_precision
from semlink.shapes.dataset import scenes_from_seed
from semlink.shapes.text import od_boxes


def test_box_iou():
    assert box_iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert box_iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)
    assert box_iou([0, 0, 10, 10], [10, 0, 20, 10]) == 0.0


def test_perfect_predictions_score_one():
    gts = [od_boxes(s) for s in scenes_from_seed(0, 50)]
    assert mean_average_precision(gts, gts) == 1.0


def test_shifted_box_scores_lower():
    gts = [{"bboxes": [[10, 10, 30, 30], [60, 60, 90, 90]], "labels": ["circle", "square"]}]
    nudged = [{"bboxes": [[12, 12, 32, 32], [60, 60, 90, 90]], "labels": ["circle", "square"]}]  # IoU 0.68
    shifted = [{"bboxes": [[20, 20, 40, 40], [60, 60, 90, 90]], "labels": ["circle", "square"]}]  # IoU 0.14
    assert mean_average_precision(nudged, gts) == 1.0
    assert mean_average_precision(shifted, gts) == 0.5
    assert mean_average_precision(shifted, gts, iou=0.1) == 1.0
    relabelled = [{"bboxes": gts[0]["bboxes"], "labels": ["circle", "circle"]}]
    assert average_precision_per_class(relabelled, gts) == {"circle": 1.0, "square": 0.0}


def test_known_average_precision_and_order_without_scores():
    gts = [
        {"bboxes": [[0, 0, 10, 10]], "labels": ["star"]},
        {"bboxes": [[0, 0, 10, 10]], "labels": ["star"]},
    ]
    miss = [50, 50, 60, 60]
    # ranks: image0 #0 (miss), image1 #0 (hit), image0 #1 (hit): P = 0, 1/2, 2/3 at R = 0, 1/2, 1
    preds = [
        {"bboxes": [miss, [0, 0, 10, 10]], "labels": ["star", "star"]},
        {"bboxes": [[0, 0, 10, 10]], "labels": ["star"]},
    ]
    assert mean_average_precision(preds, gts) == pytest.approx(2 / 3)
    # scores override the order: the miss ranked last gives AP 1
    scored = [dict(p, scores=s) for p, s in zip(preds, ([0.1, 0.9], [0.8]))]
    assert mean_average_precision(scored, gts) == 1.0
    # a duplicate detection of a matched box is a false positive
    dup = [{"bboxes": [[0, 0, 10, 10]] * 2, "labels": ["star"] * 2}, {"bboxes": [], "labels": []}]
    assert mean_average_precision(dup, gts) == pytest.approx(0.5)


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="no ground-truth"):
        mean_average_precision([{"bboxes": [], "labels": []}], [{"bboxes": [], "labels": []}])
    with pytest.raises(ValueError, match="lengths differ"):
        mean_average_precision([], [{"bboxes": [], "labels": []}])
    with pytest.raises(ValueError, match="labels"):
        mean_average_precision([{"bboxes": [[0, 0, 1, 1]], "labels": []}], [{"bboxes": [], "labels": []}])

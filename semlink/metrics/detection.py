"""Detection quality: per-class average precision at an IoU threshold, averaged over classes (mAP).

Boxes are ``[x1, y1, x2, y2]`` in pixels with area ``(x2 - x1) * (y2 - y1)``
(continuous coordinates, COCO-style, no +1). Predictions and ground truth use
the structure ``Florence2Processor.post_process_generation`` returns for
``<OD>``: ``{"bboxes": [...], "labels": [...]}``, optionally with ``"scores"``.

Florence-2 gives no scores, so predictions without them are ranked by their
place in the output: every image's first box before any image's second box,
and so on (ties between images in image order). Matching is greedy in rank
order: a prediction is a true positive if its best-IoU unmatched ground truth
of the same label reaches the threshold. AP is the area under the
precision-recall curve with all-point interpolation (VOC 2010+ style); classes
are those present in the ground truth, and predictions of other labels count
for nothing.
"""

from __future__ import annotations

from collections.abc import Sequence


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``[x1, y1, x2, y2]`` boxes (0 for degenerate boxes)."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _ranked(preds: Sequence[dict]) -> list[tuple[float, int, int, str, Sequence[float]]]:
    """(sort key, image, index, label, box) for every prediction, best first."""
    ranked = []
    for image, pred in enumerate(preds):
        scores = pred.get("scores")
        for k, (box, label) in enumerate(zip(pred["bboxes"], pred["labels"])):
            ranked.append((-(scores[k] if scores is not None else -k), image, k, label, box))
    ranked.sort(key=lambda r: (r[0], r[1], r[2]))
    return ranked


def _area_under_pr(tp: list[bool], n_true: int) -> float:
    """All-point interpolated AP from true-positive flags in rank order."""
    recalls, precisions, hits = [0.0], [1.0], 0
    for rank, hit in enumerate(tp, start=1):
        hits += hit
        recalls.append(hits / n_true)
        precisions.append(hits / rank)
    for i in range(len(precisions) - 2, -1, -1):  # precision envelope: best precision at any higher recall
        precisions[i] = max(precisions[i], precisions[i + 1])
    return sum((recalls[i] - recalls[i - 1]) * precisions[i] for i in range(1, len(recalls)))


def average_precision_per_class(
    preds: Sequence[dict], gts: Sequence[dict], iou: float = 0.5
) -> dict[str, float]:
    """AP of every label present in ``gts`` (see the module docstring for the conventions)."""
    if len(preds) != len(gts):
        raise ValueError(f"preds and gts: lengths differ ({len(preds)} vs {len(gts)})")
    for name, items in (("preds", preds), ("gts", gts)):
        for i, d in enumerate(items):
            if len(d["bboxes"]) != len(d["labels"]):
                raise ValueError(f"{name}[{i}]: {len(d['bboxes'])} bboxes but {len(d['labels'])} labels")
    n_true: dict[str, int] = {}
    for g in gts:
        for label in g["labels"]:
            n_true[label] = n_true.get(label, 0) + 1
    if not n_true:
        raise ValueError("no ground-truth boxes: average precision is undefined")

    used = [[False] * len(g["bboxes"]) for g in gts]
    tp: dict[str, list[bool]] = {label: [] for label in n_true}
    for _, image, _, label, box in _ranked(preds):
        if label not in tp:
            continue
        best, best_j = iou, -1
        for j, (g_box, g_label) in enumerate(zip(gts[image]["bboxes"], gts[image]["labels"])):
            if g_label != label or used[image][j]:
                continue
            overlap = box_iou(box, g_box)
            if overlap >= best:
                best, best_j = overlap, j
        if best_j >= 0:
            used[image][best_j] = True
        tp[label].append(best_j >= 0)
    return {label: _area_under_pr(tp[label], n_true[label]) for label in sorted(n_true)}


def mean_average_precision(preds: Sequence[dict], gts: Sequence[dict], iou: float = 0.5) -> float:
    """mAP@``iou``: the mean over ground-truth classes of :func:`average_precision_per_class`."""
    per_class = average_precision_per_class(preds, gts, iou)
    return sum(per_class.values()) / len(per_class)

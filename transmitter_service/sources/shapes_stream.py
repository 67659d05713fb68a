"""The built-in shapes stream: test-split scenes of the shapes world, rendered, each with its caption and boxes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from semlink.shapes import Scene, od_boxes, render, split_scene, target
from transmitter_service.sources.base import SourceFrame


def scene_truth(scene: Scene) -> dict:
    """``{"caption": str, "objects": [{"label": str, "box": [x0, y0, x1, y1]}]}`` in the rendered image's pixels."""
    boxes = od_boxes(scene)
    return {"caption": target(scene, "<CAPTION>"),
            "objects": [{"label": label, "box": box} for label, box in zip(boxes["labels"], boxes["bboxes"])]}


def shapes_frames(start: int = 0) -> Iterator[SourceFrame]:
    """Scenes ``start``, ``start + 1``, ... of the test split (never seen in training), forever."""
    for index in itertools.count(start):
        scene = split_scene("test", index)
        yield SourceFrame(render(scene), "shapes", f"scene {index}", scene_truth(scene))

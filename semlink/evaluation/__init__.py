"""Evaluation: run the split pipeline over held-out data through a channel and score what comes out."""

from semlink.evaluation.data import EvalSample, coco_samples, folder_samples, shapes_samples
from semlink.evaluation.runner import EvalResult, evaluate

__all__ = ["EvalResult", "EvalSample", "coco_samples", "evaluate", "folder_samples", "shapes_samples"]

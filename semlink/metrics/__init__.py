"""How good the received answers are: caption metrics against truth or the uncompressed pipeline, and detection mAP."""

from semlink.metrics.captions import agreement, attribute_accuracy, cider_bleu, exact_match, match_objects
from semlink.metrics.detection import average_precision_per_class, box_iou, mean_average_precision

__all__ = [
    "agreement",
    "attribute_accuracy",
    "average_precision_per_class",
    "box_iou",
    "cider_bleu",
    "exact_match",
    "match_objects",
    "mean_average_precision",
]

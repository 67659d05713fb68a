"""Assemble a ``Florence2Processor`` from a locally built tokenizer and image size."""

from __future__ import annotations

from transformers import CLIPImageProcessorPil, Florence2Processor, PreTrainedTokenizerFast

# The post-processor settings the Florence-2 hub checkpoints ship with.
POST_PROCESSOR_CONFIG = {
    "ocr": {
        "PATTERN": r"(.+?)<loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)>",
        "AREA_THRESHOLD": 0.0,
    },
    "phrase_grounding": {"FILTER_BY_BLACK_LIST": True},
    "pure_text": {},
    "description_with_bboxes": {},
    "description_with_polygons": {},
    "polygons": {},
    "bboxes": {},
    "description_with_bboxes_or_polygons": {},
}

# CLIP-style normalisation Florence-2 uses (ImageNet mean/std).
IMAGE_MEAN = [0.485, 0.456, 0.406]
IMAGE_STD = [0.229, 0.224, 0.225]


def build_processor(tokenizer: PreTrainedTokenizerFast, image_size: int, feature_hw: tuple[int, int]) -> Florence2Processor:
    """A processor that resizes to ``image_size``² and expects ``H*W + 1`` image tokens.

    Florence-2's projector emits one token per feature cell plus one pooled token,
    so ``image_seq_length = H * W + 1`` (577 for base at 768²).
    """
    image_processor = CLIPImageProcessorPil(
        size={"height": image_size, "width": image_size},
        crop_size={"height": image_size, "width": image_size},
        do_center_crop=False,
        do_resize=True,
        resample=3,
        image_mean=IMAGE_MEAN,
        image_std=IMAGE_STD,
        image_seq_length=feature_hw[0] * feature_hw[1] + 1,
    )
    return Florence2Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        post_processor_config=POST_PROCESSOR_CONFIG,
    )

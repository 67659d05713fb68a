"""The shapes world: procedural scenes of coloured shapes with exact captions and boxes."""

from semlink.shapes.dataset import (
    SPLITS,
    ShapesDataset,
    item,
    scenes_from_seed,
    split_of,
    split_scene,
    write_sample,
)
from semlink.shapes.render import contact_sheet, render
from semlink.shapes.scene import CELLS, COLORS, KINDS, SIZES, Scene, SceneConfig, ShapeSpec, Stroke, generate_scene
from semlink.shapes.text import (
    LOCATION_TOKENS,
    TASKS,
    VOCABULARY,
    ObjectDescription,
    caption,
    dequantize,
    describe,
    detailed_caption,
    has_look_alikes,
    join_words,
    od_boxes,
    od_target,
    parse_detailed_caption,
    parse_od,
    quantize,
    split_words,
    target,
)

__all__ = [
    "CELLS", "COLORS", "KINDS", "LOCATION_TOKENS", "SIZES", "SPLITS", "TASKS", "VOCABULARY",
    "ObjectDescription", "Scene", "SceneConfig", "ShapeSpec", "ShapesDataset", "Stroke",
    "caption", "contact_sheet", "dequantize", "describe", "detailed_caption", "generate_scene",
    "has_look_alikes", "item", "join_words", "od_boxes", "od_target", "parse_detailed_caption", "parse_od", "quantize", "render",
    "scenes_from_seed", "split_of", "split_scene", "split_words", "target", "write_sample",
]  # fmt: skip

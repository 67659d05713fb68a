"""Reproducible splits and streams of shapes-world scenes, and a sample writer for looking at them.

Scene ``i`` of a split comes from a seed derived from ``(split, seed_offset, i)``.
Splits are disjoint by content, not just by seed: every scene belongs to exactly
one split through a hash of what it shows (80% train, 10% val, 10% test of hash
space), and a split keeps drawing from its seed until the scene is its own. So no
scene (same shapes at the same coordinates) is in two splits; near-duplicates
(a shape one pixel over) can be, as in any procedural world.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from semlink.shapes.render import contact_sheet, render
from semlink.shapes.scene import Scene, SceneConfig, generate_scene
from semlink.shapes.text import TASKS, od_boxes, od_target, target

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
_SALT_SPLIT = 0x5E11_0001
_SALT_STREAM = 0x5E11_0002


def split_of(scene: Scene) -> str:
    """The split a scene belongs to, from a hash of its content."""
    u = scene.content_hash() / 2**64
    edge = 0.0
    for split, fraction in zip(SPLITS, SPLIT_FRACTIONS):
        edge += fraction
        if u < edge:
            return split
    return SPLITS[-1]


def _scene_in_split(rng: np.random.Generator, config: SceneConfig, split: str | None) -> Scene:
    while True:
        scene = generate_scene(rng, config)
        if split is None or split_of(scene) == split:
            return scene


def split_scene(split: str, index: int, seed_offset: int = 0, config: SceneConfig = SceneConfig()) -> Scene:
    """Scene ``index`` of ``split``: the same on every machine and every call."""
    if split not in SPLITS:
        raise ValueError(f"split={split!r}: expected one of {SPLITS}")
    seed = np.random.SeedSequence([_SALT_SPLIT, SPLITS.index(split), seed_offset, index])
    return _scene_in_split(np.random.default_rng(seed), config, split)


def scenes_from_seed(seed: int, n: int, config: SceneConfig = SceneConfig(), split: str | None = None) -> list[Scene]:
    """A fresh stream of ``n`` scenes from ``seed`` (a prefix of a longer stream with the same seed).

    With ``split`` set, only scenes of that split are kept (e.g. ``"test"`` for a
    stream that never repeats a training scene).
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"split={split!r}: expected one of {SPLITS} or None")
    rng = np.random.default_rng(np.random.SeedSequence([_SALT_STREAM, seed]))
    return [_scene_in_split(rng, config, split) for _ in range(n)]


def item(scene: Scene) -> dict:
    """``{"image": PIL.Image, "scene": Scene, "targets": {task: str}}`` for one scene."""
    return {"image": render(scene), "scene": scene, "targets": {task: target(scene, task) for task in TASKS}}


class ShapesDataset(Dataset):
    """``size`` scenes of one split, rendered on demand; items are :func:`item` dicts."""

    def __init__(self, split: str, size: int, seed_offset: int = 0, config: SceneConfig = SceneConfig()):
        if split not in SPLITS:
            raise ValueError(f"split={split!r}: expected one of {SPLITS}")
        if size < 0:
            raise ValueError(f"size={size}: must be >= 0")
        self.split, self.size, self.seed_offset, self.config = split, size, seed_offset, config

    def __len__(self) -> int:
        return self.size

    def scene(self, index: int) -> Scene:
        """Scene ``index`` without rendering it."""
        if not -self.size <= index < self.size:
            raise IndexError(f"index {index} out of range for a {self.split} split of {self.size} scenes")
        return split_scene(self.split, index % self.size, self.seed_offset, self.config)

    def __getitem__(self, index: int) -> dict:
        return item(self.scene(index))


def annotation(scene: Scene, file: str) -> dict:
    """One line of ``annotations.jsonl``: every target, the post-processed boxes and the scene itself."""
    return {
        "file": file,
        "caption": target(scene, "<CAPTION>"),
        "detailed_caption": target(scene, "<DETAILED_CAPTION>"),
        "od": od_target(scene),
        "boxes": od_boxes(scene),
        "scene": scene.to_dict(),
    }


def write_sample(
    out_dir: str | Path,
    n: int,
    split: str | None = "val",
    seed: int = 0,
    config: SceneConfig = SceneConfig(),
) -> Path:
    """Write ``n`` scenes as PNGs, ``annotations.jsonl`` and a ``sheet.png`` of them all; returns ``out_dir``.

    With ``split`` the scenes are that split's first ``n`` (``seed`` is its
    ``seed_offset``); with ``split=None`` they are ``scenes_from_seed(seed, n)``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if split is None:
        scenes = scenes_from_seed(seed, n, config)
    else:
        dataset = ShapesDataset(split, n, seed_offset=seed, config=config)
        scenes = [dataset.scene(i) for i in range(n)]
    images = []
    with open(out / "annotations.jsonl", "w") as f:
        for i, scene in enumerate(scenes):
            file = f"{i:06d}.png"
            image = render(scene)
            image.save(out / file)
            images.append(image)
            f.write(json.dumps(annotation(scene, file)) + "\n")
    if images:
        contact_sheet(images).save(out / "sheet.png")
    logger.info("wrote %d scenes to %s", n, out)
    return out

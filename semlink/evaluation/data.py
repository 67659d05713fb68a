"""Evaluation samples: held-out shapes scenes, a folder of images (+ JSONL captions), or COCO captions JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from semlink.shapes.dataset import scenes_from_seed
from semlink.shapes.render import render
from semlink.shapes.scene import Scene
from semlink.shapes.text import TASKS, od_boxes, target

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


@dataclass
class EvalSample:
    """An image, its reference answers per task (possibly none), and its scene when it is a shapes scene."""

    image: Image.Image
    refs: dict[str, list[str]] = field(default_factory=dict)
    boxes: dict | None = None
    scene: Scene | None = None
    name: str = ""


def shapes_samples(n: int, seed: int = 0) -> list[EvalSample]:
    """``n`` held-out (test-split) shapes scenes from the stream ``seed``: nobody trained on them."""
    samples = []
    for i, scene in enumerate(scenes_from_seed(seed, n, split="test")):
        refs = {task: [target(scene, task)] for task in TASKS}
        samples.append(EvalSample(render(scene), refs, od_boxes(scene), scene, f"shapes-{seed}-{i}"))
    return samples


def folder_samples(folder: str | Path, n: int | None = None, captions: str | Path | None = None) -> list[EvalSample]:
    """Images of ``folder``; ``captions`` is a JSONL of ``{"file": ..., "caption": ... | "captions": [...]}``."""
    folder = Path(folder)
    refs: dict[str, list[str]] = {}
    if captions is not None:
        for line in Path(captions).read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                refs[Path(row["file"]).name] = row.get("captions") or [row["caption"]]
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:n]
    if not files:
        raise ValueError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    return [
        EvalSample(Image.open(p).convert("RGB"), {"<CAPTION>": refs[p.name]} if p.name in refs else {}, name=p.name)
        for p in files
    ]


def coco_samples(annotations: str | Path, images: str | Path, n: int | None = None) -> list[EvalSample]:
    """COCO captions (``captions_val2017.json`` and its image folder): every caption is a reference."""
    data = json.loads(Path(annotations).read_text())
    caps: dict[int, list[str]] = {}
    for ann in data["annotations"]:
        caps.setdefault(ann["image_id"], []).append(ann["caption"])
    samples = []
    for info in data["images"][:n]:
        path = Path(images) / info["file_name"]
        samples.append(EvalSample(Image.open(path).convert("RGB"), {"<CAPTION>": caps.get(info["id"], [])},
                                  name=info["file_name"]))
    return samples

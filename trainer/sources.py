"""Image sources for training a codec: the shapes world, a folder of images, COCO captions.

Every source is a sequence of examples with a stable string ``key`` (what the
feature cache is keyed by), a way to load the image, and the reference texts per
task (``{}`` for an unlabeled image: targets then come from the teacher). Its
``ident`` names its content, so caches built for it are found again by later runs.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from semlink.shapes import ShapesDataset, has_look_alikes

from trainer.config import DataSection

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


class ImageSource:
    """Base: ``keys`` (stable ids), ``image(i)`` (PIL RGB), ``references(i)`` (``{task: [texts]}``)."""

    ident: str
    keys: list[str]

    def __len__(self) -> int:
        return len(self.keys)

    def image(self, index: int) -> Image.Image:
        raise NotImplementedError

    def references(self, index: int) -> dict[str, list[str]]:
        raise NotImplementedError


class ShapesSource(ImageSource):
    """``size`` scenes of a shapes-world split, with their exact targets for every task."""

    def __init__(self, split: str, size: int, seed_offset: int = 0):
        self.dataset = ShapesDataset(split, size, seed_offset=seed_offset)
        self.ident = f"shapes-{split}-{seed_offset}"
        self.keys = [f"{split}/{seed_offset}/{i}" for i in range(size)]

    def image(self, index: int) -> Image.Image:
        return self.dataset[index]["image"]

    def references(self, index: int) -> dict[str, list[str]]:
        return {task: [text] for task, text in self.dataset[index]["targets"].items()}

    def look_alikes(self) -> list[bool]:
        """Per scene: does its caption count look-alikes ("two red circles")? No rendering needed."""
        return [has_look_alikes(self.dataset.scene(i)) for i in range(len(self.keys))]


class FileSource(ImageSource):
    """Image files under ``root`` (``files`` relative to it) with optional captions per file."""

    def __init__(self, root: str | Path, files: Sequence[str], captions: dict[str, dict[str, list[str]]], tag: str):
        self.root = Path(root)
        self.keys = list(files)
        self.captions = captions
        digest = hashlib.sha256("\n".join(self.keys).encode()).hexdigest()[:12]
        self.ident = f"{tag}-{self.root.name}-{digest}"

    def image(self, index: int) -> Image.Image:
        with Image.open(self.root / self.keys[index]) as im:
            return im.convert("RGB")

    def references(self, index: int) -> dict[str, list[str]]:
        return self.captions.get(self.keys[index], {})

    def subset(self, start: int, stop: int | None = None) -> "FileSource":
        return FileSource(self.root, self.keys[start:stop], self.captions, tag=f"part{start}")


def folder_source(root: str | Path, captions_jsonl: str | Path | None = None) -> FileSource:
    """Every image under ``root`` (sorted), with captions from a JSONL file if given.

    Each JSONL line is ``{"file": "relative/path.jpg", "caption": "..."}`` (or
    ``"captions": [...]``, or ``"targets": {"<TASK>": "..."}``); ``<CAPTION>`` is
    the task of a plain caption.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"image folder {root} does not exist")
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under {root}")
    captions: dict[str, dict[str, list[str]]] = {}
    if captions_jsonl:
        for n, line in enumerate(Path(captions_jsonl).read_text().splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if "file" not in row:
                raise ValueError(f"{captions_jsonl}:{n}: each line needs a 'file' key")
            refs = captions.setdefault(row["file"], {})
            texts = [row["caption"]] if "caption" in row else list(row.get("captions", []))
            if texts:
                refs.setdefault("<CAPTION>", []).extend(texts)
            for task, text in row.get("targets", {}).items():
                refs.setdefault(task, []).extend([text] if isinstance(text, str) else text)
    return FileSource(root, files, captions, tag="folder")


def coco_source(root: str | Path, captions_json: str | Path) -> FileSource:
    """COCO captions (``{"images": [{id, file_name}], "annotations": [{image_id, caption}]}``) as ``<CAPTION>``."""
    data = json.loads(Path(captions_json).read_text())
    if "images" not in data or "annotations" not in data:
        raise ValueError(f"{captions_json} is not a COCO captions file (needs 'images' and 'annotations')")
    names = {im["id"]: im["file_name"] for im in data["images"]}
    texts: dict[str, list[str]] = defaultdict(list)
    for ann in data["annotations"]:
        texts[names[ann["image_id"]]].append(ann["caption"].strip())
    files = sorted(names.values())
    captions = {f: {"<CAPTION>": texts[f]} for f in files if texts[f]}
    return FileSource(root, files, captions, tag="coco")


def build_sources(data: DataSection) -> tuple[ImageSource, ImageSource]:
    """The (train, validation) sources a data section describes."""
    if data.source == "shapes":
        return ShapesSource("train", data.train_size), ShapesSource("val", data.val_size)
    make = folder_source if data.source == "folder" else coco_source
    train = make(data.path, data.captions or None)
    if data.val_path:
        val = make(data.val_path, data.val_captions or None)
        return train, val.subset(0, data.val_size)
    if len(train) <= data.val_size:
        raise ValueError(f"{data.path} has {len(train)} images: too few to hold out data.val_size={data.val_size}")
    return train.subset(0, len(train) - data.val_size), train.subset(len(train) - data.val_size)

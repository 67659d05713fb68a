"""Image sources for training a codec: the shapes world, a folder of images, COCO captions.

Every source is a sequence of examples with a stable string ``key`` (what the
feature cache is keyed by), a way to load the image, and the reference texts per
task (``{}`` for an unlabeled image: targets then come from the teacher). Its
``ident`` names its content, so caches built for it are found again by later runs.

:func:`validate` checks a source before any work is spent on it: each image opens
and is an image, and has a reference for every task the targets need; unusable
images are skipped with a summary or stop the run at once (``data.on_missing``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from semlink.shapes import ShapesDataset, has_look_alikes

from trainer.config import DataSection

log = logging.getLogger(__name__)

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

    def problem(self, index: int) -> str | None:
        """Why image ``index`` cannot be used (``None``: it opens and is an image)."""
        return None

    def only(self, indices: Sequence[int]) -> "ImageSource":
        """The same source restricted to ``indices`` (in that order)."""
        return SubsetSource(self, indices)


class SubsetSource(ImageSource):
    """Some images of another source, by index."""

    def __init__(self, parent: ImageSource, indices: Sequence[int]):
        self.parent, self.indices = parent, list(indices)
        self.keys = [parent.keys[i] for i in self.indices]
        digest = hashlib.sha256("\n".join(self.keys).encode()).hexdigest()[:12]
        self.ident = f"{parent.ident}-sub{digest}"

    def image(self, index: int) -> Image.Image:
        return self.parent.image(self.indices[index])

    def references(self, index: int) -> dict[str, list[str]]:
        return self.parent.references(self.indices[index])

    def problem(self, index: int) -> str | None:
        return self.parent.problem(self.indices[index])


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
        self.orphans: list[str] = []  # caption entries that name no file of the folder

    def image(self, index: int) -> Image.Image:
        with Image.open(self.root / self.keys[index]) as im:
            return im.convert("RGB")

    def references(self, index: int) -> dict[str, list[str]]:
        return self.captions.get(self.keys[index], {})

    def problem(self, index: int) -> str | None:
        path = self.root / self.keys[index]
        try:
            with Image.open(path) as im:
                im.verify()  # reads the whole file's structure (PNG chunks and CRCs), not just the header
            with Image.open(path) as im:
                im.load()  # verify() misses truncated JPEG data; decoding does not
        except FileNotFoundError:
            return "file is missing"
        except UnidentifiedImageError:
            return "not an image"
        except (OSError, SyntaxError, ValueError) as err:
            return f"does not open ({type(err).__name__})"
        return None

    def subset(self, start: int, stop: int | None = None) -> "FileSource":
        return FileSource(self.root, self.keys[start:stop], self.captions, tag=f"part{start}")

    def only(self, indices: Sequence[int]) -> "FileSource":
        return FileSource(self.root, [self.keys[i] for i in indices], self.captions, tag=self.ident.split("-")[0])


def _hidden(relative: Path) -> bool:
    """``.``-prefixed files and folders (``.ipynb_checkpoints``, ``.thumbnails``) are not part of an image set."""
    return any(part.startswith(".") for part in relative.parts)


def folder_source(root: str | Path, captions_jsonl: str | Path | None = None) -> FileSource:
    """Every image under ``root`` (sorted), with captions from a JSONL file if given.

    Each JSONL line is ``{"file": "relative/path.jpg", "caption": "..."}`` (or
    ``"captions": [...]``, or ``"targets": {"<TASK>": "..."}``); ``<CAPTION>`` is
    the task of a plain caption. Hidden (``.``-prefixed) files and folders are left out.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"image folder {root} does not exist")
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                   if p.suffix.lower() in IMAGE_SUFFIXES and not _hidden(p.relative_to(root)))
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
    source = FileSource(root, files, captions, tag="folder")
    present = set(files)
    source.orphans = sorted(f for f in captions if f not in present)
    return source


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
    return FileSource(root, files, captions, tag="coco")  # a missing listed file is caught by validate()


@dataclass
class SourceCheck:
    """What :func:`validate` found: the usable indices and, per reason, the keys it skipped."""

    name: str
    total: int
    usable: list[int]
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def summary(self, examples: int = 3) -> str:
        line = f"data check ({self.name}): {len(self.usable)} of {self.total} images usable"
        if not self.skipped:
            return line
        parts = []
        for reason, keys in sorted(self.skipped.items(), key=lambda kv: -len(kv[1])):
            shown = ", ".join(keys[:examples]) + (", ..." if len(keys) > examples else "")
            parts.append(f"{len(keys)} {reason} ({shown})")
        return f"{line}; {sum(map(len, self.skipped.values()))} unusable: " + "; ".join(parts)


def validate(source: ImageSource, name: str, needed_tasks: Sequence[str], workers: int = 4) -> SourceCheck:
    """Open every image of ``source`` and look up a reference for each of ``needed_tasks``."""
    with ThreadPoolExecutor(max(1, workers)) as pool:
        reasons: list[str | None] = list(pool.map(source.problem, range(len(source))))
    for i in (i for i, r in enumerate(reasons) if r is None):
        refs = source.references(i) if needed_tasks else {}
        lacking = [t for t in needed_tasks if not refs.get(t)]
        if lacking:
            reasons[i] = f"no reference for {'/'.join(lacking)}"
    skipped: dict[str, list[str]] = defaultdict(list)
    for i, reason in enumerate(reasons):
        if reason is not None:
            skipped[reason].append(source.keys[i])
    usable = [i for i, r in enumerate(reasons) if r is None]
    return SourceCheck(name, len(source), usable, dict(skipped))


def checked(source: ImageSource, name: str, data: DataSection) -> ImageSource:
    """``source`` validated as ``data`` says: logged counts, then skip the unusable images or stop at once."""
    needed = data.tasks if data.targets == "labels" else ()
    if isinstance(source, ShapesSource):
        known = set(source.references(0))  # every scene has every task's target; one scene shows which
        unknown = [t for t in dict.fromkeys(data.tasks) if t not in known]
        if unknown:
            raise ValueError(f"the shapes world has no targets for {unknown}; its tasks are {sorted(known)}")
        log.info("data check (%s): %d of %d scenes usable (procedural, every task labelled)", name, len(source),
                 len(source))
        return source
    report = validate(source, name, list(dict.fromkeys(needed)))
    log.info("%s", report.summary())
    for file in getattr(source, "orphans", [])[:1]:
        log.warning("data check (%s): %d captions name files that are not under %s (e.g. %s)", name,
                    len(source.orphans), getattr(source, "root", "the folder"), file)
    if not report.skipped:
        return source
    if not report.usable:
        raise ValueError(f"{report.summary()}; nothing left to train on")
    if data.on_missing == "fail":
        raise ValueError(f"{report.summary()}. Fix or remove those files, or set data.on_missing: skip "
                         f"to use the {len(report.usable)} usable images")
    log.warning("data check (%s): skipping %d unusable images (data.on_missing: skip)", name,
                report.total - len(report.usable))
    return source.only(report.usable)


def build_sources(data: DataSection) -> tuple[ImageSource, ImageSource]:
    """The (train, validation) sources a data section describes, each checked by :func:`checked` first."""
    if data.source == "shapes":
        return (checked(ShapesSource("train", data.train_size), "train", data),
                checked(ShapesSource("val", data.val_size), "val", data))
    make = folder_source if data.source == "folder" else coco_source
    train = checked(make(data.path, data.captions or None), "train", data)
    if data.val_path:
        val = checked(make(data.val_path, data.val_captions or None), "val", data)
        return _train_subset(train, data), val.subset(0, data.val_size)
    if len(train) <= data.val_size:
        raise ValueError(f"{data.path} has {len(train)} usable images: too few to hold out data.val_size="
                         f"{data.val_size}")
    held = train.subset(len(train) - data.val_size)
    return _train_subset(train.subset(0, len(train) - data.val_size), data), held


def _train_subset(train: FileSource, data: DataSection) -> FileSource:
    """A seeded random ``data.train_subset`` of the training images (sorted as before), or all of them."""
    if not data.train_subset or data.train_subset >= len(train):
        return train
    pick = np.random.default_rng(data.subset_seed).choice(len(train), data.train_subset, replace=False)
    log.info("training on a subset: %d of %d images (data.train_subset)", data.train_subset, len(train))
    return train.only(sorted(pick.tolist()))

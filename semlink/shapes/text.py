"""The exact text of a scene for each Florence-2 task, and the parsers that read it back.

Formats (objects always in canonical order: grid-cell reading order):

- ``<CAPTION>``: colours and kinds, equal (colour, kind) pairs counted, groups in
  order of first appearance: ``"two red circles and a blue square."``
- ``<DETAILED_CAPTION>``: every object with size, colour, kind and position:
  ``"a large red circle at the top left, a small blue square at the center and
  a small red circle at the bottom right."``
- ``<OD>``: Florence-2's detection format, one ``kind<loc_x1><loc_y1><loc_x2><loc_y2>``
  per object with no separator; the label is the kind alone (the category, as
  in Florence-2's COCO-style OD; colour lives in the captions). Coordinates use
  Florence-2's 1000-bin quantisation, mirrored from transformers'
  ``Florence2PostProcessor`` (``quantize`` / ``dequantize``) op for op.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import torch

from semlink.shapes.scene import CELLS, COLORS, KINDS, SIZES, Scene, ShapeSpec

TASKS = ("<CAPTION>", "<DETAILED_CAPTION>", "<OD>")

LOCATION_BINS = 1000
LOCATION_TOKENS = tuple(f"<loc_{i}>" for i in range(LOCATION_BINS))
"""Florence-2's location tokens, as they appear in ``<OD>`` targets (not part of VOCABULARY)."""

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PLURALS = {"circle": "circles", "square": "squares", "triangle": "triangles", "star": "stars", "cross": "crosses"}


def _vocabulary() -> tuple[str, ...]:
    words = ["a", "an", "and", "at", "the", ",", "."]
    words += NUMBER_WORDS[2:]
    words += SIZES
    words += COLORS
    for kind in KINDS:
        words += [kind, PLURALS[kind]]
    for cell in CELLS:
        words += [w for w in cell.split() if w not in words]
    return tuple(dict.fromkeys(words))


VOCABULARY = _vocabulary()
"""Every word and punctuation mark any target can contain, for any SceneConfig (location tokens aside)."""

_WORD = re.compile(r"<loc_\d+>|[a-z]+|[.,]")


def split_words(text: str) -> list[str]:
    """Words, punctuation and location tokens of a target, in order (whitespace dropped)."""
    return _WORD.findall(text)


def join_words(words: list[str]) -> str:
    """Inverse of :func:`split_words` for targets: spaces between words, none before punctuation or tokens."""
    out = ""
    for w in words:
        glued = not out or w in (",", ".") or w.startswith("<loc_") or out.endswith(">")
        out += w if glued else " " + w
    return out


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _join_phrases(phrases: list[str]) -> str:
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _look_alike_counts(scene: Scene) -> dict[tuple[str, str], int]:
    """How many shapes of each ``(colour, kind)``, in the order the first of each appears in reading order."""
    counts: dict[tuple[str, str], int] = {}
    for s in scene.ordered:
        counts[(s.color, s.kind)] = counts.get((s.color, s.kind), 0) + 1
    return counts


def has_look_alikes(scene: Scene) -> bool:
    """Whether two shapes share colour and kind, so that the caption counts them (``"two red circles"``)."""
    return any(n > 1 for n in _look_alike_counts(scene).values())


def caption(scene: Scene) -> str:
    """The ``<CAPTION>`` target: ``"a red circle and two blue squares."``"""
    counts = _look_alike_counts(scene)
    phrases = [
        f"{_article(color)} {color} {kind}" if n == 1 else f"{NUMBER_WORDS[n]} {color} {PLURALS[kind]}"
        for (color, kind), n in counts.items()
    ]
    return _join_phrases(phrases) + "."


class ObjectDescription(NamedTuple):
    """One object as a detailed caption states it; ``None`` where a parsed phrase did not say."""

    size: str | None
    color: str | None
    kind: str | None
    cell: str | None

    @classmethod
    def of(cls, shape: ShapeSpec) -> ObjectDescription:
        return cls(shape.size, shape.color, shape.kind, shape.cell)

    def phrase(self) -> str:
        return f"{_article(self.size)} {self.size} {self.color} {self.kind} at the {self.cell}"


def describe(scene: Scene) -> list[ObjectDescription]:
    """The objects of a scene in canonical order, as a detailed caption states them."""
    return [ObjectDescription.of(s) for s in scene.ordered]


def detailed_caption(scene: Scene) -> str:
    """The ``<DETAILED_CAPTION>`` target: ``"a large red circle at the top left and a small blue square at the center."``"""
    return _join_phrases([d.phrase() for d in describe(scene)]) + "."


_CLAUSE_SPLIT = re.compile(r"\s*,\s*|\s+and\s+")
_POSITION = re.compile(r"\bat the (.+)$")


def parse_detailed_caption(text: str, strict: bool = False) -> list[ObjectDescription]:
    """Objects stated by a detailed caption, in the order stated.

    Lenient by default (for model outputs): each comma/"and" clause yields one
    object, with ``None`` for any attribute it does not state with a known word.
    ``strict=True`` raises ``ValueError`` unless the text is exactly what
    :func:`detailed_caption` would write for those objects.
    """
    body = text.strip().rstrip(".").strip()
    objects = []
    for clause in (c for c in _CLAUSE_SPLIT.split(body) if c):
        position = _POSITION.search(clause)
        cell = position.group(1).strip() if position else None
        head = (clause[: position.start()] if position else clause).split()
        objects.append(
            ObjectDescription(
                size=next((w for w in head if w in SIZES), None),
                color=next((w for w in head if w in COLORS), None),
                kind=next((w for w in head if w in KINDS), None),
                cell=cell if cell in CELLS else None,
            )
        )
    if strict:
        if not objects or any(None in o for o in objects):
            raise ValueError(f"not a detailed caption (unknown or missing words): {text!r}")
        canonical = _join_phrases([o.phrase() for o in objects]) + "."
        if canonical != text:
            raise ValueError(f"not a canonical detailed caption: {text!r} (expected {canonical!r})")
    return objects


def quantize(coords: list[list[float]], size: tuple[int, int]) -> list[list[int]]:
    """Boxes ``[[x1, y1, x2, y2], ...]`` in pixels -> Florence-2 bins (floor(coord / size * 1000), clamped).

    The same torch ops, on the same dtypes, as ``Florence2PostProcessor.quantize``.
    """
    if not coords:
        return []
    locations = torch.tensor(coords)
    per_bin_w, per_bin_h = size[0] / LOCATION_BINS, size[1] / LOCATION_BINS
    xmin, ymin, xmax, ymax = locations.split(1, dim=-1)
    q = [
        (xmin / per_bin_w).floor().clamp(0, LOCATION_BINS - 1),
        (ymin / per_bin_h).floor().clamp(0, LOCATION_BINS - 1),
        (xmax / per_bin_w).floor().clamp(0, LOCATION_BINS - 1),
        (ymax / per_bin_h).floor().clamp(0, LOCATION_BINS - 1),
    ]
    return torch.cat(q, dim=-1).int().tolist()


def dequantize(bins: list[list[int]], size: tuple[int, int]) -> list[list[int]]:
    """Florence-2 bins -> pixel boxes at bin centres, truncated to int as ``Florence2PostProcessor.dequantize`` does."""
    if not bins:
        return []
    locations = torch.tensor(bins)
    per_bin_w, per_bin_h = size[0] / LOCATION_BINS, size[1] / LOCATION_BINS
    xmin, ymin, xmax, ymax = locations.split(1, dim=-1)
    dq = [(xmin + 0.5) * per_bin_w, (ymin + 0.5) * per_bin_h, (xmax + 0.5) * per_bin_w, (ymax + 0.5) * per_bin_h]
    return torch.cat(dq, dim=-1).int().tolist()


def od_target(scene: Scene) -> str:
    """The ``<OD>`` target: ``"circle<loc_62><loc_70><loc_312><loc_320>square<loc_...>..."``."""
    shapes = scene.ordered
    bins = quantize([list(s.bbox) for s in shapes], (scene.width, scene.height))
    return "".join(s.kind + "".join(f"<loc_{b}>" for b in box) for s, box in zip(shapes, bins))


_OD_PHRASE = re.compile(r"([^<]+(?:<loc_\d+>){4,})")
_OD_LABEL = re.compile(r"^\s*(.*?)(?=<od>|</od>|<box>|</box>|<bbox>|</bbox>|<loc_)")
_OD_BOX = re.compile(r"<loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)>")


def parse_od(text: str, size: tuple[int, int]) -> dict[str, list]:
    """An ``<OD>`` string -> ``{"bboxes", "labels"}``, as ``Florence2Processor.post_process_generation`` parses it."""
    text = text.replace("<s>", "").replace("</s>", "").replace("<pad>", "")
    bboxes, labels = [], []
    for phrase_text in _OD_PHRASE.findall(text):
        phrase_text = phrase_text.replace("<ground>", "", 1).replace("<obj>", "", 1)
        label = _OD_LABEL.search(phrase_text)
        boxes = [[int(m.group(j)) for j in range(1, 5)] for m in _OD_BOX.finditer(phrase_text)]
        if not label or not boxes:
            continue
        name = label.group().strip().encode("ascii", "ignore").decode("ascii")
        for box in dequantize(boxes, size):
            bboxes.append(box)
            labels.append(name)
    return {"bboxes": bboxes, "labels": labels}


def od_boxes(scene: Scene) -> dict[str, list]:
    """``{"bboxes": [[x1, y1, x2, y2], ...], "labels": [...]}``: what post-processing ``od_target`` yields."""
    shapes = scene.ordered
    bins = quantize([list(s.bbox) for s in shapes], (scene.width, scene.height))
    return {"bboxes": dequantize(bins, (scene.width, scene.height)), "labels": [s.kind for s in shapes]}


def target(scene: Scene, task: str) -> str:
    """The target text of ``scene`` for one of :data:`TASKS`."""
    if task == "<CAPTION>":
        return caption(scene)
    if task == "<DETAILED_CAPTION>":
        return detailed_caption(scene)
    if task == "<OD>":
        return od_target(scene)
    raise ValueError(f"unknown task {task!r}; the shapes world has targets for {TASKS}")

"""Caption quality: exact match, per-attribute accuracy on the shapes world, CIDEr-D and BLEU-4."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Sequence
from typing import Any

from semlink.shapes.scene import Scene
from semlink.shapes.text import ObjectDescription, describe, parse_detailed_caption

logger = logging.getLogger(__name__)

ATTRIBUTES = ("color", "shape", "size", "position")
_FIELD = {"color": "color", "shape": "kind", "size": "size", "position": "cell"}
MAX_MATCHED_OBJECTS = 16
"""Predicted objects past this many are ignored when matching (the count is already wrong)."""


def _check_lengths(a: Sequence, b: Sequence, names: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{names}: lengths differ ({len(a)} vs {len(b)})")


def exact_match(preds: Sequence[str], refs: Sequence[str]) -> float:
    """Fraction of predictions equal to their reference (surrounding whitespace ignored, case kept)."""
    _check_lengths(preds, refs, "exact_match(preds, refs)")
    if not preds:
        raise ValueError("exact_match needs at least one prediction")
    return sum(p.strip() == r.strip() for p, r in zip(preds, refs)) / len(preds)


def agreement(preds_a: Sequence[Any], preds_b: Sequence[Any]) -> float:
    """Fraction of positions where two pipelines gave identical outputs (strings, OD dicts, anything with ==).

    The fidelity measure: compressed pipeline vs the uncompressed one, no ground truth needed.
    """
    _check_lengths(preds_a, preds_b, "agreement(preds_a, preds_b)")
    if not preds_a:
        raise ValueError("agreement needs at least one prediction")
    return sum(a == b for a, b in zip(preds_a, preds_b)) / len(preds_a)


def _agree(p: ObjectDescription, t: ObjectDescription) -> int:
    return sum(getattr(p, _FIELD[a]) == getattr(t, _FIELD[a]) for a in ATTRIBUTES)


def match_objects(pred: Sequence[ObjectDescription], true: Sequence[ObjectDescription]) -> list[tuple[int, int]]:
    """``(true_index, pred_index)`` pairs, one-to-one, maximising the number of agreeing attributes.

    Exact (dynamic programming over subsets of true objects; at most 9 of them).
    """
    states: dict[int, tuple[int, tuple[tuple[int, int], ...]]] = {0: (0, ())}
    for j, p in enumerate(pred[:MAX_MATCHED_OBJECTS]):
        grown = dict(states)
        for mask, (score, pairs) in states.items():
            for i, t in enumerate(true):
                if mask >> i & 1:
                    continue
                key, value = mask | 1 << i, score + _agree(p, t)
                if key not in grown or value > grown[key][0]:
                    grown[key] = (value, pairs + ((i, j),))
        states = grown
    return sorted(max(states.values(), key=lambda v: v[0])[1])


def attribute_accuracy(preds: Sequence[str], scenes: Sequence[Scene]) -> dict[str, float]:
    """Per-attribute accuracy of detailed captions against the true scenes.

    Each prediction is parsed leniently (:func:`parse_detailed_caption`), its
    objects matched one-to-one to the true objects (:func:`match_objects`).
    ``count``: fraction of scenes with the right number of objects. ``color``,
    ``shape``, ``size``, ``position``: fraction of all true objects whose matched
    prediction states that attribute correctly (unmatched objects count as wrong).
    """
    _check_lengths(preds, scenes, "attribute_accuracy(preds, scenes)")
    if not preds:
        raise ValueError("attribute_accuracy needs at least one prediction")
    right = dict.fromkeys(ATTRIBUTES, 0)
    counts_right = objects = 0
    for text, scene in zip(preds, scenes):
        pred, true = parse_detailed_caption(text), describe(scene)
        counts_right += len(pred) == len(true)
        objects += len(true)
        for i, j in match_objects(pred, true):
            for a in ATTRIBUTES:
                right[a] += getattr(pred[j], _FIELD[a]) == getattr(true[i], _FIELD[a])
    return {"count": counts_right / len(preds)} | {a: right[a] / objects for a in ATTRIBUTES}


_PUNCT = re.compile(r"[^\w\s]")


def _simple_tokenize(captions: dict[int, list[str]]) -> dict[int, list[str]]:
    """Lower case, punctuation dropped, whitespace collapsed: a stand-in for PTBTokenizer without Java."""
    return {k: [" ".join(_PUNCT.sub(" ", c.lower()).split()) for c in v] for k, v in captions.items()}


def _tokenize(captions: dict[int, list[str]]) -> dict[int, list[str]]:
    if shutil.which("java") is None:
        logger.warning("java not found: CIDEr/BLEU use a simple tokenizer instead of PTBTokenizer")
        return _simple_tokenize(captions)
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    try:
        tokenized = PTBTokenizer().tokenize({k: [{"caption": c} for c in v] for k, v in captions.items()})
    except OSError as e:
        logger.warning("PTBTokenizer failed (%s): CIDEr/BLEU use a simple tokenizer", e)
        return _simple_tokenize(captions)
    if any(len(tokenized.get(k, ())) != len(v) for k, v in captions.items()):
        logger.warning("PTBTokenizer lost lines: CIDEr/BLEU use a simple tokenizer")
        return _simple_tokenize(captions)
    return tokenized


def cider_bleu(preds: Sequence[str], refs_list: Sequence[Sequence[str] | str]) -> dict[str, float]:
    """Corpus CIDEr-D (pycocoevalcap's ``Cider``: clipped, length-penalised, x10) and BLEU-4.

    ``refs_list[i]`` holds the reference captions of image ``i`` (a bare string is
    one reference). CIDEr weighs n-grams by their rarity across the references of
    the whole corpus, so it is only meaningful over several different images.
    """
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider

    _check_lengths(preds, refs_list, "cider_bleu(preds, refs_list)")
    if not preds:
        raise ValueError("cider_bleu needs at least one prediction")
    refs = [[r] if isinstance(r, str) else list(r) for r in refs_list]
    if any(not r for r in refs):
        raise ValueError("cider_bleu: every image needs at least one reference")
    n = len(preds)
    both = _tokenize({i: [preds[i], *refs[i]] for i in range(n)})
    res = {i: both[i][:1] for i in range(n)}
    gts = {i: both[i][1:] for i in range(n)}
    cider, _ = Cider().compute_score(gts, res)
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    return {"cider": float(cider), "bleu4": float(bleu[3])}

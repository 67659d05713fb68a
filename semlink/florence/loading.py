"""Load Florence-2 by preset name, hub id or local directory: the one entry point for the model.

Everything Florence-2 in semlink goes through :func:`load_florence`, which
returns the real ``transformers.Florence2ForConditionalGeneration`` and its
``Florence2Processor``, frozen and in eval mode.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch
from transformers import AutoProcessor, Florence2ForConditionalGeneration, Florence2Processor

from semlink.builtin import SHIPPED
from semlink.florence import presets
from semlink.florence.fingerprint import weights_fingerprint
from semlink.florence.processor import build_processor
from semlink.florence.tokenizer import build_florence_tokenizer

log = logging.getLogger(__name__)

RANDOM_PRESETS = {"tiny-random": presets.tiny_random, "base-random": presets.base_random}
NATIVE_IDS = {
    "microsoft/florence-2-base": "florence-community/Florence-2-base",
    "microsoft/florence-2-large": "florence-community/Florence-2-large",
    "microsoft/florence-2-base-ft": "florence-community/Florence-2-base-ft",
    "microsoft/florence-2-large-ft": "florence-community/Florence-2-large-ft",
}
TINY_CORPUS = [
    "a photo of a cat sitting on a red sofa next to a window.",
    "two people walking a dog along the beach at sunset.",
    "a car parked in front of a yellow building with a green door.",
    "the text on the sign reads open daily from nine to five.",
    "a bowl of fruit with apples, bananas and oranges on a wooden table.",
    "circle square triangle red green blue yellow purple small large left right top bottom center",
]


class ModelLoadError(RuntimeError):
    """A model could not be loaded; the message says what to use instead."""


@dataclass
class FlorenceBundle:
    """A loaded Florence-2: the HF model, its processor, where it came from, and its fingerprint."""

    name: str
    model: Florence2ForConditionalGeneration
    processor: Florence2Processor
    fingerprint: str

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    @property
    def image_size(self) -> tuple[int, int]:
        size = self.processor.image_processor.size
        return size["height"], size["width"]

    @property
    def feature_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the vision tower's output for one image."""
        return feature_shape(self.model, self.processor)


def feature_shape(model: Florence2ForConditionalGeneration, processor) -> tuple[int, int, int]:
    """``(C, H, W)`` of ``model``'s vision tower output for one image as ``processor`` prepares it."""
    vision = model.config.vision_config
    stride = 1
    for s in vision.patch_stride:
        stride *= s
    size = processor.image_processor.size
    return vision.embed_dim[-1], size["height"] // stride, size["width"] // stride


def available_models() -> list[str]:
    return [*RANDOM_PRESETS, *SHIPPED]


def load_florence(name: str, device: str | torch.device = "cpu", dtype: torch.dtype | None = None) -> FlorenceBundle:
    """Load a Florence-2 by preset (``tiny-random``, ``base-random``, ``shapes-tiny``), hub id or directory.

    The model is frozen (``requires_grad=False``) and in eval mode.
    """
    if name in RANDOM_PRESETS:
        model, processor = _build_random(name)
    elif name in SHIPPED:
        path = SHIPPED[name]
        if not (path / "config.json").exists():
            raise ModelLoadError(
                f"the built-in model {name!r} is not in {path}; rebuild it with `semlink pretrain-shapes`"
            )
        model, processor = _from_pretrained(str(path))
    else:
        _refuse_remote_code(name)
        model, processor = _from_pretrained(name)
    model.requires_grad_(False)
    model.eval()
    fingerprint = weights_fingerprint(model, model.config.to_dict())
    model.to(device=device, dtype=dtype) if dtype is not None else model.to(device)
    return FlorenceBundle(name=name, model=model, processor=processor, fingerprint=fingerprint)


@cache
def _preset_tokenizer():
    return build_florence_tokenizer(TINY_CORPUS, vocab_size=600)


def _build_random(name: str):
    spec = RANDOM_PRESETS[name]()
    tokenizer = _preset_tokenizer()
    vocab = max(spec.vocab_size, len(tokenizer))
    spec = presets.ArchSpec(**{**spec.__dict__, "vocab_size": vocab})
    config = presets.florence_config(spec, image_token_id=tokenizer.image_token_id)
    with _seeded(0):
        model = Florence2ForConditionalGeneration(config)
    model.generation_config = presets.generation_config(max_new_tokens=24 if name == "tiny-random" else 64)
    processor = build_processor(tokenizer, spec.image_size, spec.feature_hw)
    return model, processor


def _from_pretrained(path: str):
    try:
        model = Florence2ForConditionalGeneration.from_pretrained(path)
        processor = AutoProcessor.from_pretrained(path)
    except OSError as err:
        raise ModelLoadError(
            f"could not load Florence-2 from {path!r}: {err}. Give a local directory, a hub id reachable from "
            f"this machine, or an offline preset: {', '.join(available_models())}"
        ) from err
    return model, processor


def _refuse_remote_code(name: str) -> None:
    native = NATIVE_IDS.get(name.lower())
    if native is None and name.lower().startswith("microsoft/florence-2"):
        native = "florence-community/" + name.split("/", 1)[1]
    config_path = Path(name) / "config.json"
    if native is None and config_path.exists():
        if "auto_map" in json.loads(config_path.read_text()):
            native = "a florence-community/Florence-2-* checkpoint"
    if native is not None:
        raise ModelLoadError(
            f"{name} is a remote-code Florence-2 checkpoint, which transformers>=5 does not load natively; "
            f"use {native} instead"
        )


class _seeded:
    """Fork torch's RNG and seed it, so preset weights are the same on every machine."""

    def __init__(self, seed: int):
        self.seed = seed

    def __enter__(self):
        self._fork = torch.random.fork_rng()
        self._fork.__enter__()
        torch.manual_seed(self.seed)

    def __exit__(self, *exc):
        return self._fork.__exit__(*exc)

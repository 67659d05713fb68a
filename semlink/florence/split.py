"""Florence-2 split at its real seam: ``VisionHalf`` (transmitter) and ``LanguageHalf`` (receiver).

The seam is after ``model.vision_tower`` and before ``model.multi_modal_projector``.
Both halves wrap the loaded HF model; nothing is copied out of transformers.
The receiver half hands precomputed image embeddings to ``generate`` through
``mm_encoder_outputs``, which is how transformers accepts them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from torch import nn
from transformers.modeling_outputs import BaseModelOutputWithPooling

from semlink.florence.loading import FlorenceBundle


class UnknownTask(ValueError):
    """A task prompt Florence-2 does not know, or one missing its text input."""


class PromptTooLong(ValueError):
    """A task's input (image tokens, task prompt, text) has more tokens than the language model has positions."""


def known_tasks(processor) -> list[str]:
    return sorted({*processor.task_prompts_without_inputs, *processor.task_prompts_with_input})


def check_task(processor, task: str, text: str | None) -> None:
    """Raise :class:`UnknownTask` naming the known tasks when ``task``/``text`` make no prompt."""
    if task in processor.task_prompts_without_inputs:
        if text:
            raise UnknownTask(f"task {task} takes no text input; drop 'text' or use a task that takes one")
        return
    if task in processor.task_prompts_with_input:
        if not text:
            raise UnknownTask(f"task {task} needs a text input (e.g. a phrase or region); pass 'text'")
        return
    raise UnknownTask(f"unknown task {task!r}; known tasks: {', '.join(known_tasks(processor))}")


class VisionHalf(nn.Module):
    """Transmitter half: images → pixel values ``(B, 3, S, S)`` → vision features ``(B, C, H, W)``."""

    def __init__(self, bundle: FlorenceBundle):
        super().__init__()
        self.vision_tower = bundle.model.model.vision_tower
        self.image_processor = bundle.processor.image_processor

    def pixels(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """PIL images (any size) → normalised pixel values ``(B, 3, S, S)``, float32 on the CPU.

        Needs only the image processor, so data-loader workers can run it beside the training step.
        """
        rgb = [im if im.mode == "RGB" else im.convert("RGB") for im in images]  # no copy of an RGB image
        return self.image_processor(rgb, return_tensors="pt")["pixel_values"]

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` → ``(B, C, H, W)`` (C=1024, 24×24 for Florence-2-base at 768²)."""
        return self.vision_tower(pixel_values).last_hidden_state

    @torch.no_grad()
    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """Pixel values from :meth:`pixels` (any device, any dtype) → vision features, no gradient."""
        weight = next(self.vision_tower.parameters())
        return self(pixels.to(weight.device, weight.dtype))

    def encode(self, images: Sequence[Image.Image]) -> torch.Tensor:
        return self.encode_pixels(self.pixels(images))


def decode_without_padding(tokenizer, ids: torch.Tensor) -> list[str]:
    """Decode generated ids ``(B, T)`` keeping special tokens but dropping ``<pad>``.

    Florence-2's post-processor strips ``<s>``/``</s>`` but not ``<pad>``, so a batched
    generation would otherwise leave padding inside shorter captions.
    """
    pad = tokenizer.pad_token_id
    return [tokenizer.decode([t for t in row.tolist() if t != pad], skip_special_tokens=False) for row in ids]


LOCATION_TOKEN = re.compile(r"<loc_\d+>")


def plain_text(answer: str) -> str:
    """A text answer without the ``<loc_N>`` tokens Florence-2's text post-processing leaves in it.

    ``"a red circle<loc_677> at the top."`` -> ``"a red circle at the top."``: a caption is read, not parsed
    (a model off its training distribution, or features hurt by the channel, emits stray location tokens).
    """
    return re.sub(r"\s{2,}", " ", LOCATION_TOKEN.sub("", answer)).strip()


@dataclass(frozen=True)
class TaskRequest:
    """One question about one image: a task token, its optional text, and the image's ``(width, height)``."""

    task: str
    image_size: tuple[int, int]
    text: str | None = None


class LanguageHalf(nn.Module):
    """Receiver half: features ``(B, C, H, W)`` → projector → BART → ``generate`` → post-processing."""

    def __init__(self, bundle: FlorenceBundle):
        super().__init__()
        self.model = bundle.model
        self.processor = bundle.processor
        self.tokenizer = bundle.processor.tokenizer

    def project(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` → image token embeddings ``(B, H*W + 1, D)`` (frozen projector)."""
        projector = self.model.model.multi_modal_projector
        weight = projector.image_projection.weight
        return projector(features.to(weight.device, weight.dtype))

    @property
    def max_input_tokens(self) -> int:
        """The most tokens the encoder takes (image tokens included): the language model's position embeddings."""
        return self.model.config.text_config.max_position_embeddings

    def prompt_strings(self, tasks: Sequence[str], texts: Sequence[str | None]) -> list[str]:
        """The encoder's input for each task as text: image tokens, ``<s>``, the task's prompt, ``</s>``."""
        for task, text in zip(tasks, texts):
            check_task(self.processor, task, text)
        prompts = self.processor._construct_prompts([t + (x or "") for t, x in zip(tasks, texts)])
        image_tokens = self.processor.image_token * self.processor.num_image_tokens
        return [image_tokens + self.tokenizer.bos_token + p + self.tokenizer.eos_token for p in prompts]

    def check_length(self, task: str, text: str | None) -> None:
        """Raise :class:`PromptTooLong` (saying how many tokens ``text`` may have) when the input will not fit."""
        [string] = self.prompt_strings([task], [text])
        total = len(self.tokenizer(string, add_special_tokens=False)["input_ids"])
        limit = self.max_input_tokens
        if total <= limit:
            return
        own = len(self.tokenizer(text or "", add_special_tokens=False)["input_ids"])
        raise PromptTooLong(
            f"task {task} with this text is {total} tokens ({own} of them the text, "
            f"{self.processor.num_image_tokens} image tokens), over the model's limit of {limit} tokens "
            f"(max_position_embeddings); shorten 'text' to at most {max(0, limit - (total - own))} tokens"
        )

    def prompt_ids(self, tasks: Sequence[str], texts: Sequence[str | None]) -> dict[str, torch.Tensor]:
        """Token ids and mask for ``tasks``, laid out exactly as ``Florence2Processor`` does with an image."""
        strings = self.prompt_strings(tasks, texts)
        encoded = self.tokenizer(strings, add_special_tokens=False, padding=True, return_tensors="pt")
        device = self.model.device
        return {"input_ids": encoded["input_ids"].to(device), "attention_mask": encoded["attention_mask"].to(device)}

    @torch.no_grad()
    def generate_ids(self, features: torch.Tensor, tasks: Sequence[str], texts: Sequence[str | None] | None = None,
                     **generate_kwargs) -> torch.Tensor:
        """Generated token ids ``(B, T)``, with the model's own generation config unless overridden."""
        texts = list(texts) if texts is not None else [None] * len(tasks)
        inputs = self.prompt_ids(tasks, texts)
        image_embeds = self.project(features)
        return self.model.generate(
            **inputs,
            mm_encoder_outputs={"image": BaseModelOutputWithPooling(pooler_output=image_embeds)},
            **generate_kwargs,
        )

    def postprocess(self, ids: torch.Tensor, requests: Sequence[TaskRequest]) -> list[Any]:
        """Token ids → each task's answer (a caption string, ``{"bboxes", "labels"}`` for ``<OD>``...).

        Text answers come without ``<loc_N>`` tokens (:func:`plain_text`); boxes and polygons are parsed from them.
        """
        texts = decode_without_padding(self.tokenizer, ids)
        answers = [self.processor.post_process_generation(text, task=r.task, image_size=r.image_size)[r.task]
                   for text, r in zip(texts, requests)]
        return [plain_text(a) if isinstance(a, str) else a for a in answers]

    def answer(self, features: torch.Tensor, requests: Sequence[TaskRequest], **generate_kwargs) -> list[Any]:
        """Run each request's task on the matching row of ``features`` and post-process it."""
        ids = self.generate_ids(features, [r.task for r in requests], [r.text for r in requests], **generate_kwargs)
        return self.postprocess(ids, requests)

    def loss(self, features: torch.Tensor, tasks: Sequence[str], targets: Sequence[str]) -> torch.Tensor:
        """Teacher-forced cross-entropy of ``targets`` given features; gradients flow to ``features``.

        The frozen model keeps its graph (``requires_grad=False`` on its weights, no ``no_grad``),
        so a trainable decompressor upstream receives gradients.
        """
        return self.forward_logits(features, tasks, targets).loss

    def target_ids(self, targets: Sequence[str]) -> torch.Tensor:
        """Labels ``(B, T)``: ``<s> target </s>`` as BART's tokenizer lays them out, padding as -100.

        Built explicitly, not with ``add_special_tokens``, so locally built tokenizers (which add no
        specials themselves) give the same layout as Florence-2's own.
        """
        tok = self.tokenizer
        rows = [[tok.bos_token_id, *tok(t, add_special_tokens=False)["input_ids"], tok.eos_token_id] for t in targets]
        width = max(len(r) for r in rows)
        return torch.tensor([r + [-100] * (width - len(r)) for r in rows], dtype=torch.long)

    def forward_logits(self, features: torch.Tensor, tasks: Sequence[str], targets: Sequence[str]):
        """The model's teacher-forced output (``.loss``, ``.logits (B, T, V)``) for ``targets``."""
        inputs = self.prompt_ids(tasks, [None] * len(tasks))
        label_ids = self.target_ids(targets).to(self.model.device)
        embeds = self.model.get_input_embeddings()(inputs["input_ids"])
        image_embeds = self.project(features).to(embeds.dtype)
        mask = self.model.get_placeholder_mask(inputs["input_ids"], inputs_embeds=embeds, image_features=image_embeds)
        embeds = embeds.masked_scatter(mask, image_embeds)
        return self.model(inputs_embeds=embeds, attention_mask=inputs["attention_mask"], labels=label_ids)

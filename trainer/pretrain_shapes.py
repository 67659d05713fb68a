"""Train Florence-2 (the real HF class, ``shapes_tiny`` preset) from scratch on the shapes world, on a CPU.

Recipe (what made it learn): first ~150 steps train the vision tower alone on a
dense per-cell auxiliary target (``trainer.cell_probe``: colour, kind and size of
the shape under each feature cell), then everything trains on all three tasks
jointly with that auxiliary loss kept at a small weight. Without the probe the
model sat at the language prior (0% exact match after 30 minutes). Also: 64²
model input (the DaViT's first stage dominates CPU time), an 8×8 feature grid,
a BPE trained on the shapes vocabulary so words are single tokens, a pool of
scenes pre-processed once by the real processor, AdamW with warmup + cosine
and gradient clipping.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm
from transformers import Florence2ForConditionalGeneration, Florence2Processor

from semlink.florence import presets
from semlink.florence.loading import feature_shape
from semlink.florence.split import decode_without_padding
from trainer.cell_probe import CellProbe, cell_labels
from semlink.florence.processor import build_processor
from semlink.florence.tokenizer import build_florence_tokenizer
from semlink.metrics import exact_match, mean_average_precision
from semlink.shapes import TASKS, VOCABULARY, ShapesDataset, has_look_alikes, od_boxes, render, target

log = logging.getLogger(__name__)

LOC_BINS = 1000


@dataclass(frozen=True)
class PretrainConfig:
    """Everything one run depends on; recorded next to the checkpoint."""

    steps: int = 2500
    minutes: float = 0.0
    batch: int = 16
    lr: float = 1e-3
    warmup: int = 50
    weight_decay: float = 0.01
    clip: float = 1.0
    loc_sigma: float = 0.0
    pool: int = 6000
    seed: int = 0
    threads: int = 2  # on a 2-core box shared with other jobs, 1 is faster (OpenMP barriers starve)
    probe_steps: int = 150
    probe_batch: int = 32
    probe_lr: float = 2e-3
    probe_weight: float = 0.3
    eval_every: int = 0
    eval_scenes: int = 500
    repeat_weight: float = 1.0  # sampling weight of scenes whose <CAPTION> groups look-alikes ("two red circles")
    num_beams: int = 1  # greedy: on shapes-tiny, beam search prefers shorter captions that drop an object
    init: str = ""  # continue from this checkpoint directory instead of a fresh model
    tiny: bool = False

    def __post_init__(self):
        for name in ("steps", "batch", "pool", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"PretrainConfig.{name}={getattr(self, name)}: must be >= 1")
        if not self.lr > 0:
            raise ValueError(f"PretrainConfig.lr={self.lr}: must be > 0")
        if self.minutes < 0:
            raise ValueError(f"PretrainConfig.minutes={self.minutes}: must be >= 0 (0 = no time limit)")
        if self.loc_sigma < 0:
            raise ValueError(f"PretrainConfig.loc_sigma={self.loc_sigma}: must be >= 0 (0 = plain cross-entropy)")
        if not self.repeat_weight > 0:
            raise ValueError(f"PretrainConfig.repeat_weight={self.repeat_weight}: must be > 0 (1 = uniform sampling)")
        if self.num_beams < 1:
            raise ValueError(f"PretrainConfig.num_beams={self.num_beams}: must be >= 1")
        if self.init and not (Path(self.init) / "config.json").is_file():
            raise ValueError(f"PretrainConfig.init={self.init!r}: not a checkpoint directory (no config.json in it)")
        if self.probe_steps < 0 or self.probe_weight < 0:
            raise ValueError(f"PretrainConfig.probe_steps/probe_weight must be >= 0, got {self.probe_steps}/{self.probe_weight}")


def build_shapes_tokenizer():
    """Byte-level BPE over shapes targets, so every VOCABULARY word is one token (with its leading space)."""
    dataset = ShapesDataset("train", 1000, seed_offset=7)
    corpus = [" ".join(VOCABULARY)] * 20
    for i in range(len(dataset)):
        scene = dataset.scene(i)
        corpus += [target(scene, "<CAPTION>"), target(scene, "<DETAILED_CAPTION>")]
    return build_florence_tokenizer(corpus, vocab_size=420)


def build_model(spec: presets.ArchSpec, seed: int) -> tuple[Florence2ForConditionalGeneration, Florence2Processor]:
    """A freshly initialised model and its processor for ``spec`` (vocab size taken from the tokenizer)."""
    tokenizer = build_shapes_tokenizer()
    spec = presets.ArchSpec(**{**asdict(spec), "vocab_size": len(tokenizer)})
    torch.manual_seed(seed)
    model = Florence2ForConditionalGeneration(presets.florence_config(spec, image_token_id=tokenizer.image_token_id))
    processor = build_processor(tokenizer, spec.image_size, spec.feature_hw)
    return model, processor


def load_checkpoint(path: str | Path) -> tuple[Florence2ForConditionalGeneration, Florence2Processor]:
    """A saved checkpoint and its processor, trainable, to continue training from (unlike
    ``semlink.runtime.load_model``, which freezes the model for serving)."""
    return Florence2ForConditionalGeneration.from_pretrained(path), Florence2Processor.from_pretrained(path)


def max_target_tokens(processor, n: int = 1000) -> int:
    """The longest tokenised target (with <s> and </s>) over ``n`` training scenes, for max_new_tokens."""
    dataset = ShapesDataset("train", n, seed_offset=11)
    longest = 0
    for i in range(n):
        scene = dataset.scene(i)
        for task in TASKS:
            longest = max(longest, len(processor.tokenizer(target(scene, task))["input_ids"]) + 2)
    return longest


class ScenePool:
    """``n`` pre-rendered training scenes: pixel values ``(N, 3, S, S)`` exactly as the processor makes them,
    and padded labels per task ``(N, T)``."""

    def __init__(self, processor, n: int, seed_offset: int = 0, chunk: int = 500):
        tok = processor.tokenizer
        dataset = ShapesDataset("train", n, seed_offset=seed_offset)
        self.scenes = [dataset.scene(i) for i in range(n)]
        self.look_alikes = torch.tensor([has_look_alikes(scene) for scene in self.scenes])  # captions that count
        pixels, labels = [], {task: [] for task in TASKS}
        for lo in tqdm(range(0, n, chunk), desc="render pool", unit="chunk", mininterval=2):
            images = [render(scene) for scene in self.scenes[lo : lo + chunk]]
            pixels.append(processor.image_processor(images, return_tensors="pt")["pixel_values"])
        for scene in self.scenes:
            for task in TASKS:
                ids = tok(target(scene, task))["input_ids"]
                labels[task].append([tok.bos_token_id, *ids, tok.eos_token_id])
        self.pixels = torch.cat(pixels)
        self.labels = {}
        for task, rows in labels.items():
            width = max(len(r) for r in rows)
            padded = torch.full((n, width), -100, dtype=torch.long)
            for i, r in enumerate(rows):
                padded[i, : len(r)] = torch.tensor(r)
            self.labels[task] = padded

    def __len__(self) -> int:
        return self.pixels.shape[0]

    def sample(self, batch: int, repeat_weight: float, gen: torch.Generator) -> torch.Tensor:
        """Indices of one batch: uniform, or with look-alike scenes ``repeat_weight`` times as likely."""
        if repeat_weight == 1.0:
            return torch.randint(len(self), (batch,), generator=gen)
        weights = 1.0 + (repeat_weight - 1.0) * self.look_alikes.float()
        return torch.multinomial(weights, batch, replacement=True, generator=gen)


class Objective:
    """Teacher-forced loss of all three tasks for a batch of images; the vision tower runs once per image."""

    def __init__(self, model, processor, loc_sigma: float):
        self.model, self.processor = model, processor
        tok = processor.tokenizer
        self.loc0 = tok.convert_tokens_to_ids("<loc_0>")
        self.pad, self.start = tok.pad_token_id, model.config.text_config.decoder_start_token_id
        blank = [np.zeros((8, 8, 3), np.uint8)]
        self.prompts = {t: processor(text=[t], images=blank, return_tensors="pt") for t in TASKS}
        bins = torch.arange(LOC_BINS, dtype=torch.float32)
        self.kernel = None
        if loc_sigma > 0:
            k = torch.exp(-0.5 * ((bins[None, :] - bins[:, None]) / loc_sigma) ** 2)
            self.kernel = k / k.sum(1, keepdim=True)  # (1000, 1000): row t = soft target for bin t

    def __call__(self, pixels: torch.Tensor, labels: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict, torch.Tensor]:
        """Mean loss over tasks, per-task (loss, token accuracy), and the vision features ``(B, C, H, W)``."""
        model = self.model
        features = model.model.vision_tower(pixels).last_hidden_state
        image_embeds = model.model.multi_modal_projector(features)
        total, stats = 0.0, {}
        for task in TASKS:
            y = labels[task]
            y = y[:, : int((y != -100).sum(1).max())]
            prompt = self.prompts[task]
            ids = prompt["input_ids"].expand(len(y), -1)
            embeds = model.get_input_embeddings()(ids)
            mask = (ids == model.config.image_token_id).unsqueeze(-1)
            embeds = embeds.masked_scatter(mask, image_embeds.to(embeds.dtype))
            decoder_ids = torch.full_like(y, self.pad)
            decoder_ids[:, 1:] = y[:, :-1].clamp(min=0).masked_fill(y[:, :-1] == -100, self.pad)
            decoder_ids[:, 0] = self.start
            logits = model(
                inputs_embeds=embeds, attention_mask=prompt["attention_mask"].expand(len(y), -1),
                decoder_input_ids=decoder_ids,
            ).logits
            loss = self._loss(logits, y)
            total = total + loss
            valid = y != -100
            correct = (logits.argmax(-1) == y) & valid
            stats[task] = (loss.item(), (correct.sum() / valid.sum()).item())
        return total / len(TASKS), stats, features

    def _loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logp = logits.float().log_softmax(-1)
        valid = y != -100
        is_loc = valid & (y >= self.loc0) & (y < self.loc0 + LOC_BINS)
        hard = -logp.gather(-1, y.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        if self.kernel is not None and is_loc.any():
            soft_target = self.kernel[(y[is_loc] - self.loc0)]
            soft = -(soft_target * logp[is_loc][:, self.loc0 : self.loc0 + LOC_BINS]).sum(-1)
            hard = hard.masked_scatter(is_loc, soft)
        return hard[valid].mean()


def progress(step: int, elapsed_s: float, cfg: PretrainConfig) -> float:
    """Fraction of the run done: by steps, or by wall time when ``cfg.minutes`` is set, whichever is further."""
    done = step / cfg.steps
    if cfg.minutes:
        done = max(done, elapsed_s / (60 * cfg.minutes))
    return min(done, 1.0)


def lr_at(step: int, done: float, cfg: PretrainConfig) -> float:
    """Linear warmup (by steps) to ``cfg.lr``, then cosine (by ``done``, the run's progress) down to 5% of it."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * done)))


@torch.no_grad()
def evaluate(model, processor, n: int = 500, batch: int = 50, split: str = "test") -> dict[str, float]:
    """Exact match of both captions and ``<OD>`` mAP@0.5 on the first ``n`` scenes of ``split``, via the processor."""
    was_training = model.training
    model.eval()
    dataset = ShapesDataset(split, n)
    scenes = [dataset.scene(i) for i in range(n)]
    preds = {task: [] for task in TASKS}
    for lo in range(0, n, batch):
        chunk = scenes[lo : lo + batch]
        images = [render(s) for s in chunk]
        for task in TASKS:
            inputs = processor(text=[task] * len(images), images=images, return_tensors="pt")
            ids = model.generate(**inputs)
            texts = decode_without_padding(processor.tokenizer, ids)
            for text, image in zip(texts, images):
                preds[task].append(processor.post_process_generation(text, task=task, image_size=image.size)[task])
    model.train(was_training)
    return {
        "caption_exact": exact_match(preds["<CAPTION>"], [target(s, "<CAPTION>") for s in scenes]),
        "detailed_exact": exact_match(preds["<DETAILED_CAPTION>"], [target(s, "<DETAILED_CAPTION>") for s in scenes]),
        "od_map50": mean_average_precision(preds["<OD>"], [od_boxes(s) for s in scenes], iou=0.5),
    }


def warm_up_vision(model, probe: CellProbe, pool: ScenePool, cells: torch.Tensor, cfg: PretrainConfig,
                   gen: torch.Generator, train_tower: bool = True) -> None:
    """Train the vision tower alone on the per-cell probe for ``cfg.probe_steps`` steps.

    With ``train_tower=False`` only the fresh probe learns (the tower is already trained,
    and a random probe's gradients would only disturb it)."""
    params = [*(model.model.vision_tower.parameters() if train_tower else ()), *probe.parameters()]
    optim = torch.optim.AdamW(params, lr=cfg.probe_lr, weight_decay=cfg.weight_decay)
    bar = tqdm(range(cfg.probe_steps), desc="vision warm-up", unit="step")
    for step in bar:
        for group in optim.param_groups:
            group["lr"] = cfg.probe_lr * min(1.0, (step + 1) / 20)
        idx = torch.randint(len(pool), (cfg.probe_batch,), generator=gen)
        loss, colour_acc = probe(model.model.vision_tower(pool.pixels[idx]).last_hidden_state, cells[idx])
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.clip)
        optim.step()
        bar.set_postfix(probe=f"{loss.item():.3f}", colour=f"{colour_acc:.2f}")


def pretrain(out: str | Path, cfg: PretrainConfig, spec: presets.ArchSpec | None = None) -> dict:
    """Train, save ``model + processor + generation_config + training.json`` to ``out``; returns the record."""
    torch.set_num_threads(cfg.threads)
    start = time.perf_counter()
    if cfg.init:
        model, processor = load_checkpoint(cfg.init)
        spec = None  # the checkpoint's own config says what it is
        log.info("continuing from %s", cfg.init)
    else:
        spec = spec or (presets.tiny_random() if cfg.tiny else presets.shapes_tiny())
        model, processor = build_model(spec, cfg.seed)
    model.generation_config = presets.generation_config(max_new_tokens=max_target_tokens(processor) + 4)
    model.generation_config.num_beams = cfg.num_beams
    model.generation_config.early_stopping = cfg.num_beams > 1  # only meaningful for beam search
    n_params = sum(p.numel() for p in model.parameters())
    log.info("model: %.2fM parameters, max_new_tokens=%d", n_params / 1e6, model.generation_config.max_new_tokens)

    pool = ScenePool(processor, cfg.pool, seed_offset=cfg.seed)
    objective = Objective(model, processor, cfg.loc_sigma)
    channels, *feature_hw = feature_shape(model, processor)
    probe = CellProbe(channels)
    cells = cell_labels(pool.scenes, tuple(feature_hw))
    gen = torch.Generator().manual_seed(cfg.seed)
    model.train()
    warm_up_vision(model, probe, pool, cells, cfg, gen, train_tower=not cfg.init)
    named = [*model.named_parameters(), *probe.named_parameters()]
    decay = [p for n, p in named if p.ndim >= 2 and "embed" not in n]
    no_decay = [p for n, p in named if not (p.ndim >= 2 and "embed" not in n)]
    optim = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr, betas=(0.9, 0.98),
    )
    history, evals = [], []
    bar = tqdm(range(cfg.steps), desc="pretrain-shapes", unit="step")
    loop_start = time.perf_counter()
    for step in bar:
        done = progress(step, time.perf_counter() - loop_start, cfg)
        if done >= 1.0:
            log.info("time budget of %.1f min reached after %d steps", cfg.minutes, step)
            break
        lr = lr_at(step, done, cfg)
        for group in optim.param_groups:
            group["lr"] = lr
        idx = pool.sample(cfg.batch, cfg.repeat_weight, gen)
        loss, stats, features = objective(pool.pixels[idx], {t: pool.labels[t][idx] for t in TASKS})
        probe_loss, _ = probe(features, cells[idx])
        optim.zero_grad(set_to_none=True)
        (loss + cfg.probe_weight * probe_loss).backward()
        torch.nn.utils.clip_grad_norm_([*model.parameters(), *probe.parameters()], cfg.clip)
        optim.step()
        history.append(loss.item())
        bar.set_postfix(loss=f"{loss.item():.3f}", **{t.strip("<>")[:3].lower(): f"{a:.3f}" for t, (_, a) in stats.items()})
        if step % 50 == 0 or step == cfg.steps - 1:
            log.info("step %d loss %.4f lr %.2e acc %s", step, loss.item(), lr,
                     {t: round(a, 4) for t, (_, a) in stats.items()})
        if cfg.eval_every and (step + 1) % cfg.eval_every == 0 and step + 1 < cfg.steps:
            metrics = evaluate(model, processor, n=min(100, cfg.eval_scenes), split="val")
            evals.append({"step": step + 1, "val100": metrics})
            log.info("step %d val(100): %s", step + 1, metrics)
    train_s = time.perf_counter() - start
    model.eval()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    metrics = evaluate(model, processor, n=cfg.eval_scenes) if cfg.eval_scenes else {}
    record = {
        "config": asdict(cfg),
        "spec": asdict(spec) if spec else None,
        "parameters": n_params,
        "train_seconds": round(train_s, 1),
        "steps_done": len(history),
        "first_loss": history[0],
        "final_loss": history[-1],
        "evals": evals,
        "test_metrics": metrics,
    }
    (out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    log.info("saved to %s after %.0f s; test metrics %s", out, train_s, metrics)
    return record

"""The training loop: one process (or one of ``torchrun``'s), the codec trained end to end through frozen Florence-2.

Per optimizer step, for each of ``grad_accum`` micro-batches: features (from the
cache, or the frozen vision tower under ``no_grad``) → codec with a freshly drawn
channel → frozen receiver half → weighted loss → backward. Then clip, AdamW,
warmup+cosine schedule, and a check that no Florence-2 parameter got a gradient.
Logs go to ``<out_dir>/metrics.jsonl``; checkpoints resume exactly; the end
product is ``<out_dir>/codec-learned.safetensors``, written by ``save_codec``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from semlink.codecs import LearnedCodec, build_codec, save_codec
from semlink.florence import FlorenceBundle, LanguageHalf, VisionHalf
from semlink.runtime import load_model, resolve_device

from trainer import distributed
from trainer.batches import Batch, BatchOrder, Collate, MicroBatches, TrainExamples
from trainer.channel_draw import draw_channel
from trainer.checkpoint import TrainState, latest_checkpoint, read_checkpoint, restore_checkpoint, save_checkpoint
from trainer.codec_init import codec_from_init
from trainer.config import TrainConfig
from trainer.evaluate import Evaluator
from trainer.feature_cache import FeatureCache
from trainer.objective import LinkObjective, assert_frozen
from trainer.sources import ImageSource, build_sources

log = logging.getLogger(__name__)

CODEC_FILE = "codec-learned.safetensors"
_SALT_STEP = 0x57E9


@dataclass
class TrainResult:
    """What a run leaves: where, how far it got, the per-step losses of this process, the last evaluation."""

    out_dir: Path
    state: TrainState
    losses: list[float] = field(default_factory=list)
    codec_path: Path | None = None
    evaluation: dict[str, float] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    main: bool = True  # False on the other data-parallel processes


def warmup_cosine(warmup: int, total: int, min_ratio: float):
    """LR multiplier at a step: linear warmup from 0 over ``warmup`` steps, then cosine to ``min_ratio``."""
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor


def model_dtype(name: str, device: str) -> str:
    """``auto`` weights: fp32 on CPU, bf16 on CUDA (fp16 where bf16 is unsupported)."""
    if name != "auto":
        return name
    if not device.startswith("cuda"):
        return "float32"
    return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"


def autocast_dtype(amp: str, device: str) -> torch.dtype | None:
    if amp == "auto":
        amp = "bf16" if device.startswith("cuda") else "off"
    return {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def step_seed(seed: int, step: int, rank: int) -> int:
    """The global torch seed of one optimizer step (as fairseq does): resuming needs no RNG history."""
    return int(np.random.SeedSequence([_SALT_STEP, seed, step, rank]).generate_state(1)[0])


class FeatureReader:
    """Features ``(B, C, H, W)`` of a source's images by index: from the cache, else the vision tower."""

    def __init__(self, source: ImageSource, vision: VisionHalf, cache: FeatureCache | None, device: str):
        self.source, self.vision, self.cache, self.device = source, vision, cache, device

    def __call__(self, index: Sequence[int]) -> torch.Tensor:
        if self.cache is not None:
            return self.cache.stack([self.source.keys[i] for i in index]).to(self.device)
        return self.vision.encode([self.source.image(i) for i in index]).contiguous()


def teacher_references(language: LanguageHalf, source: ImageSource, read: FeatureReader, tasks: Sequence[str],
                       batch_size: int, cache: FeatureCache | None, progress: bool) -> dict[str, dict[str, list[str]]]:
    """``{key: {task: [text]}}``: the uncompressed model's own generated text for every image (no labels needed).

    Texts already in the cache are reused; new ones are written to it.
    """
    tok = language.tokenizer
    specials = {tok.bos_token, tok.eos_token, tok.pad_token}
    refs: dict[str, dict[str, list[str]]] = {key: {} for key in source.keys}
    for task in tasks:
        texts = dict(cache.teacher.get(task, {})) if cache is not None else {}
        todo = [i for i, key in enumerate(source.keys) if key not in texts]
        for start in tqdm(range(0, len(todo), batch_size), desc=f"teacher {task}", disable=not progress or not todo):
            index = todo[start:start + batch_size]
            ids = language.generate_ids(read(index), [task] * len(index))
            for i, text in zip(index, tok.batch_decode(ids, skip_special_tokens=False)):
                for special in specials:
                    text = text.replace(special, "")
                texts[source.keys[i]] = text.strip()
        if cache is not None and todo:
            cache.put_teacher(task, {source.keys[i]: texts[source.keys[i]] for i in todo})
        for key in source.keys:
            refs[key][task] = [texts[key]]
    return refs


def _references(language, source, read, config, cache, processes) -> dict | None:
    if config.data.targets != "teacher":
        return None
    refs = None
    if processes.main:
        refs = teacher_references(language, source, read, config.data.tasks, config.run.eval_batch_size, cache,
                                  config.run.progress)
    if processes.distributed:
        box = [refs]
        torch.distributed.broadcast_object_list(box, src=0)
        refs = box[0]
    return refs


def cache_dtype(config: TrainConfig, bundle: FlorenceBundle) -> torch.dtype:
    """How cached features are stored: ``data.cache_dtype``, ``auto`` = the model's dtype."""
    name = config.data.cache_dtype
    return bundle.dtype if name == "auto" else getattr(torch, name)


def cache_dirs(config: TrainConfig, bundle: FlorenceBundle, sources) -> list[Path]:
    dtype = cache_dtype(config, bundle)
    return [FeatureCache.location(config.data.cache_dir, bundle.fingerprint, dtype, s) for s in sources]


def _caches(config: TrainConfig, bundle: FlorenceBundle, vision: VisionHalf, sources, processes) -> list:
    if not config.data.cache:
        return [None for _ in sources]
    dirs = cache_dirs(config, bundle, sources)
    dtype = cache_dtype(config, bundle)
    if processes.main:
        for directory, source in zip(dirs, sources):
            FeatureCache(directory).build(source, vision.encode, config.run.eval_batch_size,
                                          config.data.cache_shard_size, config.run.progress, dtype=dtype,
                                          feature_shape=bundle.feature_shape)
    distributed.barrier(processes)
    return [FeatureCache(d, read_dtype=bundle.dtype) for d in dirs]


def _build_codec(config: TrainConfig, bundle: FlorenceBundle, read: FeatureReader, n_train: int) -> LearnedCodec:
    if config.codec.init:
        codec = codec_from_init(config.codec, bundle)
    else:
        cfg = config.codec.learned_config()
        codec = build_codec("learned", bundle.feature_shape, bundle.fingerprint, **cfg.__dict__)
        n = min(n_train, config.codec.normalization_images)
        chunks = [read(range(i, min(n, i + config.run.eval_batch_size))).float().cpu()
                  for i in range(0, n, config.run.eval_batch_size)]
        codec.fit_normalization(torch.cat(chunks))
    if not config.loss.rate:
        # No rate term: the entropy model is unused by the loss, so it is not trained (and DDP needs every
        # trainable parameter used). Its bits estimate is still logged.
        codec.entropy_model.requires_grad_(False)
    return codec.to(read.device).train()


def _metrics_log(out_dir: Path, resumed_step: int) -> Path:
    """``metrics.jsonl``, cut back to ``resumed_step`` so a resumed run's log reads as one run."""
    path = out_dir / "metrics.jsonl"
    if path.exists():
        keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= resumed_step]
        path.write_text("".join(line + "\n" for line in keep))
    return path


def _peak_memory_mb(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _accumulate_gradients(model, batches, config: TrainConfig, vision: VisionHalf, scaler, processes, device: str,
                          amp: torch.dtype | None) -> dict[str, float]:
    """Forward and backward ``grad_accum`` micro-batches; returns the mean of each loss term and statistic."""
    accum = config.optim.grad_accum
    device_type = "cuda" if device.startswith("cuda") else "cpu"
    totals: dict[str, float] = {}
    for k in range(accum):
        batch: Batch = next(batches)
        # contiguous: the vision tower's output is strided, and noise drawn with rand_like follows the layout
        features = (batch.features.to(device) if batch.features is not None else
                    vision.encode_pixels(batch.pixels)).contiguous()
        channel = draw_channel(config.channel, config.run.seed, batch.micro, processes.rank)
        sync = model.no_sync() if processes.distributed and k < accum - 1 else contextlib.nullcontext()
        with sync:
            with torch.autocast(device_type, dtype=amp or torch.float32, enabled=amp is not None):
                terms = model(features, batch.tasks, batch.targets, channel.transmit_tensor if channel else None)
            scaler.scale(terms["loss"] / accum).backward()
        for name, value in terms.items():
            totals[name] = totals.get(name, 0.0) + float(value.detach()) / accum
    return totals


def train(config: TrainConfig, *, resume: str = "auto", stop_at: int | None = None,
          bundle: FlorenceBundle | None = None) -> TrainResult:
    """Run (or resume) the training a config describes.

    ``resume``: ``"auto"`` continues from the newest checkpoint in ``run.out_dir``
    if there is one, ``"never"`` starts over, or a checkpoint path. ``stop_at``
    ends early after that step (with a checkpoint), as an interruption would.
    ``bundle`` reuses an already loaded Florence-2 (it must match ``model.name``).
    """
    processes, device = distributed.setup(resolve_device(config.model.device))
    try:
        return _train(config, processes, device, resume, stop_at, bundle)
    finally:
        distributed.teardown()


def _train(config, processes, device, resume, stop_at, bundle) -> TrainResult:
    run, optim = config.run, config.optim
    out_dir = Path(run.out_dir)
    torch.manual_seed(run.seed)
    if bundle is None:
        bundle = load_model(config.model.name, device, model_dtype(config.model.dtype, device))
    assert_frozen(bundle)
    vision, language = VisionHalf(bundle), LanguageHalf(bundle)
    amp = autocast_dtype(run.amp, device)
    device_type = "cuda" if device.startswith("cuda") else "cpu"  # for DDP and the grad scaler

    train_source, val_source = build_sources(config.data)
    train_cache, val_cache = _caches(config, bundle, vision, (train_source, val_source), processes)
    read_train = FeatureReader(train_source, vision, train_cache, device)
    read_val = FeatureReader(val_source, vision, val_cache, device)
    references = _references(language, train_source, read_train, config, train_cache, processes)

    codec = _build_codec(config, bundle, read_train, len(train_source))
    objective = LinkObjective(bundle, codec, config.loss)
    model = objective
    if processes.distributed:
        model = DistributedDataParallel(objective, device_ids=[processes.local_rank] if device_type == "cuda" else None)
    params = [p for p in codec.parameters() if p.requires_grad]
    frozen = sum(p.numel() for p in bundle.model.parameters())
    log.info("trainable parameters: %d (codec only); frozen Florence-2 parameters: %d", sum(p.numel() for p in params),
             frozen)
    optimizer = torch.optim.AdamW(params, lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(optim.warmup_steps, optim.steps, optim.min_lr_ratio))
    scaler = torch.amp.GradScaler(device_type, enabled=amp == torch.float16)

    state = TrainState()
    checkpoint = latest_checkpoint(out_dir) if resume == "auto" else (None if resume == "never" else Path(resume))
    if checkpoint is not None:
        payload = read_checkpoint(checkpoint)
        _check_same_run(payload["config"], config)
        state = restore_checkpoint(payload, codec, optimizer, scheduler, scaler)
        log.info("resumed from %s at step %d", checkpoint, state.step)
    if processes.main:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.yaml").write_text(_yaml(config.to_dict()))
    metrics_path = _metrics_log(out_dir, state.step) if processes.main else None
    eval_tasks = list(dict.fromkeys(run.eval_tasks or config.data.tasks))
    evaluator = Evaluator(language, val_source, read_val, eval_tasks, run.eval_loss_rates,
                          run.eval_batch_size) if processes.main else None
    last = optim.steps if stop_at is None else min(stop_at, optim.steps)
    order = BatchOrder(len(train_source), optim.batch_size, run.seed, processes.world, processes.rank,
                       _repeats(train_source, config.data.look_alike_repeats))
    examples = TrainExamples(train_source, config.data.tasks, run.seed, references, train_cache)
    loader = DataLoader(examples, batch_sampler=MicroBatches(order, state.step * optim.grad_accum,
                                                               last * optim.grad_accum),
                        collate_fn=Collate(vision.pixels), num_workers=config.data.workers)
    batches = iter(loader)

    result = TrainResult(out_dir=out_dir, state=state, main=processes.main)
    bar = tqdm(total=last, initial=state.step, desc="train", unit="step", disable=not (run.progress and processes.main),
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}, ETA {remaining}, "
                          "{rate_fmt}{postfix}]")
    window: dict[str, float] = {}
    window_images, window_start = 0, time.perf_counter()
    train_seconds, train_images = 0.0, 0
    while state.step < last:
        step_start = time.perf_counter()
        torch.manual_seed(step_seed(run.seed, state.step, processes.rank))
        totals = _accumulate_gradients(model, batches, config, vision, scaler, processes, device, amp)
        scaler.unscale_(optimizer)
        if optim.grad_clip:
            totals["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(params, optim.grad_clip))
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        assert_frozen(bundle)

        images = optim.batch_size * optim.grad_accum * processes.world
        state.step += 1
        state.images += images
        result.losses.append(totals["loss"])
        train_seconds += time.perf_counter() - step_start
        train_images += images
        window_images += images
        for name, value in totals.items():
            window[name] = window.get(name, 0.0) + value
        bar.update(1)
        bar.set_postfix_str(f"{train_images / max(train_seconds, 1e-9):.1f} frames/s, loss {totals['loss']:.4f}")

        if state.step % run.log_every == 0 or state.step == last:
            steps_in_window = run.log_every if state.step % run.log_every == 0 else state.step % run.log_every
            means = distributed.mean_over_processes({k: v / steps_in_window for k, v in window.items()},
                                                    processes, device)
            elapsed = time.perf_counter() - window_start
            row = {"step": state.step, "epoch": order.epoch_of(state.step * optim.grad_accum - 1),
                   "lr": scheduler.get_last_lr()[0], **means, "frames_per_s": window_images / max(elapsed, 1e-9)}
            _append(metrics_path, row)
            window, window_images, window_start = {}, 0, time.perf_counter()
        if run.eval_every and state.step % run.eval_every == 0 and state.step < optim.steps:
            result.evaluation = _evaluate(evaluator, codec, state, metrics_path, processes)
        if run.checkpoint_every and state.step % run.checkpoint_every == 0 or state.step == last:
            if processes.main:
                save_checkpoint(out_dir, state, codec, optimizer, scheduler, scaler, config.to_dict(),
                                run.keep_checkpoints)
            distributed.barrier(processes)
    bar.close()

    if state.step >= optim.steps:
        result.evaluation = _evaluate(evaluator, codec, state, metrics_path, processes)
        if processes.main:
            result.codec_path = save_codec(codec, out_dir / CODEC_FILE, extra={
                "trained_steps": str(state.step), "train_config": json.dumps(config.to_dict())})
            log.info("codec written to %s", result.codec_path)
    result.summary = {
        "steps": state.step, "images": state.images, "train_seconds": round(train_seconds, 2),
        "frames_per_s": round(train_images / max(train_seconds, 1e-9), 2),
        "peak_memory_mb": round(_peak_memory_mb(device), 1), "feature_cache": config.data.cache,
        "device": device, "processes": processes.world, **result.evaluation,
    }
    if processes.main:
        (out_dir / "summary.json").write_text(json.dumps(result.summary, indent=2))
    return result


def _evaluate(evaluator, codec, state, metrics_path, processes) -> dict[str, float]:
    if evaluator is None or not evaluator.loss_rates:
        distributed.barrier(processes)
        return {}
    metrics = evaluator(codec)
    if processes.main:
        _append(metrics_path, {"step": state.step, "eval": metrics})
        log.info("step %d eval: %s", state.step, ", ".join(f"{k}={v:.3f}" for k, v in metrics.items()))
    distributed.barrier(processes)
    return metrics


def _append(path: Path | None, row: dict) -> None:
    if path is not None:
        with open(path, "a") as f:
            f.write(json.dumps(row) + "\n")


def _repeats(source, look_alike_repeats: int) -> list[int] | None:
    """How many times each training image appears per epoch (``None``: once each)."""
    if look_alike_repeats == 1:
        return None
    repeats = [look_alike_repeats if flag else 1 for flag in source.look_alikes()]
    log.info("%d of %d scenes count look-alikes; each appears %d times an epoch", sum(r > 1 for r in repeats),
             len(repeats), look_alike_repeats)
    return repeats


def _check_same_run(saved: dict, config: TrainConfig) -> None:
    now = config.to_dict()
    changed = [f"{section}.{k}" for section in now for k in now[section]
               if section != "run" and saved.get(section, {}).get(k) != now[section][k]]
    if changed:
        log.warning("resuming with a changed config (%s): the run will not match an uninterrupted one",
                    ", ".join(changed))


def _yaml(values: dict) -> str:
    import yaml

    return yaml.safe_dump(values, sort_keys=False)

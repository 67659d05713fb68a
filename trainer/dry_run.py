"""``semlink train CONFIG --dry-run``: what a run will cost, measured on a few steps, before spending it.

Loads the model and checks the data as a real run does, then times the parts of
a run on a handful of its own batches: encoding images (the feature cache's
build rate), a few optimizer steps (from cached features, or live when the cache
is off), one evaluation batch, and the teacher's generation when targets need it.
Nothing is written: no cache, no checkpoint, no codec.
"""

from __future__ import annotations

import logging
import math
import time

import torch

from semlink.florence import LanguageHalf, VisionHalf
from semlink.runtime import load_model, resolve_device

from trainer.batches import BatchOrder, Collate, MicroBatches, TrainExamples
from trainer.config import TrainConfig
from trainer.distributed import Processes
from trainer.evaluate import Evaluator
from trainer.feature_cache import disk_bytes, plan_cache
from trainer.loop import (FeatureReader, _accumulate_gradients, _build_codec, _peak_memory_mb, autocast_dtype,
                          cache_dirs, cache_dtype, model_dtype, teacher_references, warmup_cosine)
from trainer.objective import LinkObjective
from trainer.sources import build_sources

log = logging.getLogger(__name__)

WARMUP_STEPS = 2  # untimed: first-call allocations and lazy initialisation


def dry_run(config: TrainConfig, steps: int = 5, bundle=None) -> dict:
    """Measure a run's parts on ``steps`` timed optimizer steps; returns the estimates (seconds, bytes)."""
    device = resolve_device(config.model.device)
    optim, run, data = config.optim, config.run, config.data
    began = time.perf_counter()
    if bundle is None:
        bundle = load_model(config.model.name, device, model_dtype(config.model.dtype, device))
    vision, language = VisionHalf(bundle), LanguageHalf(bundle)
    amp = autocast_dtype(run.amp, device)
    load_seconds = time.perf_counter() - began

    began = time.perf_counter()
    train_source, val_source = build_sources(data)
    check_seconds = time.perf_counter() - began

    # The batches of the run's first steps, as pixel values or (timed) encoded features.
    n_micro = (WARMUP_STEPS + steps) * optim.grad_accum
    order = BatchOrder(len(train_source), optim.batch_size, run.seed)
    used = sorted({i for m in range(n_micro) for i in order.indices(m)})
    references = None
    teacher_seconds = 0.0
    if data.targets == "teacher":
        sample = train_source.only(used)
        began = time.perf_counter()
        refs = teacher_references(language, sample, FeatureReader(sample, vision, None, device), data.tasks,
                                  run.eval_batch_size, None, progress=False)
        teacher_seconds = (time.perf_counter() - began) / len(used) * len(train_source)
        references = {key: refs.get(key, {}) for key in train_source.keys}
    examples = TrainExamples(train_source, data.tasks, run.seed, references)
    collate = Collate(vision.pixels)
    batches, load_s, encode_s = [], 0.0, 0.0
    for n, micro in enumerate(MicroBatches(order, 0, n_micro)):
        began = time.perf_counter()
        batch = collate([examples[item] for item in micro])
        loaded = time.perf_counter()
        if data.cache:
            batch.features, batch.pixels = vision.encode_pixels(batch.pixels).contiguous().cpu(), None
        if n:  # the first batch pays for lazy initialisation
            load_s += loaded - began
            encode_s += time.perf_counter() - loaded
        batches.append(batch)
    timed_images = (n_micro - 1) * optim.batch_size
    per_image_encode = (load_s + encode_s) / timed_images

    small = config.replace(codec={"normalization_images": min(config.codec.normalization_images, optim.batch_size)})
    codec = _build_codec(small, bundle, FeatureReader(train_source, vision, None, device), len(train_source))
    objective = LinkObjective(bundle, codec, config.loss)
    params = [p for p in codec.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(optim.warmup_steps, optim.steps,
                                                                           optim.min_lr_ratio))
    device_type = "cuda" if device.startswith("cuda") else "cpu"
    scaler = torch.amp.GradScaler(device_type, enabled=amp == torch.float16)
    stream = iter(batches)
    step_times = []
    for step in range(WARMUP_STEPS + steps):
        if device_type == "cuda":
            torch.cuda.synchronize(device)
        began = time.perf_counter()
        _accumulate_gradients(objective, stream, config, vision, scaler, Processes(), device, amp)
        scaler.unscale_(optimizer)
        if optim.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, optim.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if device_type == "cuda":
            torch.cuda.synchronize(device)
        if step >= WARMUP_STEPS:
            step_times.append(time.perf_counter() - began)
    step_seconds = sum(step_times) / len(step_times)
    images_per_step = optim.batch_size * optim.grad_accum
    if not data.cache and data.workers == 0:  # images load and preprocess on the training step's path
        step_seconds += load_s / timed_images * images_per_step

    eval_seconds, n_evals = 0.0, 0
    eval_tasks = list(dict.fromkeys(run.eval_tasks or data.tasks))
    if run.eval_loss_rates:
        n = min(run.eval_batch_size, len(val_source))
        sample = val_source.only(range(n))
        evaluator = Evaluator(language, sample, FeatureReader(sample, vision, None, device), eval_tasks,
                              run.eval_loss_rates, run.eval_batch_size)
        began = time.perf_counter()
        evaluator(codec)
        passes = len(eval_tasks) * (1 + len(run.eval_loss_rates))  # the uncompressed answers, then each loss rate
        per_pass = (time.perf_counter() - began) / passes * len(val_source) / n
        n_evals = (optim.steps - 1) // run.eval_every + 1 if run.eval_every else 1
        eval_seconds = per_pass * len(eval_tasks) * (1 + n_evals * len(run.eval_loss_rates))

    cache = {"enabled": data.cache}
    cache_seconds = 0.0
    if data.cache:
        dtype = cache_dtype(config, bundle)
        plans = [plan_cache(d, s.keys, bundle.feature_shape, dtype)
                 for d, s in zip(cache_dirs(config, bundle, (train_source, val_source)), (train_source, val_source))]
        to_encode = sum(p.images for p in plans)
        cache_seconds = to_encode * per_image_encode
        per_image = math.prod(bundle.feature_shape) * torch.empty((), dtype=dtype).element_size()
        cache.update({
            "dtype": str(dtype).removeprefix("torch."), "images": len(train_source) + len(val_source),
            "to_encode": to_encode, "bytes_total": per_image * (len(train_source) + len(val_source)),
            "bytes_on_disk": sum(disk_bytes(p.directory) for p in plans), "bytes_free": plans[0].bytes_free,
            "fits": all(p.fits for p in plans), "build_seconds": round(cache_seconds, 1),
            "directories": [str(p.directory) for p in plans]})
    train_seconds = optim.steps * step_seconds
    return {
        "device": device, "train_images": len(train_source), "val_images": len(val_source),
        "timed_steps": len(step_times), "steps_per_s": round(1 / step_seconds, 3),
        "frames_per_s": round(images_per_step / step_seconds, 1), "steps": optim.steps,
        "peak_memory_mb": round(_peak_memory_mb(device), 1), "cache": cache,
        "seconds": {"load_model": round(load_seconds, 1), "check_data": round(check_seconds, 1),
                    "feature_cache": round(cache_seconds, 1), "teacher_texts": round(teacher_seconds, 1),
                    "train": round(train_seconds, 1), "eval": round(eval_seconds, 1), "evals": n_evals},
        "eta_seconds": round(check_seconds + cache_seconds + teacher_seconds + train_seconds + eval_seconds, 1),
    }

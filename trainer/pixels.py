"""Training the ``learned-pixels`` codec: pixel MSE (optionally the task loss through frozen Florence-2) plus λ·rate.

The pixel-domain peer of :mod:`trainer.loop`, built from the same pieces: the
run config's model, channel, data, optim and run sections (:mod:`trainer.config`),
the same image sources and batches (:mod:`trainer.sources`, :mod:`trainer.batches`:
the shapes train split the feature codec trained on), a fresh differentiable
channel drawn per micro-batch (:mod:`trainer.channel_draw`) between analysis and
synthesis, AdamW with warmup and cosine decay. The loss terms
(:class:`PixelLossSection`):

- ``pixel_mse``: MSE of the rebuilt image in the model's input space (the
  processor's normalised pixel values);
- ``ce``: caption cross-entropy of the rebuilt image through the frozen vision
  tower and the frozen language half (``requires_grad=False``, a live graph):
  the task-fine-tuned variant; only the codec trains, checked after every step;
- ``feature_mse``: MSE of the frozen vision tower's features of the rebuilt image
  against those of the original, in units of their variance;
- ``rate``: λ times the entropy model's bits per pixel value (bits a frame / 3·S·S).

A run is short (minutes on a CPU), so it keeps no resumable checkpoints: it
writes ``<run.out_dir>/pixels-learned.safetensors``, ``metrics.jsonl`` and
``summary.json``. Evaluation sends validation scenes through
:class:`semlink.pixels.learned.LearnedPixelPeer` — compress, datagrams, a
Bernoulli channel, decompress, the whole model on the rebuilt image — exactly as
``semlink eval`` does.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from torch import nn
from torch.utils.data import DataLoader

from semlink.channel import Channel, ChannelConfig
from semlink.codecs import save_codec
from semlink.codecs.learned_pixels import CODEC_ID, LearnedPixelCodec, LearnedPixelConfig, load_pixel_codec
from semlink.florence import FlorenceBundle, LanguageHalf, TaskRequest, VisionHalf
from semlink.metrics.captions import exact_match
from semlink.runtime import load_model, resolve_device

from trainer.batches import BatchOrder, Collate, MicroBatches, TrainExamples
from trainer.channel_draw import draw_channel
from trainer.codec_init import say_architecture_kept
from trainer.config import (ChannelSection, DataSection, ModelSection, OptimSection, RunSection, _build, _plain,
                            apply_overrides)
from trainer.evaluate import EVAL_CHANNEL_SEED
from trainer.loop import model_dtype, step_seed, warmup_cosine
from trainer.objective import assert_frozen
from trainer.sources import ImageSource, build_sources

log = logging.getLogger(__name__)

PIXEL_CODEC_FILE = "pixels-learned.safetensors"


@dataclass(frozen=True)
class PixelCodecSection:
    """The pixel codec's architecture (:class:`LearnedPixelConfig`) and how it starts."""

    latent_channels: int = 16
    stride: int = 8
    bits: int = 8
    hidden: int = 48
    quantizer: str = "noise"
    rows_per_packet: int = 2
    interleave: bool = True
    init: str = ""  # a pixel codec checkpoint to start from (its architecture wins, said if it differs); empty = fresh

    def __post_init__(self):
        self.pixel_config()  # names a bad field

    def pixel_config(self) -> LearnedPixelConfig:
        """The architecture; its wire tables come from the entropy model it trains (fitted ones come after)."""
        return LearnedPixelConfig(**{f.name: getattr(self, f.name) for f in fields(LearnedPixelConfig)
                                     if f.name != "tables"})


@dataclass(frozen=True)
class PixelLossSection:
    """Weights of the loss terms (0 turns one off); see the module docstring."""

    pixel_mse: float = 1.0
    ce: float = 0.0
    feature_mse: float = 0.0
    rate: float = 1.0

    def __post_init__(self):
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"loss.{f.name} must be >= 0, got {getattr(self, f.name)}")
        if not (self.pixel_mse or self.ce or self.feature_mse):
            raise ValueError("every distortion weight (loss.pixel_mse, ce, feature_mse) is 0: set one")


@dataclass(frozen=True)
class PixelTrainConfig:
    """A pixel codec run: the feature trainer's sections, with the pixel codec and its loss."""

    model: ModelSection = field(default_factory=lambda: ModelSection(name="shapes-tiny"))
    codec: PixelCodecSection = field(default_factory=PixelCodecSection)
    channel: ChannelSection = field(default_factory=ChannelSection)
    loss: PixelLossSection = field(default_factory=PixelLossSection)
    data: DataSection = field(default_factory=lambda: DataSection(cache=False))
    optim: OptimSection = field(default_factory=OptimSection)
    run: RunSection = field(default_factory=lambda: RunSection(out_dir="runs/pixels", eval_tasks=("<CAPTION>",)))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "PixelTrainConfig":
        defaults = _plain(asdict(cls()))
        for section, changes in (values or {}).items():
            if isinstance(changes, dict) and isinstance(defaults.get(section), dict):
                defaults[section].update(changes)
            else:
                defaults[section] = changes
        return _build(cls, defaults, "")

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


def load_pixel_config(path: str | Path | None, overrides: list[str] = ()) -> PixelTrainConfig:
    """The pixel run config in ``path`` (YAML; ``None`` = the defaults) with ``--set`` overrides applied."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"config file {path} does not exist; see configs/pixels-*.yaml for examples")
        values = yaml.safe_load(path.read_text()) or {}
    return PixelTrainConfig.from_dict(apply_overrides(values, list(overrides)))


class PixelObjective(nn.Module):
    """``forward(pixels, tasks, targets, channel)`` → ``{"loss", term..., "bits", "lost"}`` for one micro-batch."""

    def __init__(self, bundle: FlorenceBundle, codec: LearnedPixelCodec, weights: PixelLossSection):
        super().__init__()
        self.codec, self.weights = codec, weights
        # Plain attributes, not submodules: the frozen model stays out of state_dict and the optimizer.
        self.__dict__["vision"] = VisionHalf(bundle)
        self.__dict__["language"] = LanguageHalf(bundle)
        self.elements = int(torch.tensor(codec.feature_shape).prod())

    def forward(self, pixels, tasks, targets, channel=None) -> dict[str, torch.Tensor]:
        wt = self.weights
        out = self.codec(pixels, channel)
        terms: dict[str, torch.Tensor] = {}
        if wt.pixel_mse:
            terms["pixel_mse"] = F.mse_loss(out.x_hat, pixels)
        if wt.ce or wt.feature_mse:
            features = self.vision(out.x_hat)  # frozen weights, live graph: gradients reach the codec
            if wt.ce:
                terms["ce"] = self.language.forward_logits(features, tasks, targets).loss
            if wt.feature_mse:
                with torch.no_grad():
                    reference = self.vision(pixels)
                terms["feature_mse"] = F.mse_loss(features, reference) / reference.var().clamp(min=1e-8)
        bits = out.bits.float().mean()
        terms["rate"] = bits / self.elements
        loss = sum(getattr(wt, name) * value for name, value in terms.items())
        return {"loss": loss, **terms, "bits": bits.detach(), "lost": out.lost_rows.float().mean().detach()}


def evaluate_peer(bundle: FlorenceBundle, codec: LearnedPixelCodec, source: ImageSource, task: str,
                  loss_rates, batch_size: int) -> dict[str, float]:
    """Exact match of ``task`` answers on ``source`` through the pixel peer at each Bernoulli loss rate, and bytes."""
    from semlink.pixels.learned import LearnedPixelPeer  # the serving path, as semlink eval runs it

    was_training = codec.training
    codec.eval().update()
    peer = LearnedPixelPeer(bundle, codec, CODEC_ID)
    vision, language = VisionHalf(bundle), LanguageHalf(bundle)
    size = bundle.image_size[::-1]
    refs = [source.references(i)[task][0] for i in range(len(source))]
    metrics: dict[str, float] = {}
    with torch.no_grad():
        for p in loss_rates:
            channel = Channel(ChannelConfig(loss="bernoulli", loss_p=p, seed=EVAL_CHANNEL_SEED)) if p else None
            answers, wire = [], 0
            for start in range(0, len(source), batch_size):
                index = list(range(start, min(start + batch_size, len(source))))
                images = [source.image(i) for i in index]
                got = peer.send(images, index, channel, size)
                wire += sum(d.wire_bytes for d in got)
                answers += language.answer(vision.encode([d.image for d in got]),
                                           [TaskRequest(task, im.size) for im in images])
            metrics[f"{task}@{p:.2f}/em"] = exact_match(answers, refs)
            metrics[f"{task}@{p:.2f}/wire_bytes"] = wire / len(source)
    codec.train(was_training)
    return metrics


def _build_codec(config: PixelTrainConfig, bundle: FlorenceBundle, device: str) -> LearnedPixelCodec:
    if config.codec.init:
        start = load_pixel_codec(config.codec.init, fingerprint=bundle.fingerprint)
        say_architecture_kept(config.codec.init, config.codec.pixel_config(), start.config)
        # packetisation and the quantiser follow the run; training prices and codes with the logistic (refit its
        # tables after)
        cfg = {**start.config_dict(), "rows_per_packet": config.codec.rows_per_packet,
               "quantizer": config.codec.quantizer, "tables": "logistic"}
        codec = LearnedPixelCodec(LearnedPixelConfig(**cfg), start.feature_shape, start.fingerprint)
        codec.load_state_dict(start.state_dict())
    else:
        height, width = bundle.image_size
        codec = LearnedPixelCodec(config.codec.pixel_config(), (3, height, width), bundle.fingerprint)
    return codec.to(device).train()


def train_pixels(config: PixelTrainConfig, bundle: FlorenceBundle | None = None) -> dict:
    """Run the training a pixel config describes; returns the run's summary (also in ``summary.json``)."""
    run, optim = config.run, config.optim
    device = resolve_device(config.model.device)
    out_dir = Path(run.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    torch.manual_seed(run.seed)
    if bundle is None:
        bundle = load_model(config.model.name, device, model_dtype(config.model.dtype, device))
    assert_frozen(bundle)
    train_source, val_source = build_sources(config.data)
    codec = _build_codec(config, bundle, device)
    objective = PixelObjective(bundle, codec, config.loss)
    params = [p for p in codec.parameters() if p.requires_grad]
    log.info("trainable parameters: %d (pixel codec only); frozen Florence-2 parameters: %d",
             sum(p.numel() for p in params), sum(p.numel() for p in bundle.model.parameters()))
    optimizer = torch.optim.AdamW(params, lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(optim.warmup_steps, optim.steps, optim.min_lr_ratio))
    order = BatchOrder(len(train_source), optim.batch_size, run.seed)
    loader = DataLoader(TrainExamples(train_source, config.data.tasks, run.seed),
                        batch_sampler=MicroBatches(order, 0, optim.steps * optim.grad_accum),
                        collate_fn=Collate(VisionHalf(bundle).pixels), num_workers=config.data.workers)
    batches = iter(loader)
    metrics_path = out_dir / "metrics.jsonl"
    metrics_path.write_text("")
    eval_tasks = list(dict.fromkeys(run.eval_tasks or config.data.tasks))
    window: dict[str, float] = {}
    start = time.perf_counter()
    for step in range(1, optim.steps + 1):
        torch.manual_seed(step_seed(run.seed, step - 1, 0))
        totals: dict[str, float] = {}
        for _ in range(optim.grad_accum):
            batch = next(batches)
            channel = draw_channel(config.channel, run.seed, batch.micro)
            terms = objective(batch.pixels.to(device), batch.tasks, batch.targets,
                              channel.transmit_tensor if channel else None)
            (terms["loss"] / optim.grad_accum).backward()
            for name, value in terms.items():
                totals[name] = totals.get(name, 0.0) + float(value.detach()) / optim.grad_accum
        if optim.grad_clip:
            totals["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(params, optim.grad_clip))
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        assert_frozen(bundle)
        for name, value in totals.items():
            window[name] = window.get(name, 0.0) + value
        if step % run.log_every == 0 or step == optim.steps:
            count = run.log_every if step % run.log_every == 0 else step % run.log_every
            row = {"step": step, "lr": scheduler.get_last_lr()[0], **{k: v / count for k, v in window.items()},
                   "seconds": round(time.perf_counter() - start, 1)}
            _append(metrics_path, row)
            log.info("step %d: %s", step, ", ".join(f"{k}={v:.4g}" for k, v in row.items() if k != "step"))
            window = {}
        if run.eval_every and step % run.eval_every == 0 and step < optim.steps:
            _append(metrics_path, {"step": step, "eval": _evaluate(bundle, codec, val_source, eval_tasks, run)})
    train_seconds = time.perf_counter() - start
    evaluation = _evaluate(bundle, codec, val_source, eval_tasks, run)
    _append(metrics_path, {"step": optim.steps, "eval": evaluation})
    path = save_codec(codec, out_dir / PIXEL_CODEC_FILE, extra={
        "trained_steps": str(optim.steps), "train_seconds": f"{train_seconds:.0f}",
        "train_config": json.dumps(config.to_dict())})
    log.info("pixel codec written to %s", path)
    summary = {"steps": optim.steps, "images": optim.steps * optim.grad_accum * optim.batch_size,
               "train_seconds": round(train_seconds, 1), "codec": str(path), "device": device, **evaluation}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _evaluate(bundle, codec, source, tasks, run: RunSection) -> dict[str, float]:
    if not run.eval_loss_rates:
        return {}
    metrics: dict[str, float] = {}
    for task in tasks:
        metrics.update(evaluate_peer(bundle, codec, source, task, run.eval_loss_rates, run.eval_batch_size))
    log.info("eval: %s", ", ".join(f"{k}={v:.3f}" for k, v in metrics.items()))
    return metrics


def _append(path: Path, row: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")

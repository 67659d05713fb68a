"""One training run's configuration: frozen dataclasses read from YAML, with ``--set key=value`` overrides.

A run is one YAML file (see ``configs/``) with the sections below; every field
has a default, unknown keys are refused with the valid ones listed, and a bad
value names its field. ``TrainConfig.to_dict()`` round-trips, so a checkpoint
carries the exact config it was trained with.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

from semlink.codecs import LearnedConfig

AMP_MODES = ("auto", "off", "bf16", "fp16")
SOURCES = ("shapes", "folder", "coco")
TARGET_MODES = ("labels", "teacher")
ON_MISSING = ("fail", "skip")
CACHE_DTYPES = ("auto", "float32", "float16", "bfloat16")


def _range(name: str, value, low: float | None = None, high: float | None = None) -> tuple[float, float]:
    """A ``[lo, hi]`` pair with ``lo <= hi`` (and inside ``[low, high]`` when given)."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"{name} must be a [low, high] pair, got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    if lo > hi:
        raise ValueError(f"{name} must have low <= high, got {value!r}")
    if (low is not None and lo < low) or (high is not None and hi > high):
        raise ValueError(f"{name} must lie in [{low}, {high}], got {value!r}")
    return lo, hi


def _fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")


@dataclass(frozen=True)
class ModelSection:
    """Which Florence-2 to train a codec for, and where it runs."""

    name: str = "tiny-random"
    device: str = "auto"  # auto, cpu, cuda, cuda:N (under torchrun: cuda:LOCAL_RANK)
    dtype: str = "auto"  # weights of the frozen model: auto (fp32 on CPU, bf16 on CUDA), float32, float16, bfloat16


@dataclass(frozen=True)
class CodecSection:
    """The learned codec's architecture (``LearnedConfig``) and how it starts."""

    latent_channels: int = 0  # 0 = C // 8 (with stride 2 and 8 bits: 1/64 of fp16 bytes)
    stride: int = 2
    bits: int = 8
    hidden: int = 128
    quantizer: str = "noise"
    rows_per_packet: int = 1
    interleave: bool = False  # diagonal wire order: a lost packet erases a scattered diagonal, not a band
    # a codec checkpoint to start from (its architecture; rows_per_packet and quantizer still come from here);
    # empty = fresh
    init: str = ""
    # The entropy model training prices the latent with: "logistic" or "mixture" (semlink.codecs.priors);
    # empty = logistic for a fresh codec, the init's own otherwise (a logistic init goes on as a mixture if asked).
    prior: str = ""
    normalization_images: int = 256  # training images whose features set the input normalisation

    def __post_init__(self):
        self.learned_config()  # LearnedConfig names a bad field
        if self.normalization_images < 1:
            raise ValueError(f"codec.normalization_images must be >= 1, got {self.normalization_images}")

    def learned_config(self) -> LearnedConfig:
        return LearnedConfig(self.latent_channels, self.stride, self.bits, self.hidden, self.quantizer,
                             self.rows_per_packet, self.interleave, prior=self.prior or "logistic")


@dataclass(frozen=True)
class ChannelSection:
    """The training channel, drawn afresh for every batch (see ``trainer.channel_draw``).

    Each batch is clean with ``clean_fraction``; otherwise its packet loss rate is
    drawn from ``loss_p``, as Gilbert–Elliott bursts (mean burst drawn from
    ``burst_length``) with ``burst_fraction``, else Bernoulli. With
    ``bit_error_fraction`` it also has bit errors, BPSK at an SNR (dB) drawn from
    ``snr_db`` (a corrupted packet fails its CRC: an erasure); with
    ``analog_fraction``, analog AWGN at an SNR drawn from ``analog_snr_db``.
    """

    clean_fraction: float = 0.1
    loss_p: tuple[float, float] = (0.0, 0.3)
    burst_fraction: float = 0.3
    burst_length: tuple[float, float] = (1.5, 4.0)
    bit_error_fraction: float = 0.0
    snr_db: tuple[float, float] = (6.0, 12.0)
    analog_fraction: float = 0.0
    analog_snr_db: tuple[float, float] = (10.0, 30.0)

    def __post_init__(self):
        for name in ("clean_fraction", "burst_fraction", "bit_error_fraction", "analog_fraction"):
            _fraction(f"channel.{name}", getattr(self, name))
        object.__setattr__(self, "loss_p", _range("channel.loss_p", self.loss_p, 0.0, 0.95))
        object.__setattr__(self, "burst_length", _range("channel.burst_length", self.burst_length, 1.0))
        object.__setattr__(self, "snr_db", _range("channel.snr_db", self.snr_db))
        object.__setattr__(self, "analog_snr_db", _range("channel.analog_snr_db", self.analog_snr_db))


@dataclass(frozen=True)
class LossSection:
    """Weights of the loss terms (0 turns a term off) and the distillation temperature.

    - ``ce``: cross-entropy of the targets (ground truth, or the teacher's text);
    - ``distill``: KL(teacher ‖ student) on the logits, teacher = the uncompressed model;
    - ``feature_mse``: MSE at the seam, in units of each channel's std;
    - ``projector_mse``: MSE of the projector's image tokens;
    - ``rate``: λ times the entropy model's bits per feature element (bits per frame / C·H·W).
    """

    ce: float = 1.0
    distill: float = 0.0
    temperature: float = 1.0
    feature_mse: float = 0.0
    projector_mse: float = 0.0
    rate: float = 0.0

    def __post_init__(self):
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"loss.{f.name} must be >= 0, got {getattr(self, f.name)}")
        if self.temperature <= 0:
            raise ValueError(f"loss.temperature must be > 0, got {self.temperature}")
        if not any(getattr(self, n) for n in ("ce", "distill", "feature_mse", "projector_mse")):
            raise ValueError("every distortion weight (loss.ce, distill, feature_mse, projector_mse) is 0: set one")


@dataclass(frozen=True)
class DataSection:
    """Where images and targets come from, and the feature cache.

    ``source``: ``shapes`` (the shapes world; ``train_size``/``val_size`` scenes),
    ``folder`` (images under ``path``, optional JSONL ``captions`` of
    ``{"file": ..., "caption": ...}``) or ``coco`` (images under ``path``,
    captions JSON ``captions``; ``val_path``/``val_captions`` likewise).
    ``targets``: ``labels`` uses the captions; ``teacher`` uses the uncompressed
    model's own generated text (no labels needed). Each image trains on a task drawn
    from ``tasks`` (list a task twice to draw it twice as often). Without a separate
    validation set the last ``val_size`` images of a folder are held out.
    ``workers``: data-loader processes that load or render images and run the image
    processor (or read cached features) beside the training step.
    ``look_alike_repeats`` (shapes only): each epoch holds a scene whose caption
    counts look-alikes ("two red circles") that many times; those are the scenes
    a codec gets wrong most often (1 = every scene once).

    Before any work every image is opened and checked for the references the
    targets need; ``on_missing`` says what an unusable one does: ``fail`` stops
    the run at once with the counts, ``skip`` leaves it out with a summary.
    ``train_subset`` (folder/coco): train on, and cache, a seeded random N of the
    usable training images (0 = all), e.g. 10,000 of COCO's 118k.
    ``cache_dtype``: how features are stored (``auto`` = the model's dtype;
    ``float16``/``bfloat16`` halve a float32 cache); they are read back in the
    model's dtype. 8-bit storage is not offered: it has not been measured harmless.
    """

    source: str = "shapes"
    tasks: tuple[str, ...] = ("<CAPTION>",)
    targets: str = "labels"
    train_size: int = 1024
    val_size: int = 64
    path: str = ""
    captions: str = ""
    val_path: str = ""
    val_captions: str = ""
    cache: bool = True
    cache_dir: str = ".cache/semlink-features"
    cache_shard_size: int = 1024
    cache_dtype: str = "auto"
    workers: int = 0
    look_alike_repeats: int = 1
    on_missing: str = "fail"
    train_subset: int = 0
    subset_seed: int = 0

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"data.source must be one of {SOURCES}, got {self.source!r}")
        if self.targets not in TARGET_MODES:
            raise ValueError(f"data.targets must be one of {TARGET_MODES}, got {self.targets!r}")
        object.__setattr__(self, "tasks", tuple(self.tasks) if not isinstance(self.tasks, str) else (self.tasks,))
        if not self.tasks:
            raise ValueError("data.tasks must name at least one task, e.g. ['<CAPTION>']")
        if self.source in ("folder", "coco") and not self.path:
            raise ValueError(f"data.path must name the image folder for source {self.source!r}")
        if self.source == "coco" and not self.captions:
            raise ValueError("data.captions must name the COCO captions JSON for source 'coco'")
        if self.source == "folder" and self.targets == "labels" and not self.captions:
            raise ValueError("data.source 'folder' without data.captions has no labels: set data.targets: teacher")
        for name in ("train_size", "val_size", "cache_shard_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"data.{name} must be >= 1, got {getattr(self, name)}")
        if self.workers < 0:
            raise ValueError(f"data.workers must be >= 0, got {self.workers}")
        if self.look_alike_repeats < 1:
            raise ValueError(f"data.look_alike_repeats must be >= 1, got {self.look_alike_repeats}")
        if self.on_missing not in ON_MISSING:
            raise ValueError(f"data.on_missing must be one of {ON_MISSING}, got {self.on_missing!r}")
        if self.cache_dtype not in CACHE_DTYPES:
            raise ValueError(f"data.cache_dtype must be one of {CACHE_DTYPES}, got {self.cache_dtype!r}")
        if self.train_subset < 0:
            raise ValueError(f"data.train_subset must be >= 0 (0 = all images), got {self.train_subset}")
        if self.train_subset and self.source == "shapes":
            raise ValueError("data.train_subset is for folder/coco sources; the shapes world sizes itself with "
                             "data.train_size")
        if self.look_alike_repeats > 1 and self.source != "shapes":
            raise ValueError("data.look_alike_repeats needs data.source: shapes (only shapes scenes know their look-alikes)")


@dataclass(frozen=True)
class OptimSection:
    """AdamW on the codec's parameters, linear warmup then cosine decay to ``min_lr_ratio · lr``.

    ``steps`` counts optimizer steps; each takes ``grad_accum`` micro-batches of
    ``batch_size`` images per process.
    """

    steps: int = 1000
    batch_size: int = 16
    grad_accum: int = 1
    lr: float = 1e-3
    min_lr_ratio: float = 0.05
    warmup_steps: int = 50
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 1.0  # 0 = off

    def __post_init__(self):
        for name in ("steps", "batch_size", "grad_accum"):
            if getattr(self, name) < 1:
                raise ValueError(f"optim.{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"optim.lr must be > 0, got {self.lr}")
        if self.warmup_steps < 0 or self.grad_clip < 0 or self.weight_decay < 0:
            raise ValueError("optim.warmup_steps, grad_clip and weight_decay must be >= 0")
        _fraction("optim.min_lr_ratio", self.min_lr_ratio)
        object.__setattr__(self, "betas", _range("optim.betas", self.betas, 0.0, 1.0))


@dataclass(frozen=True)
class RunSection:
    """Where the run writes, how often it logs, evaluates and checkpoints, and mixed precision.

    Evaluation runs every ``eval_every`` steps and at the end, at each packet loss
    rate of ``eval_loss_rates`` (an empty list turns it off), for ``eval_tasks``.
    """

    out_dir: str = "runs/default"
    seed: int = 0
    amp: str = "auto"  # auto (bf16 on CUDA, off on CPU), off, bf16, fp16
    log_every: int = 10
    eval_every: int = 200  # 0 = only at the end
    eval_batch_size: int = 16
    eval_loss_rates: tuple[float, ...] = (0.0, 0.2)
    eval_tasks: tuple[str, ...] = ()  # empty = every task of data.tasks
    checkpoint_every: int = 200  # 0 = only at the end
    keep_checkpoints: int = 2
    progress: bool = True

    def __post_init__(self):
        if self.amp not in AMP_MODES:
            raise ValueError(f"run.amp must be one of {AMP_MODES}, got {self.amp!r}")
        for name in ("log_every", "eval_batch_size", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"run.{name} must be >= 1, got {getattr(self, name)}")
        if self.eval_every < 0 or self.checkpoint_every < 0 or self.seed < 0:
            raise ValueError("run.eval_every, checkpoint_every and seed must be >= 0")
        object.__setattr__(self, "eval_loss_rates", tuple(float(p) for p in self.eval_loss_rates))
        object.__setattr__(self, "eval_tasks", tuple(self.eval_tasks))
        for p in self.eval_loss_rates:
            _fraction("run.eval_loss_rates[]", p)


@dataclass(frozen=True)
class TrainConfig:
    """A whole run: model, codec, channel, loss, data, optim and run sections."""

    model: ModelSection = field(default_factory=ModelSection)
    codec: CodecSection = field(default_factory=CodecSection)
    channel: ChannelSection = field(default_factory=ChannelSection)
    loss: LossSection = field(default_factory=LossSection)
    data: DataSection = field(default_factory=DataSection)
    optim: OptimSection = field(default_factory=OptimSection)
    run: RunSection = field(default_factory=RunSection)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        return _build(cls, values or {}, "")

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))

    def replace(self, **sections: dict[str, Any]) -> "TrainConfig":
        """A copy with some fields changed: ``config.replace(optim={"steps": 10})``."""
        values = self.to_dict()
        for section, changes in sections.items():
            if section not in values:
                raise ValueError(f"unknown config section {section!r}; sections are {sorted(values)}")
            values[section].update(changes)
        return TrainConfig.from_dict(values)


def _build(cls, values: dict[str, Any], prefix: str):
    if not isinstance(values, dict):
        raise ValueError(f"config section {prefix.rstrip('.') or '<root>'} must be a mapping, got {values!r}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        where = prefix.rstrip(".") or "the config"
        raise ValueError(f"unknown key(s) {unknown} in {where}; valid keys are {sorted(known)}")
    kwargs = {}
    for name, value in values.items():
        default = known[name].default_factory() if callable(known[name].default_factory) else None
        if is_dataclass(default):
            kwargs[name] = _build(type(default), value, f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(f"{prefix}{name}", known[name].default, value)
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ValueError(f"bad value in {prefix.rstrip('.') or 'the config'}: {err}") from err


def _coerce(name: str, default, value):
    """YAML reads ``3e-4`` as a string and ``1`` as an int: give numbers the type of the field's default."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(default, str) and isinstance(value, bool):
        return "on" if value else "off"  # YAML 1.1 reads a bare off/on/no/yes as a bool (run.amp=off)
    if isinstance(default, bool) or isinstance(value, bool):
        return value
    try:
        if isinstance(default, float) and isinstance(value, (int, str)):
            return float(value)
        if isinstance(default, int) and isinstance(value, str):
            return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    return value


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def apply_overrides(values: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``["optim.lr=3e-4", "data.tasks=[<CAPTION>]"]`` applied to a nested dict (values parsed as YAML)."""
    values = copy.deepcopy(values)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects key=value (e.g. optim.lr=3e-4), got {item!r}")
        path = key.strip().split(".")
        node = values
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"--set {key}: {part} is not a section")
        node[path[-1]] = yaml.safe_load(raw) if raw.strip() else ""
    return values


def load_config(path: str | Path | None, overrides: list[str] = ()) -> TrainConfig:
    """The run config in ``path`` (YAML; ``None`` = all defaults) with ``--set`` overrides applied."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"config file {path} does not exist; see configs/ for examples")
        values = yaml.safe_load(path.read_text()) or {}
    return TrainConfig.from_dict(apply_overrides(values, list(overrides)))

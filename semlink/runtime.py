"""Build the run-time pieces from names: a Florence-2 bundle and a codec ready to use.

A codec is named (``raw``, ``fp16``, ``q8``, ``pca``, ``learned``) or given as a
checkpoint path. ``pca`` by name is fitted on the built-in sample images;
``learned`` by name loads the model's shipped default codec when there is one,
and is otherwise an untrained codec (with a warning); ``learned:untrained`` is
always a freshly initialised one (the baseline a trained codec must beat).
Every codec returned carries a ``label`` for tables and plots: the spec, or
``<folder>/<file stem>`` for a checkpoint path, so two checkpoints never share a row.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from semlink.builtin import codec_beside, operating_points
from semlink.codecs import Codec, CodecError, build_codec, codec_names, load_codec
from semlink.codecs.registry import is_checkpoint
from semlink.florence import FlorenceBundle, VisionHalf, load_florence
from semlink.pixels.stream import PixelStream, is_pixel_codec
from semlink.samples import sample_images

log = logging.getLogger(__name__)

PCA_FIT_IMAGES = 16
UNTRAINED = "learned:untrained"


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} asked for, but torch sees no CUDA device; use --device cpu")
    return device


def resolve_dtype(dtype: str | None, device: str) -> torch.dtype | None:
    """``auto`` → float16 on CUDA, float32 on CPU; or ``float32``/``float16``/``bfloat16``."""
    if dtype in (None, "auto"):
        return torch.float16 if device.startswith("cuda") else None
    names = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if dtype not in names:
        raise ValueError(f"dtype must be one of auto, {', '.join(names)}; got {dtype!r}")
    return names[dtype]


def load_model(name: str, device: str = "cpu", dtype: str | None = None) -> FlorenceBundle:
    device = resolve_device(device)
    return load_florence(name, device=device, dtype=resolve_dtype(dtype, device))


def default_codec_path(bundle: FlorenceBundle) -> Path | None:
    """The learned codec shipped beside a built-in model, or beside a local model directory, if any."""
    return codec_beside(bundle.name)


def load_codec_for(bundle: FlorenceBundle, spec: str, **config) -> Codec:
    """The codec named by ``spec`` (a name or checkpoint path), checked against ``bundle``'s weights."""
    label = spec
    if is_checkpoint(spec):
        codec = load_codec(spec, fingerprint=bundle.fingerprint)
        label = f"{Path(spec).parent.name}/{Path(spec).stem}".lstrip("/")
    elif spec == "learned" and not config and (shipped := default_codec_path(bundle)) is not None:
        codec = load_codec(shipped, fingerprint=bundle.fingerprint)
    elif spec == UNTRAINED:
        codec = build_codec("learned", bundle.feature_shape, bundle.fingerprint, **config)
    elif spec.startswith("learned:"):
        point = spec.split(":", 1)[1]
        if (path := codec_beside(bundle.name, point)) is None:
            known = ", ".join(f"learned:{p}" for p in operating_points(bundle.name)) or "none"
            raise CodecError(f"no operating point {spec!r} is shipped beside {bundle.name} (known: {known}, and "
                             f"{UNTRAINED}); or pass a codec checkpoint's path")
        codec = load_codec(path, fingerprint=bundle.fingerprint)
    else:
        codec = build_codec(spec, bundle.feature_shape, bundle.fingerprint, **config)
        if spec == "pca":
            features = VisionHalf(bundle).encode(sample_images(PCA_FIT_IMAGES))
            codec.fit(features.float().cpu())
        elif spec == "learned":
            log.warning("codec 'learned' for %s is untrained (no shipped checkpoint): expect poor quality", bundle.name)
    codec.label = label
    return codec.to(bundle.device).eval()


def load_reference_for(bundle: FlorenceBundle, name: str) -> Codec | PixelStream:
    """A comparison reference: a features codec by name (``fp16``), or a pixel peer in streaming form (a
    transmitter's one point, ``avif:20``; a receiver's format, ``pixels-avif``, at whatever setting a stream names)."""
    if is_pixel_codec(name):
        return PixelStream.named(bundle, name)
    return load_codec_for(bundle, name)


__all__ = ["codec_names", "default_codec_path", "load_codec_for", "load_model", "load_reference_for",
           "resolve_device", "resolve_dtype"]

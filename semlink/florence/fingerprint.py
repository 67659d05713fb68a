"""A short, stable fingerprint of a Florence-2 model's weights.

Codec checkpoints carry the fingerprint of the weights they were trained for;
both ends of a link refuse to talk when fingerprints differ. Hashing every
parameter of a 231M-parameter model costs seconds, so the fingerprint hashes the
config, every tensor's name, shape and dtype, and a strided sample of at most
4096 values per tensor: any retraining or different checkpoint changes it.
"""

from __future__ import annotations

import hashlib
import json

import torch

SAMPLES_PER_TENSOR = 4096


def weights_fingerprint(model: torch.nn.Module, config_dict: dict | None = None) -> str:
    """16 hex digits identifying ``model``'s weights (independent of device and dtype)."""
    digest = hashlib.sha256()
    if config_dict is not None:
        digest.update(json.dumps(_architecture_only(config_dict), sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        flat = tensor.detach().reshape(-1)
        step = max(1, flat.numel() // SAMPLES_PER_TENSOR)
        sample = flat[::step][:SAMPLES_PER_TENSOR].to("cpu", torch.float32)
        digest.update(f"{name}:{tuple(tensor.shape)}".encode())
        # Round so that fp32/bf16/fp16 copies of the same weights agree.
        digest.update(torch.round(sample.to(torch.bfloat16).to(torch.float32) * 256).numpy().tobytes())
    return digest.hexdigest()[:16]


def _architecture_only(config_dict: dict) -> dict:
    """Drop config fields that do not change the weights' meaning (dtype, paths, versions)."""
    skip = {"torch_dtype", "dtype", "_name_or_path", "transformers_version", "_commit_hash", "architectures"}
    out = {}
    for key, value in config_dict.items():
        if key in skip:
            continue
        out[key] = _architecture_only(value) if isinstance(value, dict) else value
    return out

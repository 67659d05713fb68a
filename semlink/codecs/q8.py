"""``q8``: per-channel uniform 8-bit quantisation of the raw features; needs no training.

Each frame carries, per channel, ``scale = (max - min) / 255`` and ``offset = min``
as float16 in its side packet (2 KB at 512 channels, 4 KB at 1024, half of the
float32 it once sent); a symbol ``q`` decodes to ``q * scale + offset``, so the
error is ≤ ``scale / 2`` plus the float16 rounding of the constants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from semlink.codecs.base import Codec, Symbols, conceal
from semlink.packets import ZstdCoder


@dataclass(frozen=True)
class UniformConfig:
    """``min_saving``: a frame's symbols are Huffman-coded by zstd only when their entropy promises at least this
    fraction of their bytes saved; otherwise they go as zstd's stored blocks (the same decoder, ~1.4 ms less per
    Florence-2-base frame on a laptop core). 0 always codes them."""

    rows_per_packet: int = 1
    bits: int = 8
    min_saving: float = 0.1

    def __post_init__(self):
        if self.rows_per_packet < 1:
            raise ValueError(f"rows_per_packet must be >= 1, got {self.rows_per_packet}")
        if not 1 <= self.bits <= 8:
            raise ValueError(f"bits must be in 1..8 (symbols are sent as uint8), got {self.bits}")
        if not 0 <= self.min_saving < 1:
            raise ValueError(f"min_saving must be in [0, 1), got {self.min_saving}")


# The smallest normal float16: constants travel as float16, and a subnormal scale would lose its precision.
MIN_SCALE = 2.0**-14


def channel_range(y: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame, per-channel ``(scale, offset)`` of shape ``(B, c)`` for ``y (B, c, h, w)``, float16-exact."""
    return float16_range(y.amin(dim=(2, 3)), y.amax(dim=(2, 3)), bits)


def float16_range(lo32: torch.Tensor, hi: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, offset)`` covering ``[lo32, hi]`` in ``2**bits - 1`` steps, both exactly representable in float16.

    The offset is rounded down and the scale up, so ``2**bits - 1`` steps from the
    offset still cover the channel's whole range and no value is clamped.
    """
    lo16 = lo32.half()
    lo = torch.where(lo16.float() > lo32, torch.nextafter(lo16, torch.tensor(float("-inf"), dtype=torch.half)),
                     lo16).float()
    scale = ((hi - lo) / (2**bits - 1)).clamp(min=MIN_SCALE)
    rounded = scale.half().float()
    rounded = torch.where(rounded < scale, torch.nextafter(rounded.half(), torch.tensor(float("inf"),
                          dtype=torch.half)).float(), rounded)
    return rounded, lo


def quantize_uniform(y: torch.Tensor, bits: int) -> Symbols:
    """Symbols of ``y (B, c, h, w)`` computed where ``y`` is; only the uint8 symbols cross to the host.

    On the CPU numpy does it single-threaded: for one frame (~0.6 M values) torch's
    intra-op threads cost more than they save, and far more when other work holds
    the cores. Both paths give the same symbols: ``floor((y - offset) * (1 / scale)
    + 0.5)`` in float32, three passes and a cast (rounding half up; the result is in
    ``[0, 2**bits - 1]`` without a clamp, because the offset is at or below every
    value and ``2**bits - 1`` steps of the scale reach past the largest).
    """
    if y.device.type == "cpu":
        return _quantize_numpy(y.detach().float().numpy(), bits)
    return _quantize_torch(y.detach(), bits)


def _quantize_torch(y: torch.Tensor, bits: int) -> Symbols:
    scale, offset = channel_range(y, bits)
    q = torch.sub(y, offset[:, :, None, None]).mul_(scale.reciprocal()[:, :, None, None]).add_(0.5)
    return Symbols(q.to(torch.uint8).cpu().numpy(), scale.float().cpu().numpy(), offset.float().cpu().numpy())


def _quantize_numpy(v: np.ndarray, bits: int) -> Symbols:
    flat = v.reshape(v.shape[0], v.shape[1], -1)
    scale, offset = float16_range(torch.from_numpy(flat.min(axis=2)), torch.from_numpy(flat.max(axis=2)), bits)
    scale, offset = scale.numpy(), offset.numpy()
    q = np.subtract(v, offset[:, :, None, None])  # the one float scratch buffer, worked in place
    np.multiply(q, np.reciprocal(scale)[:, :, None, None], out=q)
    np.add(q, np.float32(0.5), out=q)
    return Symbols(q.astype(np.uint8), scale, offset)


def simulate_uniform(y: torch.Tensor, bits: int) -> torch.Tensor:
    """Additive uniform noise of one quantisation step: the differentiable stand-in for rounding."""
    scale, _ = channel_range(y.detach(), bits)
    noise = (torch.rand(y.shape, device=y.device, dtype=y.dtype) - 0.5) * scale[:, :, None, None]
    return y + noise


class UniformQuantized:
    """Mixin for codecs whose latent is quantised per channel to ``config.bits`` bits (q8, pca)."""

    per_frame_constants = True

    def quantize(self, y):
        return quantize_uniform(y, self.config.bits)

    def simulate_quantization(self, y):
        c, h, w = self.latent_shape()
        bits = torch.full((y.shape[0],), float(c * h * w * self.config.bits), device=y.device)
        return simulate_uniform(y, self.config.bits), bits


class Q8Codec(UniformQuantized, Codec):
    """Per-channel uniform quantisation of the vision features (8 bits by default)."""

    codec_id = "q8"
    wire_dtype = "uint8"

    def payload_coder(self):
        return ZstdCoder(min_saving=self.config.min_saving)

    def latent_shape(self):
        return self.feature_shape

    def analysis(self, x):
        return x.float()

    def synthesis(self, y_hat, lost_rows):
        return conceal(y_hat.float(), lost_rows)

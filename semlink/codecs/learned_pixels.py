"""``learned-pixels``: a learned codec of the model's input image, the pixel-domain peer of ``learned``.

Split-computing benchmarks call this peer "input compression": instead of the
vision tower's features, the transmitter codes the image the model would see —
the processor's normalised pixel values ``(B, 3, S, S)`` (64² for shapes-tiny) —
with a convolutional analysis network into a latent ``(B, c, S/s, S/s)``, and the
receiver's synthesis network rebuilds the image (given the erasure mask of lost
latent rows) and runs the whole model on it. Everything else is the feature
codec's, inherited from :class:`~semlink.codecs.learned.LearnedCodec`, not copied:
the clamp and rounding to ``bits``-bit symbols, quantisation-aware training
(noise or a straight-through round), the factorised logistic entropy model that
prices the rate in training and whose integer tables range-code every packet,
the diagonal interleave, and the packets, CRC-16 checks and session. So its bytes
are counted, and its losses fall, exactly as the feature codec's do.

Its checkpoints are the same safetensors format (config and Florence-2
fingerprint in the metadata: the receiver runs that model on the rebuilt image),
loaded with :func:`load_pixel_codec`; it is kept out of the feature codec
registry, whose codecs all take features.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file
from torch import nn

from semlink.codecs.base import Codec, CodecError
from semlink.codecs.checkpoint import FingerprintMismatch, read_metadata
from semlink.codecs.learned import TABLE_SOURCES, DiagonalInterleave, LearnedCodec
from semlink.codecs.priors import FactorizedLogistic

CODEC_ID = "learned-pixels"
STRIDES = {4: 2, 8: 3, 16: 4}  # stride → stride-2 stages


@dataclass(frozen=True)
class LearnedPixelConfig:
    """The pixel codec's architecture; ``stride`` 8 on a 64² input gives an 8 × 8 latent (the feature grid's size)."""

    latent_channels: int = 16
    stride: int = 8
    bits: int = 8
    hidden: int = 48
    quantizer: str = "noise"
    rows_per_packet: int = 2
    interleave: bool = True
    tables: str = "logistic"  # as the feature codec's: "histogram" once fitted (semlink fit-tables)

    def __post_init__(self):
        if self.latent_channels < 1:
            raise ValueError(f"latent_channels must be >= 1, got {self.latent_channels}")
        if self.stride not in STRIDES:
            raise ValueError(f"stride must be one of {sorted(STRIDES)}, got {self.stride}")
        if not 2 <= self.bits <= 8:
            raise ValueError(f"bits must be in 2..8, got {self.bits}")
        if self.hidden < 4:
            raise ValueError(f"hidden must be >= 4, got {self.hidden}")
        if self.quantizer not in ("noise", "ste"):
            raise ValueError(f"quantizer must be 'noise' or 'ste', got {self.quantizer!r}")
        if self.rows_per_packet < 1:
            raise ValueError(f"rows_per_packet must be >= 1, got {self.rows_per_packet}")
        if self.tables not in TABLE_SOURCES:
            raise ValueError(f"tables must be one of {', '.join(TABLE_SOURCES)}, got {self.tables!r}")


class PixelAnalysis(nn.Module):
    """Transmitter side: pixels ``(B, 3, S, S)`` → continuous latent ``(B, c, S/s, S/s)``."""

    def __init__(self, hidden: int, latent_channels: int, stride: int):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, hidden, 5, stride=2, padding=2), nn.GELU()]
        for _ in range(STRIDES[stride] - 1):
            layers += [nn.Conv2d(hidden, hidden, 3, stride=2, padding=1), nn.GELU()]
        layers += [nn.Conv2d(hidden, hidden, 3, padding=1), nn.GELU(), nn.Conv2d(hidden, latent_channels, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PixelSynthesis(nn.Module):
    """Receiver side: latent ``(B, c, h, w)`` + erasure mask ``(B, 1, h, w)`` → pixels ``(B, 3, h·s, w·s)``.

    Each 2× upsampling (nearest, then a 3×3 conv: no checkerboard) halves the width,
    down to ``hidden // 4``, so the full-resolution stages stay cheap.
    """

    def __init__(self, hidden: int, latent_channels: int, stride: int):
        super().__init__()
        self.inp = nn.Sequential(nn.Conv2d(latent_channels + 1, hidden, 3, padding=1), nn.GELU())
        self.body = nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1), nn.GELU())
        stages, width = [], hidden
        for k in range(STRIDES[stride]):
            out = hidden if k == 0 else max(4, width // 2)
            stages += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(width, out, 3, padding=1), nn.GELU()]
            width = out
        self.up = nn.Sequential(*stages)
        self.out = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, y: torch.Tensor, erased: torch.Tensor) -> torch.Tensor:
        h = self.inp(torch.cat([y, erased], dim=1))
        return self.out(self.up(h + self.body(h)))


class LearnedPixelCodec(LearnedCodec):
    """Learned analysis/synthesis of the model's input pixels, with the feature codec's entropy model and wire."""

    codec_id = CODEC_ID

    def __init__(self, config: LearnedPixelConfig, feature_shape, fingerprint: str):
        # LearnedCodec.__init__ builds feature-domain networks; this codec builds its own around the same pieces.
        Codec.__init__(self, config, feature_shape, fingerprint)
        channels, height, width = self.feature_shape
        if channels != 3 or height % config.stride or width % config.stride:
            raise CodecError(f"{CODEC_ID} codes RGB pixels (3, S, S) with S a multiple of stride {config.stride}, "
                             f"got {self.feature_shape}")
        self.latent_channels = config.latent_channels
        self.analysis_net = PixelAnalysis(config.hidden, config.latent_channels, config.stride)
        self.synthesis_net = PixelSynthesis(config.hidden, config.latent_channels, config.stride)
        self.entropy_model = FactorizedLogistic(config.latent_channels)
        self.interleave = DiagonalInterleave(*self.latent_shape()[1:]) if config.interleave else None
        self.half_range = 2 ** (config.bits - 1)
        self.register_buffer("entropy_tables", torch.zeros(config.latent_channels, 2**config.bits, dtype=torch.int32))

    def fit_normalization(self, features):
        raise CodecError(f"{CODEC_ID} codes the processor's already normalised pixels; it has no normalisation to fit")

    def latent_shape(self):
        _, h, w = self.feature_shape
        s = self.config.stride
        return self.latent_channels, h // s, w // s

    def analysis(self, x):
        y = self.analysis_net(x.float())
        return self.interleave.wire(y) if self.interleave is not None else y

    def synthesis(self, y_hat, lost_rows):
        erased = lost_rows.to(y_hat.dtype)[:, None, :, None].expand(-1, 1, -1, y_hat.shape[3])
        y_hat = y_hat.float() * (1 - erased)
        if self.interleave is not None:
            y_hat, erased = self.interleave.latent(y_hat), self.interleave.latent(erased.contiguous())
        return self.synthesis_net(y_hat, erased)


def load_pixel_codec(path: str | Path, fingerprint: str | None = None) -> LearnedPixelCodec:
    """Rebuild a pixel codec saved with :func:`~semlink.codecs.save_codec`; with ``fingerprint``, refuse other weights."""
    metadata = read_metadata(path)
    if metadata["codec"] != CODEC_ID:
        raise CodecError(f"{path} holds a {metadata['codec']!r} codec, not {CODEC_ID!r}; load it with load_codec")
    if fingerprint is not None and metadata["fingerprint"] != fingerprint:
        raise FingerprintMismatch(
            f"pixel codec {path} was trained for Florence-2 weights {metadata['fingerprint']}, but the loaded model "
            f"is {fingerprint}; load the model it was made for, or retrain it with `semlink train-pixels`")
    try:
        config = LearnedPixelConfig(**json.loads(metadata["config"]))
    except TypeError as err:
        raise CodecError(f"{path} has a config this semlink release does not know ({err})") from err
    codec = LearnedPixelCodec(config, tuple(json.loads(metadata["feature_shape"])), metadata["fingerprint"])
    try:
        codec.load_state_dict(load_file(str(path)))
    except RuntimeError as err:
        raise CodecError(f"{path} does not fit a {CODEC_ID} codec of this release ({err}); retrain it") from err
    return codec.eval()


def pixels_to_images(pixels: torch.Tensor, mean, std) -> list[Image.Image]:
    """Normalised pixel values ``(B, 3, H, W)`` → RGB images, undoing the processor's ``(v/255 - mean) / std``."""
    mean_t = torch.as_tensor(mean, dtype=torch.float32)[None, :, None, None]
    std_t = torch.as_tensor(std, dtype=torch.float32)[None, :, None, None]
    rgb = ((pixels.detach().float().cpu() * std_t + mean_t) * 255.0).round().clamp(0, 255).to(torch.uint8)
    return [Image.fromarray(np.ascontiguousarray(im.permute(1, 2, 0).numpy()), "RGB") for im in rgb]

"""``pca``: a linear projection onto the top-k principal directions of the channels, then 8-bit.

Fitted in seconds on the vision features of a handful of unlabeled images
(every spatial cell is a sample of the C-dim channel vector); no training
through the model. Decoding projects back and adds the mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from semlink.codecs.base import Codec, CodecError, conceal
from semlink.codecs.q8 import UniformQuantized


@dataclass(frozen=True)
class PcaConfig:
    """``components=0`` picks ``C // 8`` (1/16 of fp16 bytes at 8 bits)."""

    components: int = 0
    rows_per_packet: int = 1
    bits: int = 8

    def __post_init__(self):
        if self.components < 0:
            raise ValueError(f"components must be >= 0 (0 = C // 8), got {self.components}")
        if self.rows_per_packet < 1:
            raise ValueError(f"rows_per_packet must be >= 1, got {self.rows_per_packet}")
        if not 1 <= self.bits <= 8:
            raise ValueError(f"bits must be in 1..8, got {self.bits}")


class PcaCodec(UniformQuantized, Codec):
    """Project ``(B, C, H, W)`` onto ``k`` principal directions → ``(B, k, H, W)``, quantise to uint8."""

    codec_id = "pca"
    wire_dtype = "uint8"

    def __init__(self, config: PcaConfig, feature_shape, fingerprint: str):
        super().__init__(config, feature_shape, fingerprint)
        channels = self.feature_shape[0]
        self.components = config.components or max(1, channels // 8)
        if self.components > channels:
            raise ValueError(f"components ({self.components}) cannot exceed the feature channels ({channels})")
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("basis", torch.zeros(self.components, channels))  # (k, C), orthonormal rows
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def fit(self, features: torch.Tensor) -> "PcaCodec":
        """Fit mean and basis on features ``(N, C, H, W)`` (a few images are enough)."""
        samples = features.float().permute(0, 2, 3, 1).reshape(-1, features.shape[1])
        if samples.shape[0] < self.components:
            raise CodecError(
                f"PCA with {self.components} components needs at least that many feature cells; "
                f"got {samples.shape[0]}: fit on more images"
            )
        mean = samples.mean(dim=0)
        _, _, vh = torch.linalg.svd(samples - mean, full_matrices=False)
        self.mean.copy_(mean)
        self.basis.copy_(vh[: self.components])
        self.fitted.fill_(True)
        return self

    def _require_fit(self):
        if not bool(self.fitted):
            raise CodecError("PCA codec is not fitted: call fit(features) or load a fitted checkpoint (`semlink fit-pca`)")

    def latent_shape(self):
        _, h, w = self.feature_shape
        return self.components, h, w

    def analysis(self, x):
        self._require_fit()
        centred = x.float() - self.mean[None, :, None, None]
        return torch.einsum("bchw,kc->bkhw", centred, self.basis)

    def synthesis(self, y_hat, lost_rows):
        self._require_fit()
        x = torch.einsum("bkhw,kc->bchw", conceal(y_hat.float(), lost_rows), self.basis)
        return x + self.mean[None, :, None, None]

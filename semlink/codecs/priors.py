"""The learned codecs' entropy models ("priors"): densities of the integer latent that price it in training.

Each gives ``bits(y)``, the rate term, for a noisy or rounded latent ``(B, c, h, w)``.
"""

from __future__ import annotations

import torch
from torch import nn


class FactorizedLogistic(nn.Module):
    """Learned per-channel logistic density of the integer latent; ``bits(y)`` is the rate term."""

    def __init__(self, channels: int):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(channels))
        self.log_scale = nn.Parameter(torch.zeros(channels))

    def bits(self, y: torch.Tensor) -> torch.Tensor:
        """``y (B, c, h, w)`` (noisy or rounded) → estimated bits per frame ``(B,)``."""
        loc = self.loc[None, :, None, None]
        scale = self.log_scale.exp()[None, :, None, None]
        upper = torch.sigmoid((y + 0.5 - loc) / scale)
        lower = torch.sigmoid((y - 0.5 - loc) / scale)
        likelihood = (upper - lower).clamp(min=1e-9)
        return -torch.log2(likelihood).sum(dim=(1, 2, 3))

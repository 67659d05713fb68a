"""The learned codecs' entropy models ("priors"): densities of the integer latent that price it in training.

Each gives ``bits(y)``, the rate term, for a noisy or rounded latent ``(B, c, h, w)``,
and ``tables(bits)``, its discretisation to the integer tables the wire codes with
(the tables of ``tables="logistic"`` codecs; fitted tables replace them after
training). Two kinds, named by a codec's ``prior``:

- ``logistic``: one logistic per channel (:class:`FactorizedLogistic`), a place and a width;
- ``mixture``: ``K`` logistics per channel with learned weights (:class:`MixtureLogistic`). The
  symbols a rate-weighted codec sends are a sharp peak with long, uneven tails; one logistic prices
  them as a wide bump, so training pays the wrong price for each symbol. A mixture prices the peak
  and the tails apart, nearer what the coder will: on shapes-tiny, going on from the default, about 5 B
  a frame (8%) fewer at equal clean quality, with a little less robustness to loss
  (``semlink/assets/shapes-tiny/CODEC.md``).
"""

from __future__ import annotations

import torch
from torch import nn

from semlink.entropy import CdfTables
from semlink.entropy.tables import quantize

PRIORS = ("logistic", "mixture")
MIXTURE_COMPONENTS = 3
# A mixture made from a logistic: components at its place, of its width times these, equally weighted.
MIXTURE_WIDTHS = (0.25, 1.0, 4.0)


def _bin_mass(values: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """A logistic's mass on the unit bins centred on ``values``."""
    return torch.sigmoid((values + 0.5 - loc) / scale) - torch.sigmoid((values - 0.5 - loc) / scale)


def _centred_symbols(bits: int) -> torch.Tensor:
    n = 1 << bits
    return torch.arange(n, dtype=torch.float64) - n // 2


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
        likelihood = _bin_mass(y, loc, scale).clamp(min=1e-9)
        return -torch.log2(likelihood).sum(dim=(1, 2, 3))

    @torch.no_grad()
    def tables(self, bits: int) -> CdfTables:
        """The wire's integer tables of these densities over ``bits``-bit symbols."""
        return CdfTables.from_logistic(self.loc.detach().double().cpu().numpy(),
                                       self.log_scale.detach().double().cpu().numpy(), bits)


class MixtureLogistic(nn.Module):
    """Per channel, a weighted mixture of ``components`` logistics; ``bits(y)`` is the rate term."""

    def __init__(self, channels: int, components: int = MIXTURE_COMPONENTS):
        super().__init__()
        widths = torch.tensor([MIXTURE_WIDTHS[k % len(MIXTURE_WIDTHS)] for k in range(components)])
        self.loc = nn.Parameter(torch.zeros(channels, components))
        self.log_scale = nn.Parameter(widths.log()[None, :].repeat(channels, 1))
        self.logits = nn.Parameter(torch.zeros(channels, components))

    @classmethod
    def from_logistic(cls, logistic: FactorizedLogistic, components: int = MIXTURE_COMPONENTS) -> "MixtureLogistic":
        """A mixture to go on training from where ``logistic`` was: every component at its place, at its width
        times 1/4, 1 and 4."""
        mixture = cls(logistic.loc.numel(), components).to(logistic.loc.device)
        with torch.no_grad():
            mixture.loc.copy_(logistic.loc[:, None].expand_as(mixture.loc))
            mixture.log_scale.add_(logistic.log_scale[:, None])
        return mixture

    def likelihood(self, y: torch.Tensor) -> torch.Tensor:
        """Each value's probability mass ``(B, c, h, w)`` under its channel's mixture."""
        loc = self.loc[None, :, None, None, :]
        scale = self.log_scale.exp()[None, :, None, None, :]
        weights = torch.softmax(self.logits, dim=-1)[None, :, None, None, :]
        return (_bin_mass(y[..., None], loc, scale) * weights).sum(dim=-1)

    def bits(self, y: torch.Tensor) -> torch.Tensor:
        """``y (B, c, h, w)`` (noisy or rounded) → estimated bits per frame ``(B,)``."""
        return -torch.log2(self.likelihood(y).clamp(min=1e-9)).sum(dim=(1, 2, 3))

    @torch.no_grad()
    def tables(self, bits: int) -> CdfTables:
        """The wire's integer tables of these mixtures over ``bits``-bit symbols (the end symbols take the tails,
        as the latent is clamped to the range before rounding)."""
        values = _centred_symbols(bits)[None, :, None]
        loc, weights = self.loc.detach().double().cpu()[:, None, :], torch.softmax(self.logits.double(), -1).cpu()
        scale = self.log_scale.detach().double().cpu().clamp(-700, 700).exp()[:, None, :]
        upper = torch.sigmoid((values + 0.5 - loc) / scale)
        lower = torch.sigmoid((values - 0.5 - loc) / scale)
        upper[:, -1], lower[:, 0] = 1.0, 0.0
        pmf = ((upper - lower).clamp(min=0.0) * weights[:, None, :]).sum(dim=-1).numpy()  # rows sum to 1
        return CdfTables(quantize(pmf))


def build_prior(kind: str, channels: int) -> nn.Module:
    if kind not in PRIORS:
        raise ValueError(f"prior must be one of {', '.join(PRIORS)}, got {kind!r}")
    return FactorizedLogistic(channels) if kind == "logistic" else MixtureLogistic(channels)

"""Analog (Deep-JSCC-style) transmission of real symbols through AWGN or Rayleigh fading.

Each sample (block) of real symbols is scaled to unit average power, ``z = x / s`` with
``s = sqrt(mean(x ** 2))``, sent, and scaled back by ``s`` at the receiver (``s``
travels as side information, assumed error-free).

SNR convention: ``snr_db`` is Es/N0 per *real* symbol in dB, the average symbol
power over the noise variance per real symbol: with unit-power symbols the noise
is ``N(0, sigma^2)``, ``sigma^2 = 10 ** (-snr_db / 10)``.

Rayleigh: ``y = |h| z + n`` with ``h ~ CN(0, 1)`` (so E|h|^2 = 1 and ``snr_db`` is
the average received SNR), block fading: one ``h`` per block, held for the whole
block. The receiver has perfect CSI and equalises: zero-forcing ``y / |h|``
(default), or MMSE ``|h| y / (|h|^2 + sigma^2)``, which does not amplify noise in deep fades.

Tensor view (torch, differentiable): power is normalised per sample; the fading
block is a sample (``block="sample"``) or, for ``(B, C, H, W)`` latents, a row of
a sample (``block="row"``, as if each row were its own packet). Array view
(numpy): the whole array is one block, for normalisation and fading alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from semlink.channel.lazy_torch import torch

from semlink.channel.checks import check_choice, check_number
from semlink.channel.rows import normal

BLOCKS = ("sample", "row")
EQUALIZERS = ("zf", "mmse")
_TINY = 1e-12


@dataclass(frozen=True)
class AnalogReport:
    """What one analog block went through; powers are per real symbol, in normalised units."""

    symbols: int
    signal_power: float
    gain: float
    noise_power: float

    @property
    def realised_snr_db(self) -> float:
        """Received SNR, ``gain^2 / noise_power`` in dB (``inf`` with no noise)."""
        if self.noise_power == 0:
            return math.inf
        return 10.0 * math.log10(self.gain**2 / self.noise_power) if self.gain > 0 else -math.inf


def _noise_std(snr_db: float) -> float:
    return 10.0 ** (-snr_db / 20.0)


def _power_scale(x: torch.Tensor) -> torch.Tensor:
    """``sqrt(mean(x ** 2))`` per sample, shaped to broadcast against ``x (B, ...)``."""
    dims = tuple(range(1, x.dim()))
    return x.pow(2).mean(dim=dims, keepdim=True).clamp_min(_TINY).sqrt()


def _transmit(x, snr_db, gain, generator, equalizer="zf"):
    """``x (B, ...)`` through ``y = gain * z + n``, equalised and de-normalised; ``gain`` broadcasts."""
    if x.dim() < 2:
        raise ValueError(f"x must have a batch dimension, shape (B, ...), got {tuple(x.shape)}")
    work = x if x.dtype in (torch.float32, torch.float64) else x.float()  # low precision overflows x ** 2
    if isinstance(gain, torch.Tensor):
        gain = gain.to(work.dtype)
    sigma = _noise_std(snr_db)
    scale = _power_scale(work)
    z = work / scale
    noise = normal(tuple(x.shape), generator, x.device).to(work.dtype) * sigma
    y = gain * z + noise
    if equalizer == "zf":
        z_hat = y / gain
    else:
        z_hat = gain * y / (gain**2 + sigma**2)
    return (z_hat * scale).to(x.dtype)


def _transmit_array(x: np.ndarray, snr_db: float, gain: float, rng: np.random.Generator, equalizer="zf"):
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"x must be a float array, got dtype {x.dtype}")
    sigma = _noise_std(snr_db)
    power = float(np.mean(np.square(x, dtype=np.float64))) if x.size else 0.0
    scale = math.sqrt(max(power, _TINY))
    noise = rng.standard_normal(x.shape) * sigma
    y = gain * (x / scale) + noise
    z_hat = y / gain if equalizer == "zf" else gain * y / (gain**2 + sigma**2)
    noise_power = float(np.mean(noise**2)) if x.size else 0.0
    report = AnalogReport(symbols=int(x.size), signal_power=power, gain=gain, noise_power=noise_power)
    return (z_hat * scale).astype(x.dtype, copy=False), report


@dataclass(frozen=True)
class AWGN:
    """Unit-power real symbols plus white Gaussian noise at ``snr_db`` (Es/N0 per real symbol, dB)."""

    snr_db: float

    def __post_init__(self) -> None:
        check_number("snr_db", self.snr_db)

    def transmit(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``x (B, ...)`` → ``x_hat (B, ...)``, power-normalised per sample; differentiable."""
        return _transmit(x, self.snr_db, 1.0, generator)

    def transmit_array(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, AnalogReport]:
        """One block ``x`` (any shape, float) → ``(x_hat, report)``."""
        return _transmit_array(x, self.snr_db, 1.0, rng)


@dataclass(frozen=True)
class Rayleigh:
    """Block Rayleigh fading ``|h|``, E|h|^2 = 1, plus AWGN at average ``snr_db``; perfect-CSI equalisation."""

    snr_db: float
    block: str = "sample"
    equalizer: str = "zf"

    def __post_init__(self) -> None:
        check_number("snr_db", self.snr_db)
        check_choice("block", self.block, BLOCKS)
        check_choice("equalizer", self.equalizer, EQUALIZERS)

    def sample_gain(self, shape: tuple[int, ...], generator=None, device="cpu") -> torch.Tensor:
        """``|h|`` for ``h ~ CN(0, 1)``: Rayleigh with E|h|^2 = 1, of ``shape``."""
        parts = normal((2, *shape), generator, torch.device(device))
        return parts.pow(2).sum(0).div(2).sqrt()

    def transmit(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``x (B, ...)`` (``(B, C, H, W)`` for ``block="row"``) → ``x_hat``, same shape; differentiable."""
        if self.block == "row":
            if x.dim() != 4:
                raise ValueError(f"block='row' needs x of shape (B, C, H, W), got {tuple(x.shape)}")
            shape = (x.shape[0], 1, x.shape[2], 1)
        else:
            shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        gain = self.sample_gain(shape, generator, x.device).clamp_min(_TINY)
        return _transmit(x, self.snr_db, gain, generator, self.equalizer)

    def transmit_array(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, AnalogReport]:
        """One block ``x`` (any shape, float), one fading draw → ``(x_hat, report)``."""
        gain = max(math.sqrt(float(np.sum(rng.standard_normal(2) ** 2)) / 2.0), _TINY)
        return _transmit_array(x, self.snr_db, gain, rng, self.equalizer)

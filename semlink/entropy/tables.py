"""Integer probability tables of a factorised entropy model: what both ends code with, bit for bit.

A learned density is a float computation that may differ in its last bits
between machines; the wire cannot. So the density is discretised once
(:meth:`CdfTables.from_logistic`, float64 numpy, largest-remainder rounding) into
per-channel integer frequencies that sum to exactly ``2**precision``, every symbol
keeping at least 1 (any symbol stays encodable, at most ``precision`` bits). The
tables are stored in the codec checkpoint and named by :meth:`CdfTables.identity`,
which the session carries so two ends with different tables never talk.
"""

from __future__ import annotations

import hashlib

import numpy as np

PRECISION = 16  # 2**16 per table: a symbol costs at most 16 bits; constriction's coders take up to 24


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class CdfTables:
    """Per-channel integer frequencies ``(c, n)`` (``int64``), each row summing to ``2**precision``."""

    def __init__(self, freqs: np.ndarray, precision: int = PRECISION):
        freqs = np.asarray(freqs, dtype=np.int64)
        if freqs.ndim != 2 or freqs.shape[1] < 1:
            raise ValueError(f"tables must be (channels, symbols), got shape {freqs.shape}")
        if (freqs < 1).any() or (freqs.sum(axis=1) != 1 << precision).any():
            raise ValueError(f"every frequency must be >= 1 and every row sum to 2**{precision}")
        self.freqs = freqs
        self.precision = precision
        self._models = None

    @property
    def channels(self) -> int:
        return self.freqs.shape[0]

    @property
    def symbols(self) -> int:
        return self.freqs.shape[1]

    @classmethod
    def from_logistic(cls, loc, log_scale, bits: int, precision: int = PRECISION) -> "CdfTables":
        """Discretise per-channel logistic densities of centred integer symbols in ``[-2**(bits-1), 2**(bits-1))``.

        The two end symbols take the tails (the latent is clamped to the range before
        rounding), so each row is the exact probability of every symbol the coder meets.
        """
        loc = np.asarray(loc, dtype=np.float64).reshape(-1, 1)
        scale = np.exp(np.asarray(log_scale, dtype=np.float64)).reshape(-1, 1)
        n = 1 << bits
        values = np.arange(n, dtype=np.float64)[None, :] - n // 2
        upper = _sigmoid((values + 0.5 - loc) / scale)
        lower = _sigmoid((values - 0.5 - loc) / scale)
        upper[:, -1], lower[:, 0] = 1.0, 0.0
        return cls(quantize(np.clip(upper - lower, 0.0, 1.0), precision), precision)

    def identity(self) -> str:
        """A short digest of the tables, the same on every machine that holds the same integers."""
        digest = hashlib.sha256(self.freqs.astype("<i4").tobytes() + bytes([self.precision]))
        return f"cdf{self.precision}:{digest.hexdigest()[:16]}"

    def to_array(self) -> np.ndarray:
        """The frequencies as ``int32`` ``(c, n)``, for a checkpoint."""
        return self.freqs.astype(np.int32)

    @classmethod
    def from_array(cls, array: np.ndarray, precision: int = PRECISION) -> "CdfTables":
        return cls(np.asarray(array, dtype=np.int64), precision)

    def bits(self, symbols: np.ndarray) -> float:
        """Ideal code length in bits of ``symbols (c, ...)`` uint8 under the tables (channel ``k``, table ``k``)."""
        symbols = np.asarray(symbols).reshape(self.channels, -1).astype(np.int64)
        p = np.take_along_axis(self.freqs, symbols, axis=1) / float(1 << self.precision)
        return float(-np.log2(p).sum())

    def models(self):
        """One constriction ``Categorical`` per channel (built once), from the exact integer tables."""
        if self._models is None:
            import constriction

            scale = float(1 << self.precision)
            self._models = [constriction.stream.model.Categorical(row / scale, perfect=False)
                            for row in self.freqs.astype(np.float64)]
        return self._models


def quantize(pmf: np.ndarray, precision: int = PRECISION) -> np.ndarray:
    """Rows of probabilities → integer frequencies ``>= 1`` summing to ``2**precision`` (largest remainder)."""
    total = 1 << precision
    rows, n = pmf.shape
    if n > total:
        raise ValueError(f"{n} symbols do not fit a table of 2**{precision}")
    pmf = pmf / pmf.sum(axis=1, keepdims=True).clip(min=1e-300)
    spare = total - n  # every symbol gets 1 first
    exact = pmf * spare
    freqs = np.floor(exact).astype(np.int64)
    remainder = exact - freqs
    short = spare - freqs.sum(axis=1)
    order = np.argsort(-remainder, axis=1, kind="stable")
    for r in range(rows):
        freqs[r, order[r, : short[r]]] += 1
    return freqs + 1

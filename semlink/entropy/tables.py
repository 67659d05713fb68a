"""Integer probability tables of a factorised entropy model: what both ends code with, bit for bit.

A learned density is a float computation that may differ in its last bits
between machines; the wire cannot. So the density is discretised once
(:meth:`CdfTables.from_logistic`, float64 numpy, largest-remainder rounding) into
per-channel integer frequencies that sum to exactly ``2**precision``, every symbol
keeping at least 1 (any symbol stays encodable, at most ``precision`` bits). The
tables are stored in the codec checkpoint and named by :meth:`CdfTables.identity`,
which the session carries so two ends with different tables never talk. (Rebuilding
them from the float parameters on each end is *not* safe: ``np.tanh`` may differ by
an ulp between CPUs and flip one rounding.) Tables can also be fitted to the
symbols a trained codec really sends (:meth:`CdfTables.from_counts`): a
histogram has the shape the data has, where a logistic has only a place and a
width, and costs nothing on the wire either.

Precision: constriction's Python coders model at a fixed 24 bits (32-bit words,
64-bit state), and :meth:`CdfTables.models` hands it any table of precision <= 24
*exactly* (no requantisation), so the coder's code lengths are :meth:`CdfTables.bits`.
16 is plenty: the floor of 1 per symbol takes at most ``(n - 1) / 2**16`` of the mass
(< 0.006 bits a symbol on the most peaked 256-symbol channel).
"""

from __future__ import annotations

import hashlib

import constriction
import numpy as np
import torch

PRECISION = 16  # 2**16 per table: a symbol costs at most 16 bits
MAX_PRECISION = 24  # constriction's model precision in its Python coders


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow for any x


def _float64(values, name: str) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor or parameter
        values = values.detach().cpu().double().numpy()
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} has non-finite values; the entropy model diverged, retrain or reload it")
    return array


class CdfTables:
    """Per-channel integer frequencies ``(c, n)`` (``int64``, ``n = 2**bits``), each row summing to ``2**precision``."""

    def __init__(self, freqs: np.ndarray, precision: int = PRECISION):
        freqs = np.asarray(freqs)
        if freqs.ndim != 2 or freqs.shape[0] < 1:
            raise ValueError(f"tables must be (channels, symbols), got shape {freqs.shape}")
        n = freqs.shape[1]
        if n < 2 or n > 256 or n & (n - 1):
            raise ValueError(f"tables need 2**bits symbols with bits in 1..8, got {n}")
        if not n <= 1 << precision or not 1 <= precision <= MAX_PRECISION:
            raise ValueError(f"precision must be in {n.bit_length() - 1}..{MAX_PRECISION} for {n} symbols, "
                             f"got {precision}")
        if not np.issubdtype(freqs.dtype, np.integer):
            raise ValueError(f"frequencies must be integers, got {freqs.dtype}")
        freqs = freqs.astype(np.int64)
        if (freqs < 1).any() or (freqs.sum(axis=1) != 1 << precision).any():
            raise ValueError(f"every frequency must be >= 1 and every row sum to 2**{precision}; "
                             "rebuild the tables with CdfTables.from_logistic")
        freqs.setflags(write=False)
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
        """Discretise per-channel logistic densities (``loc (c,)``, ``log_scale (c,)``) of centred symbols.

        Wire symbol ``q`` in ``[0, 2**bits)`` is the centred value ``q - 2**(bits-1)``. The
        two end symbols take the tails (the latent is clamped to the range before
        rounding), so each row is the exact probability of every symbol the coder meets.
        """
        if not 1 <= bits <= 8:
            raise ValueError(f"bits must be in 1..8, got {bits}")
        loc = _float64(loc, "loc").reshape(-1, 1)
        log_scale = _float64(log_scale, "log_scale").reshape(-1, 1)
        if loc.shape != log_scale.shape:
            raise ValueError(f"loc has {loc.shape[0]} channels but log_scale {log_scale.shape[0]}")
        scale = np.exp(np.clip(log_scale, -700.0, 700.0))  # never 0 or inf, so no 0/0
        n = 1 << bits
        values = np.arange(n, dtype=np.float64)[None, :] - n // 2
        upper = _sigmoid((values + 0.5 - loc) / scale)
        lower = _sigmoid((values - 0.5 - loc) / scale)
        upper[:, -1], lower[:, 0] = 1.0, 0.0
        return cls(quantize(np.clip(upper - lower, 0.0, 1.0), precision), precision)

    @classmethod
    def from_counts(cls, counts, precision: int = PRECISION) -> "CdfTables":
        """Per-channel tables fitted to symbol counts ``(c, n)`` (a histogram of the wire symbols a codec sends).

        The frequencies are the counts' proportions, rounded as :func:`quantize` rounds, so a symbol never
        seen keeps the floor of 1 (it stays codable, at ``precision`` bits). A channel with no counts at all
        gets the uniform table.
        """
        counts = np.asarray(counts, dtype=np.float64)
        if counts.ndim != 2:
            raise ValueError(f"counts must be (channels, symbols), got shape {counts.shape}")
        if not (np.isfinite(counts).all() and (counts >= 0).all()):
            raise ValueError("counts must be finite and >= 0")
        counts = counts + (counts.sum(axis=1, keepdims=True) == 0)  # an empty channel: uniform
        return cls(quantize(counts, precision), precision)

    def identity(self) -> str:
        """A short digest of the tables, the same on every machine that holds the same integers."""
        digest = hashlib.sha256(self.freqs.astype("<i4").tobytes() + bytes([self.precision]))
        return f"cdf{self.precision}:{digest.hexdigest()[:16]}"

    def to_array(self) -> np.ndarray:
        """The frequencies as ``int32`` ``(c, n)``, for a checkpoint buffer (precision not included)."""
        return self.freqs.astype(np.int32)

    @classmethod
    def from_array(cls, array: np.ndarray, precision: int = PRECISION) -> "CdfTables":
        return cls(np.asarray(array, dtype=np.int64), precision)

    def to_tensors(self, prefix: str = "entropy_tables.") -> dict[str, torch.Tensor]:
        """The tables and their precision as ``int32`` tensors for a safetensors checkpoint."""
        return {prefix + "freqs": torch.from_numpy(self.to_array()),
                prefix + "precision": torch.tensor([self.precision], dtype=torch.int32)}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], prefix: str = "entropy_tables.") -> "CdfTables":
        """Inverse of :meth:`to_tensors`, bit-exact."""
        missing = [prefix + k for k in ("freqs", "precision") if prefix + k not in tensors]
        if missing:
            raise ValueError(f"no entropy tables under {missing}; save the codec after building its tables")
        return cls(tensors[prefix + "freqs"].cpu().numpy(), int(tensors[prefix + "precision"].reshape(-1)[0]))

    def check(self, symbols: np.ndarray) -> np.ndarray:
        """``symbols (c, ...)`` as uint8 the tables can code, else a ``ValueError`` saying what is wrong."""
        symbols = np.asarray(symbols)
        if symbols.dtype != np.uint8:
            raise ValueError(f"symbols must be uint8 wire symbols, got {symbols.dtype}")
        if symbols.ndim < 1 or symbols.shape[0] != self.channels:
            raise ValueError(f"symbols must be ({self.channels}, ...), one row per table, got {symbols.shape}")
        if symbols.size and int(symbols.max()) >= self.symbols:
            raise ValueError(f"symbol {int(symbols.max())} is outside the tables' {self.symbols} symbols")
        return symbols

    def bits(self, symbols: np.ndarray) -> float:
        """Ideal code length in bits of ``symbols (c, ...)`` uint8 under the tables (channel ``k``, table ``k``)."""
        symbols = self.check(symbols).reshape(self.channels, -1).astype(np.intp)
        counts = np.take_along_axis(self.freqs, symbols, axis=1).astype(np.float64)
        return float(self.precision * counts.size - np.log2(counts).sum())

    def entropy(self) -> np.ndarray:
        """Expected bits per symbol of each channel under its own table, ``(c,)``."""
        p = self.freqs / float(1 << self.precision)
        return -(p * np.log2(p)).sum(axis=1)

    def models(self) -> list:
        """One constriction ``Categorical`` per channel (built once), equal to the integer tables.

        constriction's fast quantisation gives symbol ``i`` the 24-bit interval starting at
        ``floor(scale * sum_{j<i} p_j) + i`` with ``scale = (2**24 - n) / sum(p)``. Passing
        ``p_j = freq_j * 2**(24 - precision) - 1`` (exact float64 integers) makes ``scale``
        exactly 1, so every interval is exactly ``freq * 2**(24 - precision)``: no rounding
        happens anywhere, so every machine builds the same model.
        """
        if self._models is None:
            step = float(1 << (MAX_PRECISION - self.precision))
            self._models = [constriction.stream.model.Categorical(row * step - 1.0, perfect=False)
                            for row in self.freqs.astype(np.float64)]
        return self._models

    def __eq__(self, other) -> bool:
        return (isinstance(other, CdfTables) and self.precision == other.precision
                and np.array_equal(self.freqs, other.freqs))

    __hash__ = None

    def __repr__(self) -> str:
        return f"CdfTables(channels={self.channels}, symbols={self.symbols}, identity={self.identity()!r})"


def quantize(pmf: np.ndarray, precision: int = PRECISION) -> np.ndarray:
    """Rows of probabilities → integer frequencies ``>= 1`` summing to ``2**precision`` (largest remainder).

    Every symbol gets 1 first; the rest is split by largest remainder, ties to the lower
    symbol, so each row sums exactly and is as close to proportional as integers allow.
    """
    total = 1 << precision
    rows, n = pmf.shape
    if n > total:
        raise ValueError(f"{n} symbols do not fit a table of 2**{precision}")
    pmf = np.asarray(pmf, dtype=np.float64)
    sums = pmf.sum(axis=1, keepdims=True)
    if not (np.isfinite(pmf).all() and (pmf >= 0).all() and (sums > 0).all()):
        raise ValueError("every row must hold finite, non-negative probabilities with a positive sum")
    pmf = pmf / sums
    spare = total - n
    exact = pmf * spare
    freqs = np.floor(exact).astype(np.int64)
    short = spare - freqs.sum(axis=1)  # in [0, n]
    order = np.argsort(-(exact - freqs), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(n), (rows, n)), axis=1)
    return freqs + (rank < short[:, None]) + 1

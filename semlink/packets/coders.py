"""Payload coders: how one packet's block of latent rows becomes bytes and back.

A coder has a ``name`` (carried in the session as ``entropy_coder``),
``encode(block (c, r, w)) -> bytes`` and ``decode(data, shape, dtype) -> block``,
which raises :class:`PayloadError` with a one-word reason for bytes it cannot
decode. ``zstd`` (below) serves every codec; the learned codec brings its own
coder driven by its entropy model (:mod:`semlink.entropy`).
"""

from __future__ import annotations

import math
import threading
from typing import Protocol

import numpy as np
import zstandard


class PayloadError(ValueError):
    """A packet's payload does not decode; ``reason`` says how (``"zstd"``, ``"size"``, ``"ans"``...)."""

    def __init__(self, reason: str, message: str = ""):
        super().__init__(message or reason)
        self.reason = reason


class PayloadCoder(Protocol):
    name: str

    def encode(self, block: np.ndarray) -> bytes: ...

    def decode(self, data: bytes, shape: tuple[int, int, int], dtype: np.dtype) -> np.ndarray: ...


# zstd contexts are reusable but not thread-safe: one set per thread.
_contexts = threading.local()


# zstd's fastest level stores literals instead of Huffman-coding them: for symbols that fill their range it costs
# a copy where level 3 costs a coder pass each way (~0.8 + 0.6 ms for a Florence-2-base frame on a laptop core)
# and saves only a few percent.
FASTEST_LEVEL = -1


class ZstdCoder:
    """The block's little-endian C-order bytes as one zstd frame with its content size.

    ``min_saving`` > 0 lets a frame of uint8 symbols skip the entropy coding that would
    not pay: see :meth:`for_frame`. The decoder is the same either way.
    """

    name = "zstd"

    def __init__(self, level: int = 3, min_saving: float = 0.0):
        self.level = level
        self.min_saving = min_saving

    def for_frame(self, latent: np.ndarray) -> ZstdCoder:
        """The coder for one frame's ``latent (C, H, W)``: this one, or zstd's fastest level when a row of its
        uint8 symbols promises less than ``min_saving`` of the bytes saved.

        The promise is the row's empirical entropy (what any coder of independent
        symbols can reach, and more than zstd's Huffman stage does reach), measured on
        the middle row: every channel, one ``1/H`` of the frame, ~20 µs.
        """
        if self.min_saving <= 0 or latent.dtype != np.uint8 or latent.size == 0:
            return self
        row = latent[:, latent.shape[1] // 2, :]
        counts = np.bincount(row.reshape(-1), minlength=256)
        p = counts[counts > 0] / row.size
        saving = 1 - float(-(p * np.log2(p)).sum()) / 8
        return self if saving >= self.min_saving else ZstdCoder(FASTEST_LEVEL)

    def _compressor(self) -> zstandard.ZstdCompressor:
        cache = _contexts.__dict__.setdefault("compressors", {})
        if self.level not in cache:
            cache[self.level] = zstandard.ZstdCompressor(level=self.level, write_content_size=True)
        return cache[self.level]

    def encode(self, block: np.ndarray) -> bytes:
        wire = block.astype(block.dtype.newbyteorder("<"), copy=False)
        return self._compressor().compress(np.ascontiguousarray(wire))  # zstd reads the array's buffer: no copy

    def decode(self, data: bytes, shape: tuple[int, int, int], dtype: np.dtype) -> np.ndarray:
        wire_dtype = np.dtype(dtype).newbyteorder("<")
        expected = math.prod(shape) * wire_dtype.itemsize
        try:
            # Check the declared size before decoding: zstd sizes its output buffer from
            # the frame header, so a lying header must not get that far.
            if zstandard.frame_content_size(data) != expected:
                raise PayloadError("size", f"zstd frame does not hold {expected} bytes")
            if not hasattr(_contexts, "decompressor"):
                _contexts.decompressor = zstandard.ZstdDecompressor()
            raw = _contexts.decompressor.decompress(data, allow_extra_data=False)
        except zstandard.ZstdError as err:
            raise PayloadError("zstd", str(err)) from err
        if len(raw) != expected:
            raise PayloadError("size", f"decoded {len(raw)} bytes, expected {expected}")
        return np.frombuffer(raw, dtype=wire_dtype).reshape(shape)

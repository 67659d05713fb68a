"""Payload coders: how one packet's block of latent rows becomes bytes and back.

A coder has a ``name`` (carried in the session as ``entropy_coder``),
``encode(block (c, r, w)) -> bytes`` and ``decode(data, shape, dtype) -> block``,
which raises :class:`PayloadError` with a one-word reason for bytes it cannot
decode. ``zstd`` (below) serves every codec; the learned codec brings its own
coder driven by its entropy model (:mod:`semlink.entropy`).
"""

from __future__ import annotations

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


class ZstdCoder:
    """The block's little-endian C-order bytes as one zstd frame with its content size."""

    name = "zstd"

    def __init__(self, level: int = 3):
        self.level = level

    def _compressor(self) -> zstandard.ZstdCompressor:
        cache = _contexts.__dict__.setdefault("compressors", {})
        if self.level not in cache:
            cache[self.level] = zstandard.ZstdCompressor(level=self.level, write_content_size=True)
        return cache[self.level]

    def encode(self, block: np.ndarray) -> bytes:
        wire = block.astype(block.dtype.newbyteorder("<"), copy=False)
        return self._compressor().compress(np.ascontiguousarray(wire).tobytes())

    def decode(self, data: bytes, shape: tuple[int, int, int], dtype: np.dtype) -> np.ndarray:
        wire_dtype = np.dtype(dtype).newbyteorder("<")
        expected = int(np.prod(shape)) * wire_dtype.itemsize
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

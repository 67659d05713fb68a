"""One range-coded stream per packet: a block ``(c, r, w)`` of wire symbols under integer tables, with constriction.

Channel ``k``'s symbols are coded with table ``k``, channels in order, each row-major.
constriction's ``RangeEncoder`` (32-bit words, 64-bit state) ends a stream with a
whole 32-bit word; instead :func:`encode` ends it with the shortest byte string whose
value, padded with zero bits, lies in the coder's final interval (from ``pos()``),
and drops trailing zero bytes. The decoder reads missing words as zeros, so it sees
exactly that point. The words go on the wire big-endian, so the stream is a binary
fraction read most significant bit first.

Measured bytes over the tables' ideal code length (``CdfTables.bits / 8``), 96
symbols from the prior, 2,000 streams: this coder 0.32 mean (the byte
rounding included; max 1.0); constriction's own range-coder ending 2.1; ``AnsCoder`` 2.8
(its first-coded symbol costs up to 24 bits because it starts from an empty state).

A damaged stream almost always still decodes to some block of the right shape
(catching damage is the packet CRC's job: the coder alone refused 0.5% of single-byte
flips and 1% of truncations). What it does give is checked, each raising
:class:`EntropyDecodeError`: a stream never ends in a zero byte, is never longer than
the block could need, and a point constriction cannot decode is refused.
"""

from __future__ import annotations

import constriction
import numpy as np

from semlink.entropy.tables import CdfTables

_WINDOW = 64  # constriction's range-coder state, in bits


class EntropyDecodeError(ValueError):
    """Coded bytes that do not decode to a block under these tables (corrupted, truncated, or other tables)."""


def _terminate(encoder) -> bytes:
    """The shortest bytes (big-endian, trailing zeros dropped) whose value lies in ``encoder``'s interval."""
    words = encoder.get_compressed()
    if len(words) == 0:  # nothing encoded
        return b""
    position, (lower, size) = encoder.pos()  # words before the 64-bit window; the window's [lower, lower+size)
    length = position + _WINDOW // 32
    padded = np.zeros(length, dtype=">u4")
    padded[: min(length, len(words))] = words[:length]
    sealed = int.from_bytes(padded.tobytes(), "big")  # constriction's own point, in the interval
    low = sealed - (sealed - lower) % (1 << _WINDOW)  # the interval's start, carries into the words included
    if not 0 <= sealed - low < min(size, 1 << 32):
        raise RuntimeError(f"constriction {getattr(constriction, '__version__', '')} ended a range-coder stream "
                           "outside the interval its pos() reports; this module was written for constriction "
                           "0.5: pin that version")
    high = low + size - 1
    if low == 0:
        point = 0
    else:  # the interval holds a multiple of 2**b but not of 2**(b+1); round up to whole bytes below that
        zeros = (((low - 1) ^ high).bit_length() - 1) // 8 * 8
        point = -(-low >> zeros) << zeros
    return point.to_bytes(4 * length, "big").rstrip(b"\x00")


def encode(tables: CdfTables, symbols: np.ndarray) -> bytes:
    """``symbols (c, r, w)`` uint8 → the bytes of one range-coded stream."""
    symbols = tables.check(symbols)
    if symbols.ndim != 3:
        raise ValueError(f"symbols must be a block (channels, rows, width), got shape {symbols.shape}")
    flat = symbols.reshape(tables.channels, -1).astype(np.int32)
    encoder = constriction.stream.queue.RangeEncoder()
    if flat.shape[1]:
        for row, model in zip(flat, tables.models()):
            encoder.encode(row, model)
    return _terminate(encoder)


def max_stream_bytes(tables: CdfTables, count: int) -> int:
    """The longest stream :func:`encode` can write for ``count`` symbols a channel.

    A symbol costs at most ``precision`` bits plus the coder's rounding of its range
    (under 1/128 bit: the range keeps >= 2**32 and is cut in steps of 2**24), and the
    ending at most the 64-bit window.
    """
    symbols = tables.channels * count
    return (symbols * (128 * tables.precision + 1) + 1023) // 1024 + _WINDOW // 8 + 1


def decode(tables: CdfTables, data: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    """The bytes of one stream → symbols of ``shape`` ``(c, r, w)`` uint8; raises :class:`EntropyDecodeError`."""
    if len(shape) != 3 or any(int(n) < 0 for n in shape):
        raise EntropyDecodeError(f"shape must be (channels, rows, width), got {tuple(shape)}")
    channels, rows, width = (int(n) for n in shape)
    if channels != tables.channels:
        raise EntropyDecodeError(f"{channels} channels asked of tables for {tables.channels}: other tables?")
    data = bytes(data)
    count = rows * width
    if count == 0:
        if data:
            raise EntropyDecodeError(f"{len(data)} bytes for an empty block")
        return np.zeros(shape, np.uint8)
    if data.endswith(b"\x00"):
        raise EntropyDecodeError("stream ends in a zero byte, which encode() never writes: truncated or corrupted")
    if len(data) > max_stream_bytes(tables, count):
        raise EntropyDecodeError(f"{len(data)} bytes is more than a {shape} block can need: corrupted or other shape")
    words = np.frombuffer(data + b"\x00" * (-len(data) % 4), dtype=">u4").astype(np.uint32)
    out = np.empty((channels, count), dtype=np.uint8)
    try:
        decoder = constriction.stream.queue.RangeDecoder(words)
        for k, model in enumerate(tables.models()):
            out[k] = decoder.decode(model, count)
    except BaseException as err:  # constriction raises ValueError for invalid data; a Rust panic is a BaseException
        if not isinstance(err, Exception) and type(err).__name__ != "PanicException":
            raise
        raise EntropyDecodeError(f"range-coded stream does not decode: {err}") from err
    return out.reshape(shape)

"""One ANS stream per packet: a block ``(c, r, w)`` of 8-bit symbols under integer tables, with constriction.

Channel ``k``'s symbols are coded with table ``k``. constriction's ``AnsCoder``
(stack, 32-bit words, 64-bit state) writes whole words; the last word is the
state's high half and never zero, so its trailing zero bytes are dropped on the
wire and restored before decoding (1.5 bytes a stream on average). Measured on
shapes-tiny's default codec: a stream costs about 4 bytes over the tables' ideal
code length. Decoding checks what ANS gives for free: after the last symbol the
coder must be back at its initial state, with nothing left over; anything else
(a corrupted or truncated stream) raises :class:`EntropyDecodeError`.
"""

from __future__ import annotations

import numpy as np

from semlink.entropy.tables import CdfTables


class EntropyDecodeError(ValueError):
    """Coded bytes that do not decode to a block under these tables (corrupted, truncated, or other tables)."""


def encode(tables: CdfTables, symbols: np.ndarray) -> bytes:
    """``symbols (c, r, w)`` uint8 → the bytes of one ANS stream."""
    import constriction

    symbols = np.asarray(symbols)
    if symbols.ndim != 3 or symbols.shape[0] != tables.channels:
        raise ValueError(f"symbols must be ({tables.channels}, rows, width), got {symbols.shape}")
    if symbols.size and int(symbols.max()) >= tables.symbols:
        raise ValueError(f"symbol {int(symbols.max())} is outside the tables' {tables.symbols} symbols")
    coder = constriction.stream.stack.AnsCoder()
    models = tables.models()
    flat = symbols.reshape(tables.channels, -1).astype(np.int32)
    for k in reversed(range(tables.channels)):  # a stack: the last encoded is the first decoded
        coder.encode_reverse(flat[k], models[k])
    return coder.get_compressed().astype("<u4").tobytes().rstrip(b"\x00")


def decode(tables: CdfTables, data: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    """The bytes of one ANS stream → symbols of ``shape`` ``(c, r, w)`` uint8; raises :class:`EntropyDecodeError`."""
    import constriction

    channels, rows, width = shape
    if channels != tables.channels:
        raise EntropyDecodeError(f"{channels} channels asked of tables for {tables.channels}")
    count = rows * width
    if count == 0:
        if data:
            raise EntropyDecodeError(f"{len(data)} bytes for an empty block")
        return np.zeros(shape, np.uint8)
    if not data or data[-1] == 0:
        raise EntropyDecodeError("an ANS stream never ends in a zero byte, nor is empty")
    padded = bytes(data) + b"\x00" * (-len(data) % 4)
    words = np.frombuffer(padded, dtype="<u4").astype(np.uint32)
    try:
        coder = constriction.stream.stack.AnsCoder(words)
        models = tables.models()
        out = np.stack([np.asarray(coder.decode(models[k], count)) for k in range(channels)])
        clean = coder.is_empty()
    except Exception as err:  # constriction raises several types for data it cannot take
        raise EntropyDecodeError(f"ANS stream does not decode: {err}") from err
    if not clean:
        raise EntropyDecodeError("ANS stream has bits left over after the last symbol: corrupted or other tables")
    return out.astype(np.uint8).reshape(shape)

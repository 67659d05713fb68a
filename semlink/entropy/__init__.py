"""Entropy coding with a learned prior: integer tables both ends share, and one range-coded stream per packet."""

from semlink.entropy.coder import EntropyDecodeError, decode, encode, max_stream_bytes
from semlink.entropy.tables import PRECISION, CdfTables, quantize

__all__ = ["PRECISION", "CdfTables", "EntropyDecodeError", "decode", "encode", "max_stream_bytes", "quantize"]

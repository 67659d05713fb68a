"""Errors raised when received bytes do not describe a frame semlink can decode."""

from __future__ import annotations


class MalformedFrame(ValueError):
    """A frame (header, packets or serialized bytes) is inconsistent or unreadable.

    Raised for structural problems only; a packet whose payload fails its CRC or
    does not decode is not malformed, it is a lost slice (see ``depacketize``).
    """


class UnknownCodec(MalformedFrame):
    """A frame names a codec this end does not have."""

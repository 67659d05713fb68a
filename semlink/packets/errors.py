"""Errors raised when received bytes do not describe a frame semlink can decode."""

from __future__ import annotations


class MalformedFrame(ValueError):
    """A frame (header, packets or serialized bytes) is inconsistent or unreadable.

    Raised for structural problems only; a packet whose payload fails its CRC or
    does not decode is not malformed, it is a lost slice (see ``depacketize``).
    """


class SessionRefused(Exception):
    """A receiver refused a stream's session; ``reason`` is its word for why, ``detail`` what to do."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"session refused ({reason}): {detail}")
        self.reason, self.detail = reason, detail


class UnknownCodec(MalformedFrame):
    """A frame names a codec this end does not have."""

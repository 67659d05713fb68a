"""Fixtures for the channel tests: frames of random CRC32-protected packets and a few statistics helpers."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import pytest

from semlink.packets import CorruptDatagram, decode_datagram, encode_datagram


@dataclass(frozen=True)
class CheckedPacket:
    """What the loss and bit-error stages see: a ``payload`` (here with its CRC32 kept apart)."""

    index: int
    payload: bytes
    crc32: int


@dataclass(frozen=True)
class TestFrame:
    packets: tuple[CheckedPacket, ...]

    def datagrams(self, seq: int = 0) -> list[bytes]:
        """The packets as the channel carries them: header, payload and CRC-32 in one datagram each."""
        return [encode_datagram(seq, p.index, p.payload, "crc32") for p in self.packets]


def make_frame(payload_sizes: list[int], rng: np.random.Generator, frame_id: int = 0) -> TestFrame:
    """A frame whose packet ``i`` carries ``payload_sizes[i]`` random bytes, with a true CRC32."""
    packets = []
    for index, size in enumerate(payload_sizes):
        payload = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        packets.append(CheckedPacket(index, payload, zlib.crc32(payload)))
    return TestFrame(tuple(packets))


def crc_ok(packet: CheckedPacket | bytes) -> bool:
    """A packet's payload still matches its CRC32; a datagram still passes its check."""
    if isinstance(packet, bytes):
        try:
            decode_datagram(packet, "crc32")
        except CorruptDatagram:
            return False
        return True
    return zlib.crc32(packet.payload) == packet.crc32


def binomial_tolerance(p: float, n: int, sigmas: float = 5.0) -> float:
    """``sigmas`` standard deviations of the mean of ``n`` Bernoulli(p) draws."""
    return sigmas * math.sqrt(max(p * (1 - p), 1e-12) / n)


def burst_lengths(lost: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True in a 1-D bool array."""
    padded = np.concatenate([[False], lost.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return edges[1::2] - edges[::2]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


# The helpers as fixtures, so tests need no import path to this directory.
@pytest.fixture(name="make_frame")
def make_frame_fixture():
    return make_frame


@pytest.fixture(name="crc_ok")
def crc_ok_fixture():
    return crc_ok


@pytest.fixture(name="binomial_tolerance")
def binomial_tolerance_fixture():
    return binomial_tolerance


@pytest.fixture(name="burst_lengths")
def burst_lengths_fixture():
    return burst_lengths

"""Fixtures for the channel tests: frames of random CRC32-protected packets and a few statistics helpers."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from semlink.packets import Frame, FrameHeader, Packet


def make_frame(payload_sizes: list[int], rng: np.random.Generator, frame_id: int = 0) -> Frame:
    """A frame whose packet ``i`` carries row ``i`` as ``payload_sizes[i]`` random bytes, with a true CRC32."""
    packets = []
    for index, size in enumerate(payload_sizes):
        payload = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        packets.append(Packet(frame_id, index, index, index + 1, payload, zlib.crc32(payload)))
    height = len(payload_sizes)
    header = FrameHeader(
        frame_id=frame_id,
        codec="q8",
        fingerprint="test",
        shape=(4, height, 4),
        dtype="uint8",
        packet_count=height,
        rows_per_packet=1,
        feature_shape=(4, height, 4),
    )
    return Frame(header, tuple(packets))


def crc_ok(packet: Packet) -> bool:
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

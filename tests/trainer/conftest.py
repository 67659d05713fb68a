"""Trainer test fixtures: one intra-op thread per test module, and the session's tiny-random model."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models on a shared CPU: one intra-op thread is ~30x faster than two busy-waiting ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def bundle(tiny):
    """The session's tiny-random Florence-2 (tests/conftest.py)."""
    return tiny

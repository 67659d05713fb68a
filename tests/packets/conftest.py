"""Fixtures for the packet tests: a seeded generator and small latents of the real shapes' kind."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)

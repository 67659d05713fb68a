"""Shared fixtures: a seed, the tiny-random Florence-2, and built-in sample images."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def tiny():
    from semlink.florence import load_florence

    return load_florence("tiny-random")


@pytest.fixture(scope="session")
def images():
    from semlink.samples import sample_images

    return sample_images(2)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)

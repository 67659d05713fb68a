"""Fixtures: the contract tests' apps served on loopback (and ready) before their tests, stopped at the end."""

from __future__ import annotations

import pytest
import torch

from contract_apps import CHANNEL, RECEIVER, TRANSMITTER, served


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    torch.set_num_threads(1)  # the test machines are small and shared


@pytest.fixture(scope="session")
def receiver_url():
    receiver = RECEIVER.state.receiver
    with served(RECEIVER, lambda: receiver.ready) as url:
        yield url


@pytest.fixture(scope="session")
def transmitter_url():
    with served(TRANSMITTER, lambda: TRANSMITTER.state.transmitter.ready) as url:
        yield url


@pytest.fixture(scope="session")
def channel_url():
    with served(CHANNEL, lambda: True) as url:
        yield url

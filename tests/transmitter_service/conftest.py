"""Fixtures for the transmitter: image bytes and a transmitter app running in the test's event loop."""

from __future__ import annotations

import asyncio
import io
import random
from contextlib import asynccontextmanager

import httpx
import pytest
from PIL import Image

from tests.helpers.link import serving
from transmitter_service.main import create_app
from transmitter_service.settings import TransmitterSettings

TINY = {"model": "tiny-random", "codec": "q8", "device": "cpu", "dtype": "float32"}


def image_bytes(size=(64, 48), color=(200, 30, 30), fmt="PNG") -> bytes:
    """An encoded image; ``color=None`` gives random noise (which compresses badly: a large file)."""
    if color is None:
        image = Image.frombytes("RGB", size, random.Random(0).randbytes(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, color)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(name="image_bytes")
def image_bytes_fixture():
    return image_bytes


@asynccontextmanager
async def running_transmitter(ready_timeout_s: float = 30.0, **settings):
    """A transmitter (tiny-random, q8, CPU) serving REST on loopback; yields an httpx client once ready."""
    app = create_app(TransmitterSettings(**{**TINY, **settings}))
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ready_timeout_s
        while (await client.get("/health/ready")).status_code != 200:
            transmitter = app.state.transmitter
            if transmitter.load_error or loop.time() > deadline:
                raise RuntimeError(f"transmitter not ready: {transmitter.not_ready_reason()}")
            await asyncio.sleep(0.05)
        yield client


@pytest.fixture(name="running_transmitter")
def running_transmitter_fixture():
    return running_transmitter

"""Fixtures for the attack tests: real services on loopback in this process, frames made with the real codec,
and the process's peak memory."""

from __future__ import annotations

import asyncio
import re
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import torch

from receiver_service.main import create_app as receiver_app
from receiver_service.settings import ReceiverSettings
from semlink.florence import VisionHalf
from tests.helpers.link import serving
from semlink.packets import IMAGE_SIZE_KEY
from semlink.runtime import load_codec_for, load_model
from semlink.samples import sample_images
from semlink.link import FrameSender
from semlink.packets import Frame
from transmitter_service.main import create_app as transmitter_app
from transmitter_service.settings import TransmitterSettings

MODEL, CODEC = "tiny-random", "q8"


@pytest.fixture(scope="session")
def bundle():
    torch.set_num_threads(1)  # the test machines are small and shared
    return load_model(MODEL, "cpu")


SESSION_ID = 13


@pytest.fixture(scope="session")
def frame_message(bundle):
    """``frame_message(seq)``: frame ``seq`` of a sample image in session :data:`SESSION_ID`, coded as a
    transmitter codes it (its ``frame_id`` is what REST asks for)."""
    codec = load_codec_for(bundle, CODEC)
    image = sample_images(1)[0]
    features = VisionHalf(bundle).encode([image])
    session = codec.session(SESSION_ID, image.size)

    def make(seq: int) -> Frame:
        frame = codec.compress(features, [session.frame_id(seq)])[0]
        meta = {IMAGE_SIZE_KEY: "{},{}".format(*image.size)}
        return replace(frame, header=replace(frame.header, meta=meta))

    make.session = session
    return make


class FrameLink:
    """Sends frames of a session to a receiver over a real stream; ``await Send(frame)`` returns its outcome."""

    def __init__(self, target: str, codec):
        self.target = target
        self.codec = codec

    async def Send(self, frame: Frame, timeout: float = 10):  # noqa: N802 (named like the gRPC call it replaced)
        session = self.codec.session(frame.header.frame_id >> 32, (0, 0))
        async with FrameSender(self.target, session=session) as sender:
            delivery = await sender.submit(frame)
            return await asyncio.wait_for(delivery.outcome, timeout)


@asynccontextmanager
async def running_receiver(bundle, **overrides):
    """A receiver (REST + gRPC on loopback) in this event loop; yields (http client, app, FeatureLink stub)."""
    defaults = dict(model=MODEL, codec=CODEC, device="cpu", host="127.0.0.1", grpc_port=0, grace_s=1)
    app = receiver_app(ReceiverSettings(**(defaults | overrides)), bundle=bundle)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=20) as client:
        receiver = app.state.receiver
        for _ in range(1500):
            if receiver.ready or receiver.failed:
                break
            await asyncio.sleep(0.01)
        assert receiver.ready, receiver.failed or "the receiver did not start within 15 s"
        yield client, app, FrameLink(f"127.0.0.1:{receiver.grpc_port}", receiver.codec)


@pytest.fixture(name="running_receiver")
def running_receiver_fixture(bundle):
    return lambda **overrides: running_receiver(bundle, **overrides)


@asynccontextmanager
async def running_transmitter(**settings):
    """A transmitter (tiny-random, q8, CPU) serving REST on loopback in this event loop; yields an httpx client."""
    app = transmitter_app(TransmitterSettings(model=MODEL, codec=CODEC, device="cpu", dtype="float32", **settings))
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=20) as client:
        for _ in range(3000):
            if (await client.get("/health/ready")).status_code == 200 or app.state.transmitter.load_error:
                break
            await asyncio.sleep(0.01)
        assert app.state.transmitter.ready, app.state.transmitter.not_ready_reason()
        yield client


@pytest.fixture(name="running_transmitter")
def running_transmitter_fixture():
    return running_transmitter


def _status_kb(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(match.group(1))


class PeakMemory:
    """This process's resident memory: ``reset()`` the peak, then ``growth_mb`` is the peak since, over the start."""

    def reset(self) -> None:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        self.start_kb = _status_kb("VmRSS")

    @property
    def growth_mb(self) -> float:
        return (_status_kb("VmHWM") - self.start_kb) / 1024


@pytest.fixture
def peak_memory():
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux /proc to measure peak memory")
    return PeakMemory()

"""Fixtures for the attack tests: real services on loopback in this process, frames made with the real codec,
and the process's peak memory."""

from __future__ import annotations

import asyncio
import re
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import grpc
import httpx
import pytest
import torch

from receiver_service.main import create_app as receiver_app
from receiver_service.settings import ReceiverSettings
from semlink.florence import VisionHalf
from semlink.link.testing import serving
from semlink.receiver import IMAGE_SIZE_KEY
from semlink.runtime import load_codec_for, load_model
from semlink.samples import sample_images
from semlink.v1 import semlink_pb2_grpc as pb_grpc
from semlink.wire import frame_to_message
from transmitter_service.main import create_app as transmitter_app
from transmitter_service.settings import TransmitterSettings

MODEL, CODEC = "tiny-random", "q8"


@pytest.fixture(scope="session")
def bundle():
    torch.set_num_threads(1)  # the test machines are small and shared
    return load_model(MODEL, "cpu")


@pytest.fixture(scope="session")
def frame_message(bundle):
    """``frame_message(frame_id)``: a FrameMessage of a sample image, coded as a transmitter codes it."""
    codec = load_codec_for(bundle, CODEC)
    image = sample_images(1)[0]
    features = VisionHalf(bundle).encode([image])

    def make(frame_id: int):
        frame = codec.compress(features, [frame_id])[0]
        meta = {IMAGE_SIZE_KEY: "{},{}".format(*image.size)}
        return frame_to_message(replace(frame, header=replace(frame.header, meta=meta)))

    return make


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
        async with grpc.aio.insecure_channel(f"127.0.0.1:{receiver.grpc_port}") as channel:
            yield client, app, pb_grpc.FeatureLinkStub(channel)


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

"""Fixtures: one tiny-random Florence-2 shared by every test, frames made with the real codec, and real
receivers (uvicorn + grpc.aio on loopback, in a background thread) started with chosen settings."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import grpc
import httpx
import pytest
import torch
import uvicorn

from receiver_service.main import create_app
from receiver_service.settings import ReceiverSettings
from semlink.florence import VisionHalf
from semlink.packets import Frame
from semlink.packets import IMAGE_SIZE_KEY
from semlink.runtime import load_codec_for, load_model
from semlink.samples import sample_images
from semlink.bench.stream_client import StreamClient
from semlink.packets import Session, frame_id_of, split_frame_id

MODEL, CODEC = "tiny-random", "q8"
STARTUP_TIMEOUT_S = 15


@pytest.fixture(scope="session")
def bundle():
    torch.set_num_threads(1)  # the test machines are small and shared: one thread is faster and steadier
    return load_model(MODEL, "cpu")


@pytest.fixture(scope="session")
def codec(bundle):
    return load_codec_for(bundle, CODEC)


IMAGE_SIZE = (256, 192)  # not the model's square input size: checks meta["image_size"] reaches <OD>'s boxes


@pytest.fixture(scope="session")
def images():
    return [image.resize(IMAGE_SIZE) for image in sample_images(4)]


@pytest.fixture(scope="session")
def features(bundle, images):
    """Vision features ``(4, C, H, W)`` of the sample images (what a transmitter computes)."""
    return VisionHalf(bundle).encode(images)


SESSION_ID = 11


@pytest.fixture(name="fid", scope="session")
def fid_fixture():
    """``fid(seq)``: the frame id of ``make_frame(seq)``."""
    return lambda seq: frame_id_of(SESSION_ID, seq)


class FrameFactory:
    """Frames of the sample images, coded by the real codec, with ``meta["image_size"]`` as a transmitter sets it.

    ``make_frame(seq)`` is frame ``seq`` of ``session`` (the codec's session :data:`SESSION_ID` by default).
    """

    def __init__(self, codec, features):
        self.codec = codec
        self.features = features
        self.session = codec.session(SESSION_ID, IMAGE_SIZE)

    def __call__(self, seq: int, image: int = 0, session: Session | None = None) -> Frame:
        session = session or self.session
        frame = self.codec.compress(self.features[image:image + 1], [session.frame_id(seq)])[0]
        meta = {IMAGE_SIZE_KEY: f"{IMAGE_SIZE[0]},{IMAGE_SIZE[1]}"}
        return replace(frame, header=replace(frame.header, meta=meta))


@pytest.fixture(scope="session")
def make_frame(codec, features) -> FrameFactory:
    return FrameFactory(codec, features)


class RunningReceiver:
    """A receiver serving on loopback: ``http`` (an httpx client), ``stub`` (a FeatureLink client)."""

    def __init__(self, app, server: uvicorn.Server, thread: threading.Thread, http_port: int):
        self.app = app
        self.server = server
        self.thread = thread
        self.base_url = f"http://127.0.0.1:{http_port}"
        self.http = httpx.Client(base_url=self.base_url, timeout=20)
        self.grpc_target = f"127.0.0.1:{self.receiver.grpc_port}"
        self.channel = grpc.insecure_channel(self.grpc_target)

    @property
    def receiver(self):
        return self.app.state.receiver

    def open(self, session: Session, **kw) -> StreamClient:
        """A stream of ``session`` to this receiver (close it, or use it in ``with``)."""
        return StreamClient(self.channel, session, **kw)

    def send(self, frame: Frame, session: Session | None = None, timeout: float = 10):
        """``frame`` alone on a stream of ``session`` (default: its codec's session of the frame's id); its ack."""
        session = session or self.receiver.codec.session(split_frame_id(frame.header.frame_id)[0], IMAGE_SIZE)
        with self.open(session) as link:
            assert link.opened().accepted, link.session_reply
            link.send(frame)
            return link.ack(frame.header.frame_id, timeout)

    def ask(self, frame_id: int, task: str = "<CAPTION>", **body) -> httpx.Response:
        return self.http.post(f"/v1/frames/{frame_id}/tasks", json={"task": task, **body})

    def metric(self, name: str, **labels) -> float:
        value = self.receiver.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value

    def close(self) -> None:
        self.channel.close()
        self.http.close()
        self.server.should_exit = True
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "the receiver did not stop within 15 s"


@contextmanager
def running_receiver(bundle, **overrides) -> Iterator[RunningReceiver]:
    """Start a receiver with ``overrides`` on free loopback ports; stop it (gracefully) afterwards."""
    defaults = dict(model=MODEL, codec=CODEC, device="cpu", host="127.0.0.1", grpc_port=0, grace_s=1)
    settings = ReceiverSettings(**(defaults | overrides))
    app = create_app(settings, bundle=bundle)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    http_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    receiver = app.state.receiver
    while not (server.started and (receiver.ready or receiver.failed)):
        assert time.monotonic() < deadline, "the receiver did not start within 15 s"
        assert thread.is_alive(), "the receiver's server thread died"
        time.sleep(0.02)
    running = RunningReceiver(app, server, thread, http_port)
    try:
        yield running
    finally:
        running.close()
        sock.close()


@pytest.fixture
def start_receiver(bundle):
    """``with start_receiver(store_size=2) as rx:`` — a receiver of its own, with these settings."""
    return lambda **overrides: running_receiver(bundle, **overrides)


@pytest.fixture(scope="module")
def rx(bundle) -> Iterator[RunningReceiver]:
    """A receiver with default-ish settings, shared by a module's tests."""
    with running_receiver(bundle, frame_deadline_ms=100) as running:
        yield running

"""Test doubles for the link: a recording FeatureLink server, synthetic frames, a free port, an app in the loop."""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess
import threading
import time
import zlib
from contextlib import asynccontextmanager
from pathlib import Path

import grpc

from semlink.packets import Frame, FrameHeader, MalformedFrame, Packet
from semlink.v1 import semlink_pb2 as pb
from semlink.v1 import semlink_pb2_grpc as pb_grpc
from semlink.wire import message_to_frame


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bind to port 0 and let the kernel choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def make_frame(frame_id: int, packets: int = 4, payload_bytes: int = 32, seed: int = 0) -> Frame:
    """A valid ``q8``-style frame of ``packets`` one-row packets of random bytes with true CRC32s."""
    rng = random.Random(seed * 1_000_003 + frame_id)
    parts = []
    for index in range(packets):
        payload = rng.randbytes(payload_bytes)
        parts.append(Packet(frame_id, index, index, index + 1, payload, zlib.crc32(payload)))
    header = FrameHeader(
        frame_id=frame_id, codec="q8", fingerprint="test", shape=(4, packets, 4), dtype="uint8",
        packet_count=packets, rows_per_packet=1, feature_shape=(4, packets, 4),
    )
    return Frame(header, tuple(parts))


def ack_for(message: pb.FrameMessage) -> pb.Ack:
    """The test receivers' ack: ``ok`` complete, ``partial`` with packets missing, ``rejected`` if malformed."""
    try:
        frame = message_to_frame(message)
    except MalformedFrame as err:
        return pb.Ack(frame_id=message.header.frame_id, status="rejected", detail=str(err))
    lost = frame.lost_indices()
    if lost:
        return pb.Ack(frame_id=frame.header.frame_id, status="partial",
                      detail=f"{len(lost)} of {frame.header.packet_count} packets lost")
    return pb.Ack(frame_id=frame.header.frame_id, status="ok")


class RecordingReceiver(pb_grpc.FeatureLinkServicer):
    """A minimal FeatureLink server: checks each message with ``semlink.wire``, records the frame, acks it.

    Acks ``ok`` for a complete frame, ``partial`` when packets are missing, ``rejected``
    for a malformed one. ``ack=False`` records without acking (frames then wait in the
    sender until the stream dies or the ack timeout passes).
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1", ack: bool = True):
        self.host = host
        self.port = port
        self.ack = ack
        self.frames: list[Frame] = []
        self.streams = 0
        self._server: grpc.aio.Server | None = None
        self._arrived = asyncio.Event()

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> RecordingReceiver:
        self._server = grpc.aio.server()
        pb_grpc.add_FeatureLinkServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port(f"{self.host}:{self.port}")
        await self._server.start()
        return self

    async def stop(self, grace: float | None = None) -> None:
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Frame]:
        """Wait until ``count`` frames have arrived; returns them all (raises TimeoutError)."""
        async def arrived():
            while len(self.frames) < count:
                self._arrived.clear()
                await self._arrived.wait()
        await asyncio.wait_for(arrived(), timeout)
        return self.frames

    def _receive(self, message: pb.FrameMessage) -> pb.Ack:
        ack = ack_for(message)
        if ack.status != "rejected":
            self.frames.append(message_to_frame(message))
            self._arrived.set()
        return ack

    async def Stream(self, request_iterator, context):
        self.streams += 1
        async for message in request_iterator:
            ack = self._receive(message)
            if self.ack:
                yield ack

    async def Send(self, request, context):
        return self._receive(request)


@asynccontextmanager
async def serving(app, port: int = 0, host: str = "127.0.0.1", startup_timeout_s: float = 15.0):
    """Run an ASGI ``app`` under uvicorn in the current event loop; yields its base URL.

    The app's lifespan runs (so its gRPC server or sender starts in this loop);
    leaving the block shuts it down.
    """
    import uvicorn

    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", loop="asyncio",
                                           lifespan="on"))
    task = asyncio.create_task(server.serve())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + startup_timeout_s
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn exited during startup")
        if loop.time() > deadline:
            server.should_exit = True
            raise TimeoutError(f"app did not start on {host}:{port} within {startup_timeout_s} s")
        await asyncio.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


class ThreadedReceiver(pb_grpc.FeatureLinkServicer):
    """:class:`RecordingReceiver`'s twin on grpc's synchronous server (its own threads, no event loop), for
    tests that start processes and must keep a receiver up across their own event loops."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", ack: bool = True):
        self.host = host
        self.port = port
        self.ack = ack
        self.frames: list[Frame] = []
        self._cond = threading.Condition()
        self._server: grpc.Server | None = None

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> ThreadedReceiver:
        from concurrent.futures import ThreadPoolExecutor

        self._server = grpc.server(ThreadPoolExecutor(max_workers=8))
        pb_grpc.add_FeatureLinkServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port(f"{self.host}:{self.port}")
        self._server.start()
        return self

    def stop(self, grace: float | None = None) -> None:
        if self._server is not None:
            self._server.stop(grace).wait()
            self._server = None

    def clear(self) -> None:
        with self._cond:
            self.frames.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Frame]:
        """Wait until ``count`` frames have arrived; returns a copy of them all (raises TimeoutError)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.frames) >= count, timeout):
                raise TimeoutError(f"{len(self.frames)} of {count} frames arrived within {timeout} s")
            return list(self.frames)

    def _receive(self, message: pb.FrameMessage) -> pb.Ack:
        ack = ack_for(message)
        if ack.status != "rejected":
            with self._cond:
                self.frames.append(message_to_frame(message))
                self._cond.notify_all()
        return ack

    def Stream(self, request_iterator, context):
        for message in request_iterator:
            ack = self._receive(message)
            if self.ack:
                yield ack

    def Send(self, request, context):
        return self._receive(request)


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    """Poll ``url``/health/ready until 200; raise with the end of ``log`` if ``proc`` exits or time runs out."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready within {timeout} s:\n{log.read_text()[-3000:]}")

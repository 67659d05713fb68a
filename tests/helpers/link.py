"""Test doubles for the link: a recording FeatureLink server, synthetic frames, an app in the loop (ports come
from :mod:`semlink.launch.ports`, readiness from :class:`semlink.launch.process.ServiceProcess`)."""

from __future__ import annotations

import asyncio
import random
import threading
from contextlib import asynccontextmanager

import grpc

from semlink.launch.ports import free_port
from semlink.link.grpc_server import LinkServer, threaded_link_server
from semlink.packets import Frame, MalformedFrame, Packet, Session
from semlink.security.tls import ServerTls
from semlink.v2 import semlink_pb2 as pb
from semlink.v2 import semlink_pb2_grpc as pb_grpc
from semlink.wire import message_to_session, parse_packets

TEST_SESSION_ID = 7


def make_session(packets: int = 4, session_id: int = TEST_SESSION_ID, payload_bytes: int = 256) -> Session:
    """A session of ``packets`` one-row packets per frame, rows of ``payload_bytes`` uint8 symbols (no side info)."""
    return Session(session_id=session_id, codec="q8", codec_config="{}", fingerprint="test",
                   feature_shape=(1, packets, payload_bytes), shape=(1, packets, payload_bytes), dtype="uint8",
                   rows_per_packet=1)


def make_frame(seq: int, packets: int = 4, payload_bytes: int = 32, seed: int = 0,
               session: Session | None = None) -> Frame:
    """Frame ``seq`` of ``session`` (default :func:`make_session`): ``packets`` packets of random bytes."""
    session = session or make_session(packets)
    rng = random.Random(seed * 1_000_003 + seq)
    frame_id = session.frame_id(seq)
    parts = tuple(Packet(frame_id, index, index, index + 1, rng.randbytes(payload_bytes))
                  for index in range(session.packet_count))
    return Frame(session.header(frame_id), parts)


class _Stream:
    """One stream of a test receiver: its session and highest sequence number."""

    def __init__(self, session: Session):
        self.session = session
        self.highest: int | None = None
        self.seen: set[int] = set()

    def unseen_up_to(self, last_frame_id: int) -> list[pb.Ack]:
        """``lost`` acks for the frames up to ``last_frame_id`` of which nothing arrived (a sender's report)."""
        last = last_frame_id & 0xFFFFFFFF
        first = min(self.seen, default=0)
        acks = [pb.Ack(frame_id=self.session.frame_id(seq), status="lost", detail="no packet arrived")
                for seq in range(first, last + 1) if seq not in self.seen]
        self.seen.update(range(first, last + 1))
        return acks

    def take(self, datagrams) -> tuple[list[Frame], list[pb.Ack]]:
        """The test receivers' acks: ``ok`` complete, ``partial`` with packets missing, ``rejected`` if malformed."""
        try:
            parsed = parse_packets(datagrams, self.session, self.highest)
        except MalformedFrame as err:
            return [], [pb.Ack(frame_id=0, status="rejected", detail=str(err))]
        self.highest = parsed.highest_seq
        acks = []
        for frame in parsed.frames:
            self.seen.add(frame.header.frame_id & 0xFFFFFFFF)
            lost = frame.lost_indices()
            acks.append(pb.Ack(frame_id=frame.header.frame_id, status="partial",
                               detail=f"{len(lost)} of {frame.total_packets} packets lost") if lost
                        else pb.Ack(frame_id=frame.header.frame_id, status="ok"))
        return list(parsed.frames), acks


def _open(message: pb.Uplink, refuse: str | None) -> tuple[_Stream | None, pb.Downlink]:
    sid = message.session.session_id
    if refuse:
        return None, pb.Downlink(session=pb.SessionReply(session_id=sid, accepted=False, reason=refuse,
                                                         detail="refused by the test receiver"))
    try:
        session = message_to_session(message.session)
    except MalformedFrame as err:
        return None, pb.Downlink(session=pb.SessionReply(session_id=sid, accepted=False, reason="malformed",
                                                         detail=str(err)))
    return _Stream(session), pb.Downlink(session=pb.SessionReply(session_id=sid, accepted=True))


class RecordingReceiver(pb_grpc.FeatureLinkServicer):
    """A minimal FeatureLink server: checks each message with ``semlink.wire``, records the frame, acks it.

    Acks ``ok`` for a complete frame, ``partial`` when packets are missing, ``rejected``
    for a malformed one. ``ack=False`` records without acking (frames then wait in the
    sender until the stream dies or the ack timeout passes).
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1", ack: bool = True, refuse: str | None = None,
                 tls: ServerTls | None = None, token: str = ""):
        self.host = host
        self.port = port
        self.ack = ack
        self.refuse = refuse
        self.tls = tls
        self.token = token
        self.frames: list[Frame] = []
        self.streams = 0
        self.sessions: list[Session] = []
        self.reports: list[int] = []
        self._server: LinkServer | None = None
        self._arrived = asyncio.Event()

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> RecordingReceiver:
        self._server = LinkServer(tls=self.tls, token=self.token)
        pb_grpc.add_FeatureLinkServicer_to_server(self, self._server.server)
        self.port = self._server.bind(f"{self.host}:{self.port}")
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

    async def Stream(self, request_iterator, context):
        self.streams += 1
        stream = None
        async for message in request_iterator:
            kind = message.WhichOneof("kind")
            if kind == "session":
                stream, reply = _open(message, self.refuse)
                if stream is not None:
                    self.sessions.append(stream.session)
                yield reply
            elif kind == "report":
                self.reports.append(message.report.last_frame_id)
                if stream is not None and self.ack:
                    for ack in stream.unseen_up_to(message.report.last_frame_id):
                        yield pb.Downlink(ack=ack)
            elif stream is not None:
                frames, acks = stream.take(message.frame.packets)
                self.frames += frames
                self._arrived.set()
                if self.ack:
                    for ack in acks:
                        ack.datagram_overhead = message.frame.datagram_overhead  # as a receiver counts it
                        yield pb.Downlink(ack=ack)


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
        self.overheads: list[int] = []  # each frame message's datagram_overhead stamp
        self._cond = threading.Condition()
        self._server: grpc.Server | None = None

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> ThreadedReceiver:
        self._server = threaded_link_server(max_workers=8)
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
            self.overheads.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Frame]:
        """Wait until ``count`` frames have arrived; returns a copy of them all (raises TimeoutError)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.frames) >= count, timeout):
                raise TimeoutError(f"{len(self.frames)} of {count} frames arrived within {timeout} s")
            return list(self.frames)

    def Stream(self, request_iterator, context):
        stream = None
        for message in request_iterator:
            kind = message.WhichOneof("kind")
            if kind == "session":
                stream, reply = _open(message, None)
                yield reply
            elif kind == "report" and stream is not None and self.ack:
                for ack in stream.unseen_up_to(message.report.last_frame_id):
                    yield pb.Downlink(ack=ack)
            elif kind == "frame" and stream is not None:
                frames, acks = stream.take(message.frame.packets)
                with self._cond:
                    self.frames += frames
                    self.overheads.append(message.frame.datagram_overhead)
                    self._cond.notify_all()
                if self.ack:
                    for ack in acks:
                        yield pb.Downlink(ack=ack)

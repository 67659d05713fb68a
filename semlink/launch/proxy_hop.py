"""A real loopback gRPC hop through a channel_sim process, for timing the proxy.

    bench client ──FeatureLink.Stream──► channel_sim (child process) ──► Sink (this process)

The sink stands where the receiver would be: it accepts the session, timestamps
every frame as it arrives (by the sequence number of its first intact packet)
and acks it. Both ends live in this process, so one clock
(``time.perf_counter``) times the hop.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence

import grpc
import httpx

from semlink.launch.config import CHANNEL, LinkConfig
from semlink.launch.ports import LinkPorts
from semlink.launch.process import ServiceProcess
from semlink.link.grpc_server import threaded_link_server
from semlink.link.sender import MESSAGE_SIZE_OPTIONS
from semlink.packets import CorruptDatagram, Frame, Session, decode_datagram
from semlink.packets.outcome import AckStatus
from semlink.v2 import semlink_pb2 as pb
from semlink.v2 import semlink_pb2_grpc as pb_grpc
from semlink.wire import ack_message, frame_datagrams, frame_message, message_to_session, session_to_message

GRPC_OPTIONS = MESSAGE_SIZE_OPTIONS
_DONE = object()


class Sink(pb_grpc.FeatureLinkServicer):
    """A FeatureLink server that records ``perf_counter()`` at each frame's arrival and acks it."""

    def __init__(self) -> None:
        self.arrivals: dict[int, float] = {}
        self.packets: dict[int, int] = {}
        self._arrived = threading.Condition()

    def Stream(self, request_iterator, context):
        session: Session | None = None
        for message in request_iterator:
            kind = message.WhichOneof("kind")
            if kind == "session":
                session = message_to_session(message.session)
                yield pb.Downlink(session=pb.SessionReply(session_id=session.session_id, accepted=True))
            elif kind == "frame" and session is not None:
                yield pb.Downlink(ack=self._record(session, message.frame.packets))

    def _record(self, session: Session, datagrams) -> pb.Ack:
        frame_id = 0
        for data in datagrams:
            try:
                frame_id = session.frame_id(decode_datagram(data, session.check).seq16)
                break
            except CorruptDatagram:
                continue
        with self._arrived:
            self.arrivals.setdefault(frame_id, time.perf_counter())
            self.packets[frame_id] = self.packets.get(frame_id, 0) + len(datagrams)
            self._arrived.notify_all()
        return ack_message(frame_id, AckStatus.OK)

    def wait_for(self, frame_ids: Sequence[int], timeout: float) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: all(f in self.arrivals for f in frame_ids), timeout)


class ProxyHop:
    """Start the sink and a channel_sim pointing at it; ``send`` frames of ``session`` through and time them.

    Frame ids must stay below 2**16 frames of the session (the sink reads each frame's
    sequence number from its packets).
    """

    def __init__(self, session: Session, ready_timeout: float = 60.0):
        self.session = session
        self.ports = LinkPorts.free()
        self.config = LinkConfig(ports=self.ports, log_level="warning")
        self.sink = Sink()
        self.server = threaded_link_server(max_workers=4, options=GRPC_OPTIONS)
        pb_grpc.add_FeatureLinkServicer_to_server(self.sink, self.server)
        self.server.add_insecure_port(f"127.0.0.1:{self.ports.receiver_grpc}")
        self.proxy = ServiceProcess(CHANNEL, CHANNEL, self.config.environment(CHANNEL), self.config.url(CHANNEL))
        self.ready_timeout = ready_timeout
        self._outbox: queue.Queue = queue.Queue()
        self._channel: grpc.Channel | None = None
        self._acks: threading.Thread | None = None

    def __enter__(self) -> "ProxyHop":
        self.proxy.start()  # fork before gRPC starts threads in this process
        self.server.start()
        try:
            with httpx.Client() as client:
                self.proxy.wait_ready(time.monotonic() + self.ready_timeout, client)
            self._channel = grpc.insecure_channel(f"127.0.0.1:{self.ports.channel_grpc}", options=GRPC_OPTIONS)
            self._outbox.put(pb.Uplink(session=session_to_message(self.session)))
            responses = pb_grpc.FeatureLinkStub(self._channel).Stream(self._requests())
            self._acks = threading.Thread(target=self._drain_acks, args=(responses,), daemon=True)
            self._acks.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    @staticmethod
    def _drain_acks(responses) -> None:
        try:
            for _ in responses:
                pass
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.CANCELLED:
                raise

    def _requests(self) -> Iterator[pb.Uplink]:
        while (item := self._outbox.get()) is not _DONE:
            yield item

    def send(self, frames: Sequence[Frame], timeout: float = 60.0) -> tuple[list[float], float]:
        """Send ``frames`` back to back; returns each one's send→arrival seconds and first send→last arrival."""
        messages = [frame_message(frame_datagrams(f, self.session)) for f in frames]
        starts = []
        for message in messages:
            starts.append(time.perf_counter())
            self._outbox.put(message)
        ids = [f.header.frame_id for f in frames]
        if not self.sink.wait_for(ids, timeout):
            missing = [f for f in ids if f not in self.sink.arrivals]
            raise RuntimeError(f"{len(missing)} of {len(ids)} frames did not come out of channel_sim in {timeout:.0f}s "
                               f"(is its channel lossless? GET {self.proxy.url}/v1/channel)")
        arrivals = [self.sink.arrivals[f] for f in ids]
        return [a - s for a, s in zip(arrivals, starts)], max(arrivals) - starts[0]

    def __exit__(self, *exc) -> None:
        self._outbox.put(_DONE)  # ends the request stream; channel_sim then ends the acks
        if self._acks is not None:
            self._acks.join(timeout=5.0)
        if self._channel is not None:
            self._channel.close()
        self.proxy.stop(grace=5.0)
        self.server.stop(grace=1.0)

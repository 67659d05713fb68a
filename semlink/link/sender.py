"""A reconnecting gRPC sender: a session, then frames, go into one ``FeatureLink.Stream`` call; acks come back.

The transmitter uses it towards channel_sim (or a receiver), and channel_sim uses it
for its upstream hop. Every stream (every reconnect) opens with the sender's
:class:`~semlink.packets.Session`; a refused session is reported (``refusal``), the
frames waiting for it end ``rejected`` with the reason, and the sender tries
again after its backoff. Frames wait in a bounded queue; one writer puts them on
the stream as datagrams, one reader matches acks to frames by ``frame_id``. When
the sender goes idle it sends a report of the last frame id it sent, so the far
end can tell frames that lost every packet. When the stream dies, every frame
written but not yet acked is reported lost (``connection lost``), queued frames
stay queued, and the sender reconnects with exponential backoff and jitter.
Every frame submitted ends with exactly one :class:`Outcome`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from semlink.link.backoff import Backoff
from semlink.link.grpc_channel import LinkSecurity, link_channel
from semlink.packets import Frame, Session, SessionRefused
from semlink.packets.claims import SESSION_IN_USE
from semlink.packets.outcome import AckStatus, LossReason
from semlink.packets.transport import with_overhead
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import ack_outcome, frame_datagrams, frame_message, session_to_message, wire_bytes

log = logging.getLogger(__name__)

CONNECTION_LOST = "connection lost"
SENDER_CLOSED = "sender closed"
# One message-size limit end to end (transmitter, channel_sim, receiver): a frame that fits one hop fits all.
# Florence-2-large's features in float32 are ~4.7 MB a frame, above grpc's 4 MB default.
MAX_MESSAGE_BYTES = 32 * 2**20
MESSAGE_SIZE_OPTIONS = [("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]
REPORT_AFTER_S = 0.1  # idle time after which the sender reports its last frame id
SESSION_TIMEOUT_S = 30.0
PROBE_TIMEOUT_S = 2.0  # a failing connection's reason is asked for with a health check this long
REFUSING_CODES = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


class QueueFull(RuntimeError):
    """The sender's bounded queue is full; try again later or slow down."""


class SenderClosed(RuntimeError):
    """The sender was closed; frames can no longer be submitted."""


@dataclass(frozen=True)
class Outcome:
    """How one frame ended: ``ok``/``partial`` (acked by the far end), ``rejected`` or ``lost`` (``loss`` says
    why and where; ``detail`` says it to people)."""

    frame_id: int
    status: AckStatus
    detail: str = ""
    loss: LossReason = LossReason.NONE
    datagram_overhead: int | None = None  # per-datagram transport bytes the far end counted it with (its ack's)

    @property
    def delivered(self) -> bool:
        return self.status.delivered


def lost(frame_id: int, loss: LossReason, detail: str) -> Outcome:
    return Outcome(frame_id, AckStatus.LOST, detail, loss)


STREAM_METHOD = f"/{pb.DESCRIPTOR.services_by_name['FeatureLink'].full_name}/Stream"


def serialize_uplink(message: pb.Uplink | bytes) -> bytes:
    """An ``Uplink``'s bytes; bytes already serialised (a hop forwarding a message as it came) go as they are."""
    return message if isinstance(message, bytes) else message.SerializeToString()


class Delivery:
    """One submitted frame: ``sent`` resolves to True once it is on the stream (False if it never got
    there), ``outcome`` to its :class:`Outcome`. ``nbytes`` is its wire bytes (every datagram's every byte, and
    ``datagram_overhead`` transport bytes for each of its ``datagrams``)."""

    __slots__ = ("_in_window", "datagram_overhead", "datagrams", "frame_id", "message", "nbytes", "outcome",
                 "queued_at", "riders", "sent", "sent_at")

    def __init__(self, frame_id: int, message: pb.Uplink | bytes | None, nbytes: int,
                 loop: asyncio.AbstractEventLoop, datagrams: int = 0, datagram_overhead: int = 0):
        self.frame_id = frame_id
        self.message = message
        self.nbytes = nbytes
        self.datagrams = datagrams
        self.datagram_overhead = datagram_overhead
        self.sent: asyncio.Future[bool] = loop.create_future()
        self.outcome: asyncio.Future[Outcome] = loop.create_future()
        self.queued_at = loop.time()
        self.sent_at: float | None = None
        self.riders: tuple[Delivery, ...] = ()  # the other frames of a packed group, in the same message
        self._in_window = False


class FrameSender:
    """Send frames to ``target`` over one ``FeatureLink.Stream`` call, reconnecting as needed.

    ``submit``/``submit_nowait`` (a frame of the session) and ``forward``/``forward_nowait`` (a message as it
    came) return a :class:`Delivery`; ``on_outcome`` (optional) is
    called with each delivery once its outcome is known. At most ``max_in_flight`` frames
    wait for acks; a frame unacked after ``ack_timeout_s`` is reported lost.
    ``datagram_overhead`` (transport bytes per datagram) is stamped on the frames it
    builds and counted into their ``nbytes``; each ack's figure replaces it (the
    link's word: a channel_sim on the way counts with its own).
    """

    def __init__(
        self,
        target: str,
        *,
        queue_size: int = 64,
        max_in_flight: int = 256,
        ack_timeout_s: float = 30.0,
        backoff: Backoff | None = None,
        seed: int | None = None,
        on_outcome: Callable[[Delivery], None] | None = None,
        name: str = "sender",
        session: Session | None = None,
        security: LinkSecurity | None = None,
        channel: grpc.aio.Channel | None = None,
        datagram_overhead: int = 0,
    ):
        if queue_size < 1 or max_in_flight < 1:
            raise ValueError(f"queue_size and max_in_flight must be >= 1, got {queue_size}, {max_in_flight}")
        if ack_timeout_s <= 0:
            raise ValueError(f"ack_timeout_s must be > 0, got {ack_timeout_s}")
        self.target = target
        self.queue_size = queue_size
        self.max_in_flight = max_in_flight
        self.ack_timeout_s = ack_timeout_s
        self.backoff = backoff or Backoff()
        self.on_outcome = on_outcome
        self.name = name
        self.security = security or LinkSecurity()
        self.datagram_overhead = datagram_overhead
        self._shared_channel = channel  # a channel someone else owns (and closes), e.g. channel_sim's upstream
        self.link_error: str | None = None  # why the channel cannot connect, while it cannot
        self._rng = random.Random(seed)
        self._queue: asyncio.Queue[Delivery] | None = None
        self._window: asyncio.Semaphore | None = None
        self._in_flight: dict[int, list[Delivery]] = {}
        self._writing: Delivery | None = None
        self._channel: grpc.aio.Channel | None = None
        self._tasks: list[asyncio.Task] = []
        self._state = grpc.ChannelConnectivity.IDLE
        self._closing = False
        self._started = False
        self.counts: Counter[str] = Counter()
        self.lost_reasons: Counter[str] = Counter()  # lost frames by detail text, for people
        self.losses: Counter[LossReason] = Counter()  # lost frames by reason code, for programs
        self.session = session
        self.refusal: str | None = None  # why the far end refused the session, while it does
        self.session_open = False
        self._session_set = asyncio.Event()
        self._replied: asyncio.Future | None = None
        self._last_frame_id: int | None = None
        self._reported: int | None = None
        self._write_lock = asyncio.Lock()
        if session is not None:
            self._session_set.set()

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the channel and start the stream loop (in the running event loop)."""
        if self._started:
            return
        self._started = True
        self._queue = asyncio.Queue(self.queue_size)
        self._window = asyncio.Semaphore(self.max_in_flight)
        self._channel = self._shared_channel or link_channel(
            self.target, self.security, options=[*self.backoff.channel_options(), *MESSAGE_SIZE_OPTIONS])
        self._tasks = [
            asyncio.create_task(self._run(), name=f"{self.name}-stream"),
            asyncio.create_task(self._watch_state(), name=f"{self.name}-state"),
            asyncio.create_task(self._expire_loop(), name=f"{self.name}-expire"),
        ]

    async def close(self, grace_s: float = 1.0) -> None:
        """Stop accepting frames, give queued and in-flight ones ``grace_s`` to finish, report the rest lost."""
        if not self._started or self._closing:
            return
        self._closing = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        while (self._queue.qsize() or self._in_flight or self._writing) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._fail_in_flight(LossReason.SENDER_CLOSED, SENDER_CLOSED)
        while not self._queue.empty():
            self._finish_unsent(self._queue.get_nowait(), lost(0, LossReason.SENDER_CLOSED, SENDER_CLOSED))
        if self._shared_channel is None:
            await self._channel.close(grace=None)
        # grpc.aio stays bound to this event loop until its last channel is collected: let go of ours now
        self._channel = None
        self._tasks = []

    async def __aenter__(self) -> FrameSender:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # --- the session -----------------------------------------------------------------------------
    def set_session(self, session: Session) -> None:
        """Give the sender its session (once the codec is known); streams open with it from now on."""
        self.session = session
        self._session_set.set()

    async def wait_session(self, timeout_s: float = SESSION_TIMEOUT_S) -> str | None:
        """Wait for the first answer to the session: ``None`` if accepted, else the refusal; raises TimeoutError."""
        if self._replied is None:
            self._replied = asyncio.get_running_loop().create_future()
        return await asyncio.wait_for(asyncio.shield(self._replied), timeout_s)

    def _answered(self, refusal: str | None) -> None:
        if self._replied is None:
            self._replied = asyncio.get_running_loop().create_future()
        if not self._replied.done():
            self._replied.set_result(refusal)

    # --- submitting ----------------------------------------------------------------------------
    def _delivery(self, frame_id: int, message: pb.Uplink | bytes | None, nbytes: int, datagrams: int = 0,
                  overhead: int = 0) -> Delivery:
        if not self._started:
            raise SenderClosed(f"{self.name}: call start() before submitting frames")
        if self._closing:
            raise SenderClosed(f"{self.name} to {self.target} is closed; frame {frame_id} not sent")
        return Delivery(frame_id, message, nbytes, asyncio.get_running_loop(), datagrams, overhead)

    def _frame_delivery(self, frame: Frame) -> Delivery:
        if self._started and self.session is None:
            raise SenderClosed(f"{self.name}: no session yet; call set_session() before submitting frames")
        if not self._started or self._closing:
            return self._delivery(frame.header.frame_id, None, 0)  # raises SenderClosed, saying why
        packets, overhead = frame_datagrams(frame, self.session), self.datagram_overhead
        message = frame_message(packets)
        message.frame.datagram_overhead = overhead
        return self._delivery(frame.header.frame_id, message, with_overhead(wire_bytes(packets), len(packets), overhead),
                              len(packets), overhead)

    def track(self, frame_id: int) -> Delivery:
        """Await the far end's word on a frame that sends nothing (every packet lost before this hop)."""
        delivery = self._delivery(frame_id, None, 0)
        delivery.sent_at = asyncio.get_running_loop().time()
        delivery.sent.set_result(True)
        self._in_flight.setdefault(frame_id, []).append(delivery)
        self._note_sent(frame_id)
        self.counts["tracked"] += 1
        return delivery

    def _note_sent(self, frame_id: int) -> None:
        if self._last_frame_id is None or frame_id > self._last_frame_id:
            self._last_frame_id = frame_id

    def _queue_nowait(self, delivery: Delivery) -> Delivery:
        try:
            self._queue.put_nowait(delivery)
        except asyncio.QueueFull:
            self.counts["queue_full"] += 1
            raise QueueFull(f"queue full ({self.queue_size} frames waiting for {self.target})") from None
        self.counts["submitted"] += 1
        return delivery

    async def _queue_put(self, delivery: Delivery) -> Delivery:
        await self._queue.put(delivery)
        self.counts["submitted"] += 1
        return delivery

    def submit_nowait(self, frame: Frame) -> Delivery:
        """Queue ``frame`` (a :class:`Frame` of the session, coded here into its datagrams) or raise
        :class:`QueueFull` at once."""
        return self._queue_nowait(self._frame_delivery(frame))

    async def submit(self, frame: Frame) -> Delivery:
        """Queue ``frame``, waiting for room in the queue."""
        return await self._queue_put(self._frame_delivery(frame))

    def forward_nowait(self, frame_id: int, message: pb.Uplink | bytes, nbytes: int) -> Delivery:
        """Queue a frame message as it is (an ``Uplink`` or its serialised bytes, sent unchanged: a hop relaying
        what came) of ``nbytes`` wire bytes, or raise :class:`QueueFull` at once."""
        return self._queue_nowait(self._delivery(frame_id, message, nbytes))

    async def forward(self, frame_id: int, message: pb.Uplink | bytes, nbytes: int) -> Delivery:
        """:meth:`forward_nowait`, waiting for room in the queue."""
        return await self._queue_put(self._delivery(frame_id, message, nbytes))

    def _group_delivery(self, frame_ids: Sequence[int], message: pb.Uplink | bytes, nbytes: int, datagrams: int,
                        overhead: int) -> list[Delivery]:
        share = len(frame_ids)
        head, *riders = [self._delivery(fid, message if k == 0 else None, nbytes / share, datagrams / share, overhead)
                         for k, fid in enumerate(frame_ids)]
        head.riders = tuple(riders)
        return [head, *riders]

    def forward_group_nowait(self, frame_ids: Sequence[int], message: pb.Uplink | bytes, nbytes: int,
                             datagrams: int = 0, overhead: int = 0) -> list[Delivery]:
        """Queue one message that carries several frames (a packed group, :mod:`semlink.packets.packing`) or raise
        :class:`QueueFull`: a :class:`Delivery` per frame, each with its share of the message's ``nbytes`` and
        ``datagrams``, each answered by its own ack."""
        deliveries = self._group_delivery(frame_ids, message, nbytes, datagrams, overhead)
        self._queue_nowait(deliveries[0])
        return deliveries

    async def forward_group(self, frame_ids: Sequence[int], message: pb.Uplink | bytes, nbytes: int,
                            datagrams: int = 0, overhead: int = 0) -> list[Delivery]:
        """:meth:`forward_group_nowait`, waiting for room in the queue."""
        deliveries = self._group_delivery(frame_ids, message, nbytes, datagrams, overhead)
        await self._queue_put(deliveries[0])
        return deliveries

    # --- state ---------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._state == grpc.ChannelConnectivity.READY

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    @property
    def in_flight(self) -> int:
        return sum(len(v) for v in self._in_flight.values())

    def stats(self) -> dict:
        return {
            "target": self.target,
            "connected": self.connected,
            "session_id": self.session.number if self.session else None,  # its public number, never the id
            "session_open": self.session_open,
            "session_refused": self.refusal,
            "state": self._state.name.lower(),
            "link_error": self.link_error,
            "queue_depth": self.queue_depth,
            "queue_size": self.queue_size,
            "in_flight": self.in_flight,
            **{k: self.counts[k] for k in ("submitted", "sent", *AckStatus, "queue_full", "stray_acks", "reconnects", "bytes_sent", "tracked",
                                            "reports")},
            "lost_reasons": dict(self.lost_reasons),
            "losses": {reason.value: n for reason, n in self.losses.items()},
        }

    # --- the stream ----------------------------------------------------------------------------
    async def _run(self) -> None:
        stub = self._channel.stream_stream(STREAM_METHOD, request_serializer=serialize_uplink,
                                           response_deserializer=pb.Downlink.FromString,
                                           _registered_method=True)  # as the generated stub registers it
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            started = loop.time()
            acks_before = self.counts["acks"]
            try:
                reason = await self._stream_once(stub)
            except grpc.aio.AioRpcError as err:
                reason = f"{err.code().name}: {err.details()}"
                if err.code() in REFUSING_CODES:  # a wrong or missing token: shown like a refused session
                    self._refused(f"{err.code().name.lower()}: {err.details()}")
            except (asyncio.InvalidStateError, grpc.aio.UsageError) as err:
                reason = f"stream finished: {err}"
            except Exception as err:  # never let one bad stream end the sender
                log.exception("%s: stream to %s failed", self.name, self.target)
                reason = f"{type(err).__name__}: {err}"
            self._fail_in_flight(LossReason.CONNECTION_LOST, CONNECTION_LOST)
            if self.counts["acks"] > acks_before or loop.time() - started > self.backoff.max_s:
                attempt = 0
            delay = self.backoff.delay(attempt, self._rng)
            attempt += 1
            self.counts["reconnects"] += 1
            log.warning("%s: stream to %s ended (%s); reconnecting in %.2f s", self.name, self.target, reason, delay)
            await asyncio.sleep(delay)

    async def _stream_once(self, stub: grpc.aio.StreamStreamMultiCallable) -> str:
        """Run one ``Stream`` call until it ends; returns why (errors propagate)."""
        await self._session_set.wait()
        call = stub(wait_for_ready=True)
        try:
            await self._open_session(call)
        except SessionRefused as refusal:
            call.cancel()
            return str(refusal)
        except asyncio.InvalidStateError:  # an intercepted call the far end already ended: its status says why
            raise grpc.aio.AioRpcError(await call.code(), await call.initial_metadata(),
                                       await call.trailing_metadata(), await call.details()) from None
        except BaseException:
            call.cancel()
            raise
        tasks = [asyncio.create_task(self._write_loop(call)), asyncio.create_task(self._read_loop(call)),
                 asyncio.create_task(self._report_loop(call))]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # raise the stream's error, if any
            return "stream closed by the far end"
        finally:
            self.session_open = False
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            call.cancel()

    async def _open_session(self, call) -> None:
        """Send the session, read the answer; raise :class:`~semlink.packets.SessionRefused` when refused."""
        await call.write(pb.Uplink(session=session_to_message(self.session)))
        reply = await asyncio.wait_for(call.read(), SESSION_TIMEOUT_S)
        if reply is grpc.aio.EOF or reply.WhichOneof("kind") != "session":
            raise ConnectionError("the far end did not answer the session")
        if not reply.session.accepted:
            self._refused(f"{reply.session.reason}: {reply.session.detail}", reply.session.reason)
            raise SessionRefused(reply.session.reason, reply.session.detail)
        self.refusal = None
        self.session_open = True
        self.counts["sessions"] += 1
        self._answered(None)

    def _refused(self, refusal: str, reason: str = "") -> None:
        """The far end refused the session (or the call's credentials): say so, reject the frames waiting."""
        self.refusal = refusal
        self.counts["sessions_refused"] += 1
        log.warning("%s: %s refused session %d: %s", self.name, self.target, self.session.number, refusal)
        self._answered(refusal)
        if reason == SESSION_IN_USE:  # our own previous stream, not yet ended there: the frames wait for the retry
            return
        while not self._queue.empty():  # no frame is streamed into a refused session
            delivery = self._queue.get_nowait()
            self._finish_unsent(delivery, Outcome(delivery.frame_id, AckStatus.REJECTED, f"session refused: {refusal}"))

    async def _write(self, call, message: pb.Uplink | bytes) -> None:
        async with self._write_lock:
            await call.write(message)

    async def _write_loop(self, call) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._window.acquire()
            try:
                delivery = await self._queue.get()
            except BaseException:
                self._window.release()
                raise
            delivery._in_window = True
            self._writing = delivery
            # In flight before the write: its ack can come back before write() returns to this task.
            for carried in (delivery, *delivery.riders):
                carried.sent_at = loop.time()
                self._in_flight.setdefault(carried.frame_id, []).append(carried)
            try:
                await self._write(call, delivery.message)
            except BaseException:
                self._writing = None
                for carried in (delivery, *delivery.riders):
                    self._not_in_flight(carried)
                self._finish_unsent(delivery, lost(delivery.frame_id, *((LossReason.SENDER_CLOSED, SENDER_CLOSED)
                                                                        if self._closing else
                                                                        (LossReason.CONNECTION_LOST, CONNECTION_LOST))))
                raise
            self._writing = None
            for carried in (delivery, *delivery.riders):
                if not carried.sent.done():
                    carried.sent.set_result(True)
                self.counts["sent"] += 1
                self.counts["bytes_sent"] += carried.nbytes
                self._note_sent(carried.frame_id)

    def _not_in_flight(self, delivery: Delivery) -> None:
        """Take back a delivery whose write failed: it never reached the stream."""
        delivery.sent_at = None
        deliveries = self._in_flight.get(delivery.frame_id, [])
        if delivery in deliveries:
            deliveries.remove(delivery)
        if not deliveries:
            self._in_flight.pop(delivery.frame_id, None)

    async def _report_loop(self, call) -> None:
        """When idle, tell the far end the last frame id sent (frames after a gap it never saw end lost)."""
        while True:
            await asyncio.sleep(REPORT_AFTER_S)
            last = self._last_frame_id
            if last is None or last == self._reported or self._writing is not None or not self._queue.empty():
                continue
            await self._write(call, pb.Uplink(report=pb.SenderReport(last_frame_id=last)))
            self._reported = last
            self.counts["reports"] += 1

    async def _read_loop(self, call) -> None:
        while True:
            reply = await call.read()
            if reply is grpc.aio.EOF:
                return
            if reply.WhichOneof("kind") != "ack":
                continue
            ack = reply.ack
            self.counts["acks"] += 1
            deliveries = self._in_flight.pop(ack.frame_id, None)
            if not deliveries:
                self.counts["stray_acks"] += 1
                continue
            status, detail, loss = ack_outcome(ack)
            self.datagram_overhead = ack.datagram_overhead  # the link's figure, for the frames still to build
            for delivery in deliveries:
                self._finish(delivery, Outcome(ack.frame_id, status, detail, loss, ack.datagram_overhead))

    async def _watch_state(self) -> None:
        try:
            await self._follow_state()
        except grpc.aio.UsageError:  # a shared channel closed by its owner (channel_sim stopping) before us
            self._state = grpc.ChannelConnectivity.SHUTDOWN

    async def _follow_state(self) -> None:
        state = self._channel.get_state(try_to_connect=True)
        while True:
            self._state = state
            if state == grpc.ChannelConnectivity.READY:
                self.link_error = None
            elif state == grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                await self._learn_link_error()
            await self._channel.wait_for_state_change(state)
            state = self._channel.get_state()

    async def _learn_link_error(self) -> None:
        """Ask why the channel cannot connect (a health check that fails fast carries grpc's last error: a
        refused connection, a failed TLS handshake...) and log it once."""
        try:
            await health_pb2_grpc.HealthStub(self._channel).Check(health_pb2.HealthCheckRequest(),
                                                                 timeout=PROBE_TIMEOUT_S, wait_for_ready=False)
            return
        except grpc.aio.AioRpcError as err:
            if err.code() != grpc.StatusCode.UNAVAILABLE:
                return  # it connected (a server without the health service answers UNIMPLEMENTED)
            error = err.details() or "unavailable"
        if "Socket closed" in error:  # the server hung up during the handshake: say what that usually means
            error += (" (the server closed the connection: if it requires mutual TLS it wants a client "
                      "certificate signed by its tls_ca (set tls_cert and tls_key here); its log says why)"
                      if self.security.tls is not None else
                      " (the server closed the connection: if it serves TLS, set tls_ca here)")
        if error != self.link_error:
            log.warning("%s: cannot connect to %s: %s", self.name, self.target, error)
        self.link_error = error
        if "handshake" in error.lower():
            self.refusal = f"tls: {error}"

    async def _expire_loop(self) -> None:
        loop = asyncio.get_running_loop()
        period = min(1.0, self.ack_timeout_s / 4)
        while True:
            await asyncio.sleep(period)
            cutoff = loop.time() - self.ack_timeout_s
            for frame_id in [f for f, ds in self._in_flight.items() if ds[0].sent_at < cutoff]:
                for delivery in self._in_flight.pop(frame_id):
                    self._finish(delivery, lost(frame_id, LossReason.ACK_TIMEOUT,
                                                f"no ack within {self.ack_timeout_s:g} s"))

    # --- outcomes --------------------------------------------------------------------------------
    def _fail_in_flight(self, loss: LossReason, detail: str) -> None:
        in_flight, self._in_flight = self._in_flight, {}
        for deliveries in in_flight.values():
            for delivery in deliveries:
                self._finish(delivery, lost(delivery.frame_id, loss, detail))

    def _finish_unsent(self, delivery: Delivery, outcome: Outcome) -> None:
        """A queued message that never reached the stream: ``outcome`` for each frame it carries."""
        for carried in (delivery, *delivery.riders):
            self._finish(carried, outcome)

    def _finish(self, delivery: Delivery, outcome: Outcome) -> None:
        if delivery.outcome.done():
            return
        outcome = replace(outcome, frame_id=delivery.frame_id)
        if delivery._in_window:
            delivery._in_window = False
            self._window.release()
        if not delivery.sent.done():
            delivery.sent.set_result(delivery.sent_at is not None)  # acked while its write was returning: sent
        delivery.outcome.set_result(outcome)
        self.counts[outcome.status] += 1
        if outcome.status is AckStatus.LOST:
            self.lost_reasons[outcome.detail] += 1
            self.losses[outcome.loss] += 1
        if self.on_outcome is not None:
            try:
                self.on_outcome(delivery)
            except Exception:  # a broken observer must not break the link
                log.exception("%s: on_outcome callback failed for frame %d", self.name, delivery.frame_id)

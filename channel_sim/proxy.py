"""The proxy: per stream, the session is passed upstream; per frame, the packet channel, the network, then upstream.

Each downstream stream opens with a session, which the proxy carries to the
receiver on a stream of its own (a :class:`Hop`: one upstream
:class:`~semlink.link.FrameSender` per downstream stream, so one client's session
or bad frame never touches another's). The receiver's answer to the session is
relayed back. Each frame message is checked against the session and its frame
identified from the packet headers (:func:`semlink.wire.identify_frame`; a
malformed one is answered ``rejected``, never fatal), its datagrams go through
:meth:`semlink.channel.Channel.transmit_datagrams` (every byte exposed: dropped or
bit-flipped, headers and checks too), are delayed, rate-limited, duplicated or
reordered by a :class:`~semlink.channel.network.DelayLine`, and forwarded upstream.
A frame that lost every packet sends nothing: the receiver sees the gap in the
sequence numbers and acks it lost, and the hop relays that ack. A frame the
proxy could not deliver upstream is answered ``lost`` with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass

import grpc

from channel_sim.spec import ChannelSpec
from channel_sim.stats import ProxyMetrics, ProxyStats
from semlink.channel import Channel
from semlink.link import Backoff, FrameSender, Outcome, QueueFull, SenderClosed
from semlink.link.grpc_channel import LinkSecurity, link_channel
from semlink.link.sender import MESSAGE_SIZE_OPTIONS
from semlink.channel.network import DelayLine, Network
from semlink.packets import MalformedFrame, Session, SessionRefused
from semlink.packets.claims import SessionClaims
from semlink.packets.outcome import AckStatus, LossReason
from semlink.packets.transport import with_overhead
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import ack_message, frame_message, identify_group, wire_bytes

log = logging.getLogger(__name__)



class AckSink:
    """Where the acks for one incoming stream go, in the order they are known, then ``None`` once the stream's
    requests have ended (:meth:`requests_ended`) and every frame taken has been answered."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[pb.Ack | None] = asyncio.Queue()  # made by semlink.wire.ack_message
        self.outstanding = 0
        self.closed = False
        self._ended = False

    def reply(self, ack: pb.Ack) -> None:
        self.outstanding -= 1
        if not self.closed:
            self.queue.put_nowait(ack)
            self._end_if_answered()

    def requests_ended(self) -> None:
        """No more frames will come on this stream: the queue ends once the last outstanding one is answered."""
        self._ended = True
        self._end_if_answered()

    def _end_if_answered(self) -> None:
        if self._ended and self.outstanding <= 0 and not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


class Hop:
    """One downstream stream's session and the upstream stream that carries it on."""

    def __init__(self, session: Session, sender: FrameSender, sink: AckSink):
        self.session = session
        self.sender = sender
        self.sink = sink
        self.highest_seq: int | None = None


@dataclass(eq=False)
class InTransit:
    """A frame's surviving datagrams between the channel and upstream, with the hop its ack goes back on."""

    frame_id: int
    message: pb.Uplink | bytes | None  # bytes: the message as it came, forwarded unchanged
    nbytes: int  # wire bytes: the datagrams' bytes and the transport overhead of each
    hop: Hop
    datagrams: int = 0
    overhead: int = 0  # the per-datagram transport bytes it was counted (and stamped) with
    answered: bool = False
    riders: tuple[InTransit, ...] = ()  # the other frames of a packed group, in the same message

    def group(self) -> tuple[InTransit, ...]:
        """This frame and the frames riding with it: each is answered once, by its own ack."""
        return (self, *self.riders)


# The upstream channel is made when channel_sim starts, often before the receiver listens (`semlink up` starts the
# three at once); with gRPC's usual 5 s cap its reconnect backoff had grown to seconds by the time the receiver was
# ready, and the first session waited for it. A 1 s cap finds a receiver that comes (back) within a second.
UPSTREAM_BACKOFF = Backoff(initial_s=0.1, max_s=1.0)


class Proxy:
    """The channel, the delay line and the upstream hops, with live reconfiguration and stats."""

    def __init__(self, spec: ChannelSpec, upstream: str, *, queue_size: int = 256, ack_timeout_s: float = 30.0,
                 delay_line_frames: int = 1024, delay_line_bytes: int = 256 * 2**20,
                 metrics: ProxyMetrics | None = None, session_timeout_s: float = 10.0,
                 security: LinkSecurity | None = None):
        self.initial = spec
        self.spec = spec
        self.upstream = upstream
        self.queue_size = queue_size
        self.ack_timeout_s = ack_timeout_s
        self.session_timeout_s = session_timeout_s
        self.channel = Channel(spec.channel_config())
        self.line = DelayLine(Network(spec.network_config()), self._forward, refuse=self._refuse,
                              max_items=delay_line_frames, max_bytes=delay_line_bytes)
        self.hops: set[Hop] = set()
        self.stats = ProxyStats()
        self.metrics = metrics or ProxyMetrics()
        self.hop_counts: Counter[str] = Counter()
        self.claims: SessionClaims[Hop] = SessionClaims()
        self.security = security or LinkSecurity()
        # One channel upstream, shared by every hop: round_robin spreads the hops' streams over the receivers.
        self._probe: grpc.aio.Channel | None = None

    async def start(self) -> None:
        self._probe = link_channel(self.upstream, self.security,
                                   options=[*UPSTREAM_BACKOFF.channel_options(), *MESSAGE_SIZE_OPTIONS])
        self._probe.get_state(try_to_connect=True)
        self.metrics.upstream_connected.set_function(lambda: float(self.upstream_connected))
        self.metrics.upstream_queue.set_function(lambda: sum(h.sender.queue_depth for h in self.hops))
        self.metrics.datagram_overhead.set_function(lambda: self.spec.datagram_overhead)

    async def close(self) -> None:
        for item in self.line.clear():
            self._drop(item, "channel_sim stopped")
        await asyncio.gather(*(self.close_hop(h) for h in list(self.hops)), return_exceptions=True)
        if self._probe is not None:
            await self._probe.close()

    @property
    def upstream_connected(self) -> bool:
        if self._probe is None:
            return False
        return self._probe.get_state(try_to_connect=True) == grpc.ChannelConnectivity.READY

    # --- control -------------------------------------------------------------------------------
    def configure(self, spec: ChannelSpec) -> None:
        """Apply ``spec`` from the next message on; messages already in the delay line keep their plan."""
        self.spec = spec
        self.channel = Channel(spec.channel_config())
        self.line.network = Network(spec.network_config())
        log.info("channel now %s", spec.spec_dict())

    def reset(self) -> None:
        """Back to the initial channel, every random stream rewound, stats zeroed; messages still in the
        delay line are dropped, each acked ``lost``."""
        for item in self.line.clear():
            self._drop(item, "channel_sim reset")
        self.configure(self.initial)
        self.stats = ProxyStats()
        self.line.counts = Counter()

    def describe(self) -> dict:
        return {
            **self.spec.spec_dict(),
            "loss_model": self.spec.resolved_loss_model,
            "expected_loss_rate": self.channel.expected_loss_rate,
            "effective_ber": self.channel.ber,
        }

    def upstream_stats(self) -> dict:
        return {"target": self.upstream, "connected": self.upstream_connected, "streams": len(self.hops),
                **{k: self.hop_counts[k] for k in ("sessions", "refused", "unreachable")},
                "hops": [h.sender.stats() for h in self.hops]}

    def stats_dict(self) -> dict:
        stats = self.stats.to_dict()
        stats["frames"].update(duplicated=self.line.counts["duplicated"], reordered=self.line.counts["reordered"])
        return {**stats, "datagram_overhead": self.spec.datagram_overhead, "in_delay_line": len(self.line),
                "upstream": self.upstream_stats()}

    # --- sessions ------------------------------------------------------------------------------
    async def open_hop(self, session: Session, sink: AckSink) -> tuple[Hop | None, pb.SessionReply]:
        """Carry ``session`` upstream; the receiver's answer (or why it could not be had) comes back. A session
        open on another downstream stream (or whose number another session id owns) is refused here."""
        sender = FrameSender(self.upstream, queue_size=self.queue_size, ack_timeout_s=self.ack_timeout_s,
                             name=f"channel_sim upstream (session {session.number})", session=session,
                             security=self.security, channel=self._probe)
        hop = Hop(session, sender, sink)
        try:
            self.claims.claim(session, hop)  # this downstream stream alone writes the session's frames
        except SessionRefused as refusal:
            self.hop_counts["refused"] += 1
            return None, pb.SessionReply(session_id=session.session_id, accepted=False, reason=refusal.reason,
                                         detail=f"channel_sim: {refusal.detail}")
        await sender.start()
        try:
            refusal = await sender.wait_session(self.session_timeout_s)
        except TimeoutError:
            refusal = None
            reply = pb.SessionReply(session_id=session.session_id, accepted=False, reason="upstream unreachable",
                                    detail=f"channel_sim could not reach the receiver at {self.upstream} within "
                                           f"{self.session_timeout_s:g} s"
                                           + (f" ({sender.link_error})" if sender.link_error else "")
                                           + "; the sender will retry")
            self.hop_counts["unreachable"] += 1
        else:
            if refusal is None:
                self.hops.add(hop)
                self.hop_counts["sessions"] += 1
                return hop, pb.SessionReply(session_id=session.session_id, accepted=True)
            reason, _, detail = refusal.partition(": ")
            reply = pb.SessionReply(session_id=session.session_id, accepted=False, reason=reason, detail=detail)
            self.hop_counts["refused"] += 1
        self.claims.release(session, hop)
        await sender.close(grace_s=0)
        return None, reply

    async def close_hop(self, hop: Hop) -> None:
        self.hops.discard(hop)
        try:
            await hop.sender.close(grace_s=1.0)
        finally:
            self.claims.release(hop.session, hop)

    # --- the data path -------------------------------------------------------------------------
    def accept(self, hop: Hop, datagrams, sink: AckSink, message: bytes | None = None, stamped: int = 0) -> None:
        """Take one frame message of ``hop``'s stream (``message``, the serialised ``Uplink`` whose ``datagrams``
        these are, is forwarded as it came when the channel changed nothing: no copy, no re-serialising); its ack
        will reach ``sink``. ``stamped`` is the per-datagram overhead the sender put on it; what goes upstream
        carries the channel's ``datagram_overhead`` instead, and is counted with it."""
        datagrams = list(datagrams)  # a protobuf repeated field makes a new bytes object on every access
        overhead = self.spec.datagram_overhead
        sink.outstanding += 1
        try:
            frame_id, frames, highest_seq = identify_group(datagrams, hop.session, hop.highest_seq)
        except MalformedFrame as err:
            self._count_frames("in", 1)
            self._count_frames("rejected", 1)
            self._reply(sink, ack_message(0, AckStatus.REJECTED, f"channel_sim: {err}", datagram_overhead=overhead))
            return
        sink.outstanding += frames - 1  # a packed group's frames are each answered
        self._count_frames("in", frames)
        hop.highest_seq = highest_seq
        self._count("in", wire_bytes(datagrams), len(datagrams), overhead)
        received, report = self.channel.transmit_datagrams(datagrams)
        self.stats.report = self.stats.report + report
        self.metrics.observe_report(report)
        if not received:  # nothing to send: the receiver learns of it from the sequence gap
            self.stats.frames["erased"] += frames
            for fid in range(frame_id, frame_id + frames):
                item = InTransit(fid, None, 0, hop, overhead=overhead)
                try:
                    delivery = hop.sender.track(fid)
                except SenderClosed as err:
                    self._answer(item, Outcome(fid, AckStatus.LOST, str(err), LossReason.SENDER_CLOSED))
                    continue
                delivery.outcome.add_done_callback(lambda done, item=item: self._answer(item, done.result()))
            return
        nbytes = with_overhead(wire_bytes(received), len(received), overhead)  # the rate cap charges headers too
        unchanged = message is not None and len(received) == len(datagrams) and all(
            after is before for after, before in zip(received, datagrams))
        if unchanged and stamped != overhead:
            # Protobuf merges concatenated messages, the last scalar winning: the message as it came, restamped.
            message += pb.Uplink(frame=pb.FramePackets(datagram_overhead=overhead)).SerializeToString()
        elif not unchanged:
            message = frame_message(received)
            message.frame.datagram_overhead = overhead
        riders = tuple(InTransit(fid, None, 0, hop, overhead=overhead) for fid in range(frame_id + 1, frame_id + frames))
        self.line.push(InTransit(frame_id, message, nbytes, hop, len(received), overhead, riders=riders), nbytes)

    def _forward(self, item: InTransit, delay_s: float) -> None:
        self.stats.delay.add(delay_s * 1000)
        self.metrics.delay.observe(delay_s)
        self._count_frames("forwarded", len(item.group()))
        self._count("out", item.nbytes - item.overhead * item.datagrams, item.datagrams, item.overhead)
        try:
            if item.riders:
                deliveries = item.hop.sender.forward_group_nowait([i.frame_id for i in item.group()], item.message,
                                                                  item.nbytes, item.datagrams, item.overhead)
            else:
                deliveries = [item.hop.sender.forward_nowait(item.frame_id, item.message, item.nbytes)]
        except (QueueFull, SenderClosed) as err:
            loss = LossReason.QUEUE_FULL if isinstance(err, QueueFull) else LossReason.SENDER_CLOSED
            for each in item.group():
                self._answer(each, Outcome(each.frame_id, AckStatus.LOST, str(err), loss))
            return
        for each, delivery in zip(item.group(), deliveries):
            delivery.outcome.add_done_callback(lambda done, each=each: self._answer(each, done.result()))

    def _count_frames(self, what: str, frames: int) -> None:
        self.stats.frames[what] += frames
        self.metrics.frames.labels(what).inc(frames)

    def _count(self, direction: str, datagram_bytes: int, datagrams: int, overhead: int) -> None:
        """Bytes in or out: the datagrams' own, and with ``overhead`` per datagram (``wire_bytes``)."""
        nbytes = with_overhead(datagram_bytes, datagrams, overhead)
        self.stats.bytes.update({f"wire_bytes_{direction}": nbytes, f"datagram_bytes_{direction}": datagram_bytes,
                                 f"datagrams_{direction}": datagrams})
        self.metrics.wire_bytes.labels(direction).inc(nbytes)
        self.metrics.datagrams.labels(direction).inc(datagrams)

    def _refuse(self, item: InTransit, reason: str) -> None:
        self._count_frames("lost_delay_line", len(item.group()))
        self._drop(item, f"channel_sim: {reason}")

    def _drop(self, item: InTransit, detail: str) -> None:
        """Ack ``item`` (each frame of its group) lost with ``detail``, without it reaching upstream."""
        for each in item.group():
            if not each.answered:
                each.answered = True
                self._reply(each.hop.sink, ack_message(each.frame_id, AckStatus.LOST, detail, LossReason.CHANNEL_SIM,
                                                       datagram_overhead=each.overhead))

    def _answer(self, item: InTransit, outcome: Outcome) -> None:
        if item.answered:  # a duplicate's second outcome
            return
        item.answered = True
        detail, loss = outcome.detail, outcome.loss
        if outcome.status is AckStatus.LOST and loss.at_hop:  # its own hop lost it, not the receiver
            detail, loss = f"channel_sim upstream: {detail}", LossReason.UPSTREAM
            self.stats.frames["lost_upstream"] += 1
        self._reply(item.hop.sink, ack_message(item.frame_id, outcome.status, detail, loss,
                                               datagram_overhead=item.overhead))

    def _reply(self, sink: AckSink, ack: pb.Ack) -> None:
        self.stats.acks[ack.status] += 1
        self.metrics.acks.labels(ack.status).inc()
        sink.reply(ack)

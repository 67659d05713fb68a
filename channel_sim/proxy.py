"""The proxy: per frame message, the packet channel, then the network impairments, then upstream; acks come back.

Each incoming message is parsed and validated by :mod:`semlink.wire` (a malformed one
is answered with a ``rejected`` ack, never fatal), passed through
:meth:`semlink.channel.Channel.transmit_frame` (packets lost or bit-flipped; the
header always goes on), delayed, rate-limited, duplicated or reordered by a
:class:`~semlink.link.network.DelayLine`, and forwarded upstream by a
:class:`~semlink.link.FrameSender`. The upstream's ack for a frame is relayed to
the stream the frame came from; a frame the proxy could not deliver upstream is
answered ``lost`` with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from channel_sim.spec import ChannelSpec
from channel_sim.stats import ProxyMetrics, ProxyStats
from semlink.channel import Channel
from semlink.link import FrameSender, Outcome, QueueFull, SenderClosed
from semlink.link.network import DelayLine, Network
from semlink.packets import MalformedFrame
from semlink.v1 import semlink_pb2 as pb
from semlink.wire import frame_from_bytes, frame_to_message

log = logging.getLogger(__name__)


class AckSink:
    """Where the acks for one incoming stream (or one unary ``Send``) go."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[pb.Ack] = asyncio.Queue()
        self.outstanding = 0
        self.closed = False

    def reply(self, ack: pb.Ack) -> None:
        self.outstanding -= 1
        if not self.closed:
            self.queue.put_nowait(ack)


@dataclass(eq=False)
class InTransit:
    """A frame message between the channel and upstream, with the sink its ack goes to."""

    frame_id: int
    message: pb.FrameMessage
    sink: AckSink
    answered: bool = False


def frame_id_of(data: bytes) -> int:
    """The frame id a message claims, for acking it even when it is malformed (0 if unreadable)."""
    message = pb.FrameMessage()
    try:
        message.ParseFromString(bytes(data))
    except DecodeError:
        return 0
    return message.header.frame_id


class Proxy:
    """The channel, the delay line and the upstream sender, with live reconfiguration and stats."""

    def __init__(self, spec: ChannelSpec, upstream: str, *, queue_size: int = 256, ack_timeout_s: float = 30.0,
                 delay_line_frames: int = 1024, delay_line_bytes: int = 256 * 2**20,
                 metrics: ProxyMetrics | None = None):
        self.initial = spec
        self.spec = spec
        self.channel = Channel(spec.channel_config())
        self.line = DelayLine(Network(spec.network_config()), self._forward, refuse=self._refuse,
                              max_items=delay_line_frames, max_bytes=delay_line_bytes)
        self.sender = FrameSender(upstream, queue_size=queue_size, ack_timeout_s=ack_timeout_s,
                                  name="channel_sim upstream")
        self.stats = ProxyStats()
        self.metrics = metrics or ProxyMetrics()

    async def start(self) -> None:
        self.metrics.upstream_connected.set_function(lambda: float(self.sender.connected))
        self.metrics.upstream_queue.set_function(lambda: self.sender.queue_depth)
        await self.sender.start()

    async def close(self) -> None:
        for item in self.line.clear():
            self._drop(item, "channel_sim stopped")
        await self.sender.close(grace_s=1.0)

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

    def stats_dict(self) -> dict:
        stats = self.stats.to_dict()
        stats["frames"].update(duplicated=self.line.counts["duplicated"], reordered=self.line.counts["reordered"])
        return {**stats, "in_delay_line": len(self.line), "upstream": self.sender.stats()}

    # --- the data path -------------------------------------------------------------------------
    def accept(self, data: bytes, sink: AckSink) -> None:
        """Take one serialized ``FrameMessage``; its ack will reach ``sink``."""
        sink.outstanding += 1
        self.stats.frames["in"] += 1
        self.metrics.frames.labels("in").inc()
        try:
            frame = frame_from_bytes(data)
        except MalformedFrame as err:
            self.stats.frames["rejected"] += 1
            self.metrics.frames.labels("rejected").inc()
            self._reply(sink, pb.Ack(frame_id=frame_id_of(data), status="rejected", detail=f"channel_sim: {err}"))
            return
        received, report = self.channel.transmit_frame(frame)
        self.stats.report = self.stats.report + report
        self.metrics.observe_report(report)
        message = frame_to_message(received)
        self.line.push(InTransit(frame.header.frame_id, message, sink), message.ByteSize())

    def _forward(self, item: InTransit, delay_s: float) -> None:
        self.stats.delay.add(delay_s * 1000)
        self.metrics.delay.observe(delay_s)
        self.stats.frames["forwarded"] += 1
        self.metrics.frames.labels("forwarded").inc()
        try:
            delivery = self.sender.submit_nowait(item.message)
        except (QueueFull, SenderClosed) as err:
            self._answer(item, Outcome(item.frame_id, "lost", str(err)))
            return
        delivery.outcome.add_done_callback(lambda done: self._answer(item, done.result()))

    def _refuse(self, item: InTransit, reason: str) -> None:
        self.stats.frames["lost_delay_line"] += 1
        self.metrics.frames.labels("lost_delay_line").inc()
        self._drop(item, f"channel_sim: {reason}")

    def _drop(self, item: InTransit, detail: str) -> None:
        """Ack ``item`` lost with ``detail``, without it reaching upstream."""
        if not item.answered:
            item.answered = True
            self._reply(item.sink, pb.Ack(frame_id=item.frame_id, status="lost", detail=detail))

    def _answer(self, item: InTransit, outcome: Outcome) -> None:
        if item.answered:  # a duplicate's second outcome
            return
        item.answered = True
        detail = outcome.detail
        if outcome.status == "lost":
            detail = f"channel_sim upstream: {detail}"
            self.stats.frames["lost_upstream"] += 1
        self._reply(item.sink, pb.Ack(frame_id=item.frame_id, status=outcome.status, detail=detail))

    def _reply(self, sink: AckSink, ack: pb.Ack) -> None:
        self.stats.acks[ack.status] += 1
        self.metrics.acks.labels(ack.status).inc()
        sink.reply(ack)

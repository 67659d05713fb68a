"""The gRPC side: a ``FeatureLink`` servicer that opens a session per stream and hands its frames to ``FrameIngest``.

Requests are parsed by a tolerant deserializer: bytes that are not an ``Uplink``
get a ``rejected`` ack (``malformed: ...``) like any other bad message, instead
of failing the call (and ending the whole stream). The first message of a stream
must be its session; a refused session is answered with the reason and the
stream ends, so no frame is ever streamed into it.

Acks go out as frames finish, so they may come back in a different order than
the frames went out (a frame missing packets waits for its deadline; a complete
one does not). Parsing a message is bounded by the session (packets per frame,
bytes per packet) before any packet is looked at.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc

from semlink.packets import MalformedFrame, SessionRefused
from semlink.receiver import FrameIngest
from semlink.receiver.ingest import AckOutcome, StreamState
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import Unparsable, ack_message, message_to_session, parse_uplink
from receiver_service.metrics import ReceiverMetrics

log = logging.getLogger(__name__)

SERVICE = "semlink.v2.FeatureLink"


def session_reply(ingest: FrameIngest, msg: pb.Session) -> tuple[pb.SessionReply, StreamState | None]:
    """Read a stream's ``Session`` and let ``ingest`` decide; its decision as the ``SessionReply`` to send."""
    try:
        decision = ingest.open_session(message_to_session(msg))
    except MalformedFrame as err:
        decision = ingest.refuse_session(msg.session_id, SessionRefused("malformed", str(err)))
    return pb.SessionReply(session_id=decision.session_id, accepted=decision.accepted, reason=decision.reason,
                           detail=decision.detail), decision.state


def downlink(outcome: AckOutcome) -> pb.Downlink:
    """One frame's outcome as the ``Downlink`` that acks it."""
    overhead = outcome.link.datagram_overhead if outcome.link is not None else 0
    return pb.Downlink(ack=ack_message(outcome.frame_id, outcome.status, outcome.detail, outcome.loss,
                                       datagram_overhead=overhead))


class FeatureLinkServicer:
    """Receives a session, then frames; one ``Ack`` per frame, in the order frames finish."""

    def __init__(self, ingest: FrameIngest, metrics: ReceiverMetrics):
        self.ingest = ingest
        self.metrics = metrics

    async def _open(self, request_iterator: AsyncIterator) -> tuple[pb.Downlink, StreamState | None]:
        first = await anext(aiter(request_iterator), None)
        if first is None:
            return None, None
        if isinstance(first, Unparsable) or first.WhichOneof("kind") != "session":
            what = "bytes that are not an Uplink" if isinstance(first, Unparsable) else first.WhichOneof("kind")
            reply = pb.SessionReply(accepted=False, reason="malformed",
                                    detail=f"a stream must open with a Session, got {what}")
            return pb.Downlink(session=reply), None
        reply, state = session_reply(self.ingest, first.session)
        self.metrics.sessions.labels("accepted" if state else reply.reason).inc()
        return pb.Downlink(session=reply), state

    async def Stream(self, request_iterator: AsyncIterator, context: grpc.aio.ServicerContext):
        reply, state = await self._open(request_iterator)
        if reply is None:
            return
        yield reply
        if state is None:
            return

        async def read() -> None:
            try:
                async for msg in request_iterator:
                    kind = None if isinstance(msg, Unparsable) else msg.WhichOneof("kind")
                    if kind == "frame":
                        self.ingest.receive(state, msg.frame.packets, msg.frame.datagram_overhead)
                    elif kind == "report":
                        self.ingest.report(state, msg.report.last_frame_id)
                    elif kind is None:
                        detail = (f"{msg.size} bytes are not a semlink.v2.Uplink ({msg.error})"
                                  if isinstance(msg, Unparsable) else "an empty Uplink")
                        self.ingest.reject(state, "malformed", detail)
                    else:
                        self.ingest.reject(state, "malformed", f"a second {kind} on an open stream")
                    await asyncio.sleep(0)  # let acks and other streams through between messages
            except Exception as err:  # the client went away or the transport failed
                log.info("stream from %s ended: %s", context.peer(), err)

        reader = asyncio.create_task(read())
        ack_wait: asyncio.Task | None = None
        try:
            while True:
                ack_wait = asyncio.create_task(state.acks.get())
                done, _ = await asyncio.wait({ack_wait, reader}, return_when=asyncio.FIRST_COMPLETED)
                if ack_wait in done:
                    yield downlink(ack_wait.result())
                    continue
                ack_wait.cancel()
                # the client stopped sending: flush what is already answered, then end the stream
                while not state.acks.empty():
                    yield downlink(state.acks.get_nowait())
                return
        finally:
            # the call may end (the client gone) while both wait: neither task may be left pending, or asyncio
            # logs "Task was destroyed but it is pending!" when it is collected
            self.ingest.close_stream(state)
            waiting = [task for task in (reader, ack_wait) if task is not None]
            for task in waiting:
                task.cancel()
            await asyncio.gather(*waiting, return_exceptions=True)


def add_feature_link(server: grpc.aio.Server, ingest: FrameIngest, metrics: ReceiverMetrics) -> None:
    """Register the servicer as the generated ``add_FeatureLinkServicer_to_server`` does, with the tolerant parser."""
    servicer = FeatureLinkServicer(ingest, metrics)
    handlers = {
        "Stream": grpc.stream_stream_rpc_method_handler(
            servicer.Stream, request_deserializer=parse_uplink,
            response_serializer=pb.Downlink.SerializeToString),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)

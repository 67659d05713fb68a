"""The proxy's gRPC face: ``semlink.v2.FeatureLink`` served on raw request bytes.

The proxy takes each request as bytes and parses it itself, so a message that does
not even parse is answered with a ``rejected`` ack on the same stream instead of
grpc failing the whole call. A stream's first message must be its session, which
is carried upstream and answered with the receiver's own reply.
"""

from __future__ import annotations

import asyncio
import logging

import grpc

from channel_sim.proxy import AckSink, Proxy
from semlink.link.sender import MESSAGE_SIZE_OPTIONS
from semlink.packets import MalformedFrame
from semlink.v2 import semlink_pb2 as pb
from semlink.packets.outcome import AckStatus
from semlink.wire import Unparsable, ack_message, message_to_session, parse_uplink

log = logging.getLogger(__name__)

SERVICE = pb.DESCRIPTOR.services_by_name["FeatureLink"].full_name
SERVER_OPTIONS = MESSAGE_SIZE_OPTIONS  # the same limit as every other hop: a frame that fits one fits all


def _refused(reason: str, detail: str, session_id: int = 0) -> pb.Downlink:
    return pb.Downlink(session=pb.SessionReply(session_id=session_id, accepted=False, reason=reason, detail=detail))


class FeatureLinkProxy:
    """``Stream``: a session, then every frame message acked on the stream it came on."""

    def __init__(self, proxy: Proxy):
        self.proxy = proxy

    async def Stream(self, request_iterator, context):
        first = await anext(aiter(request_iterator), None)
        msg = parse_uplink(first) if first is not None else None
        if msg is None or isinstance(msg, Unparsable) or msg.WhichOneof("kind") != "session":
            yield _refused("malformed", "a stream must open with a Session")
            return
        try:
            session = message_to_session(msg.session)
        except MalformedFrame as err:
            yield _refused("malformed", f"channel_sim: {err}", msg.session.session_id)
            return
        sink = AckSink()
        hop, reply = await self.proxy.open_hop(session, sink)
        yield pb.Downlink(session=reply)
        if hop is None:
            return

        async def read():
            async for data in request_iterator:
                uplink = parse_uplink(data)
                kind = None if isinstance(uplink, Unparsable) else uplink.WhichOneof("kind")
                if kind == "frame":
                    outstanding = sink.outstanding
                    try:
                        self.proxy.accept(hop, uplink.frame.packets, sink, data, uplink.frame.datagram_overhead)
                    except Exception:  # a bug on one frame must not end the stream
                        log.exception("channel_sim failed on a %d-byte message", len(data))
                        sink.outstanding = outstanding + 1  # counted once, however far accept() got
                        sink.reply(ack_message(0, AckStatus.REJECTED, "channel_sim internal error (see its log)"))
                elif kind != "report":  # reports: the hop's own sender reports what it forwarded and erased
                    self.proxy.stats.frames["rejected"] += 1
                    sink.outstanding += 1
                    sink.reply(ack_message(0, AckStatus.REJECTED, f"channel_sim: unexpected {kind or 'bytes'} "
                                                                  "on an open stream"))

        reader = asyncio.create_task(read())
        reader.add_done_callback(lambda _: sink.requests_ended())
        try:
            while (ack := await sink.queue.get()) is not None:  # one await per ack: no task or wait set per ack
                yield pb.Downlink(ack=ack)
            if not reader.cancelled() and reader.exception() is not None:
                raise reader.exception()
        finally:
            sink.closed = True
            reader.cancel()
            await self.proxy.close_hop(hop)


def add_to_server(servicer: FeatureLinkProxy, server: grpc.aio.Server) -> None:
    handlers = {
        "Stream": grpc.stream_stream_rpc_method_handler(servicer.Stream,
                                                        response_serializer=pb.Downlink.SerializeToString),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))

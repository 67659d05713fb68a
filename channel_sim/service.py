"""The proxy's gRPC face: ``semlink.v1.FeatureLink`` served on raw request bytes.

The proxy takes each request as bytes and hands them to :mod:`semlink.wire` itself,
so a message that does not even parse is answered with a ``rejected`` ack on the
same stream instead of grpc failing the whole call.
"""

from __future__ import annotations

import asyncio
import logging

import grpc

from channel_sim.proxy import AckSink, Proxy
from semlink.v1 import semlink_pb2 as pb

log = logging.getLogger(__name__)

SERVICE = pb.DESCRIPTOR.services_by_name["FeatureLink"].full_name
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # Florence-2-large features in float32 are ~4.7 MB, above grpc's 4 MB default
SERVER_OPTIONS = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                  ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]


class FeatureLinkProxy:
    """``Stream``: every message is acked on the stream it came on; ``Send``: one message, one ack."""

    def __init__(self, proxy: Proxy, send_timeout_s: float):
        self.proxy = proxy
        self.send_timeout_s = send_timeout_s

    def _accept(self, data: bytes, sink: AckSink) -> None:
        try:
            self.proxy.accept(data, sink)
        except Exception:  # a bug on one frame must not end the stream
            log.exception("channel_sim failed on a %d-byte message", len(data))
            sink.reply(pb.Ack(status="rejected", detail="channel_sim internal error on this message (see its log)"))

    async def Stream(self, request_iterator, context):
        sink = AckSink()

        async def read():
            async for data in request_iterator:
                self._accept(data, sink)

        reader = asyncio.create_task(read())
        getter: asyncio.Future | None = None
        try:
            while not (reader.done() and sink.outstanding <= 0 and sink.queue.empty()):
                getter = asyncio.ensure_future(sink.queue.get())
                waiting = {getter} if reader.done() else {getter, reader}
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield getter.result()
                else:
                    getter.cancel()
            if not reader.cancelled() and reader.exception() is not None:
                raise reader.exception()
        finally:
            sink.closed = True
            reader.cancel()
            if getter is not None:
                getter.cancel()

    async def Send(self, request: bytes, context):
        sink = AckSink()
        self._accept(request, sink)
        try:
            return await asyncio.wait_for(sink.queue.get(), self.send_timeout_s)
        except TimeoutError:
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED,
                                f"no ack from upstream {self.proxy.sender.target} within {self.send_timeout_s:g} s")
        finally:
            sink.closed = True


def add_to_server(servicer: FeatureLinkProxy, server: grpc.aio.Server) -> None:
    handlers = {
        "Stream": grpc.stream_stream_rpc_method_handler(servicer.Stream, response_serializer=pb.Ack.SerializeToString),
        "Send": grpc.unary_unary_rpc_method_handler(servicer.Send, response_serializer=pb.Ack.SerializeToString),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))

"""The gRPC side: a typed ``FeatureLink`` servicer that hands every message to ``FrameIngest`` and acks it.

Requests are parsed by a tolerant deserializer: bytes that are not a
``FrameMessage`` get a ``rejected`` ack (``malformed: ...``) like any other bad
frame, instead of failing the call (and ending the whole stream).

``Stream`` reads messages as they come and sends each ack as soon as its frame
is finished, so acks may come back in a different order than the frames went
out (a frame missing packets waits for its deadline; a complete one does not).
At most ``MAX_IN_FLIGHT`` messages per stream wait for their acks; beyond that
the stream stops reading (back-pressure on the sender).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc
from google.protobuf.message import DecodeError

from semlink.receiver import FrameIngest
from semlink.v1 import semlink_pb2 as pb
from semlink.v1 import semlink_pb2_grpc as pb_grpc
from receiver_service.metrics import ReceiverMetrics

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 256
SERVICE = "semlink.v1.FeatureLink"


class Unparsable:
    """Request bytes that are not a ``semlink.v1.FrameMessage``."""

    def __init__(self, size: int, error: str):
        self.size = size
        self.error = error


def parse_frame_message(data: bytes) -> pb.FrameMessage | Unparsable:
    try:
        return pb.FrameMessage.FromString(data)
    except DecodeError as err:
        return Unparsable(len(data), str(err))


class FeatureLinkServicer(pb_grpc.FeatureLinkServicer):
    """Receives frames; one ``Ack`` per ``FrameMessage``."""

    def __init__(self, ingest: FrameIngest, metrics: ReceiverMetrics):
        self.ingest = ingest
        self.metrics = metrics

    async def _ack(self, msg: pb.FrameMessage | Unparsable) -> pb.Ack:
        if isinstance(msg, Unparsable):
            outcome = self.ingest.reject(0, "malformed", f"{msg.size} bytes are not a semlink.v1.FrameMessage "
                                                         f"({msg.error})")
        else:
            outcome = await self.ingest.receive(msg)
        if outcome.duplicate:
            self.metrics.duplicates.inc()
        return outcome.to_message()

    async def Send(self, request: pb.FrameMessage | Unparsable, context: grpc.aio.ServicerContext) -> pb.Ack:
        return await self._ack(request)

    async def Stream(self, request_iterator: AsyncIterator[pb.FrameMessage | Unparsable],
                     context: grpc.aio.ServicerContext) -> AsyncIterator[pb.Ack]:
        acks: asyncio.Queue[pb.Ack | None] = asyncio.Queue()
        slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        handlers: set[asyncio.Task] = set()

        async def handle(msg: pb.FrameMessage | Unparsable) -> None:
            try:
                acks.put_nowait(await self._ack(msg))
            finally:
                slots.release()

        async def read() -> None:
            try:
                async for msg in request_iterator:
                    await slots.acquire()
                    task = asyncio.create_task(handle(msg))
                    handlers.add(task)
                    task.add_done_callback(handlers.discard)
                if handlers:
                    await asyncio.gather(*handlers, return_exceptions=True)
            except Exception as err:  # the client went away or sent bytes that do not parse
                log.info("stream from %s ended: %s", context.peer(), err)
            finally:
                acks.put_nowait(None)

        reader = asyncio.create_task(read())
        try:
            while (ack := await acks.get()) is not None:
                yield ack
        finally:
            reader.cancel()
            for task in list(handlers):
                task.cancel()
            await asyncio.gather(reader, *handlers, return_exceptions=True)


def add_feature_link(server: grpc.aio.Server, ingest: FrameIngest, metrics: ReceiverMetrics) -> None:
    """Register the servicer as the generated ``add_FeatureLinkServicer_to_server`` does, with the tolerant parser."""
    servicer = FeatureLinkServicer(ingest, metrics)
    handlers = {
        "Stream": grpc.stream_stream_rpc_method_handler(
            servicer.Stream, request_deserializer=parse_frame_message,
            response_serializer=pb.Ack.SerializeToString),
        "Send": grpc.unary_unary_rpc_method_handler(
            servicer.Send, request_deserializer=parse_frame_message,
            response_serializer=pb.Ack.SerializeToString),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)

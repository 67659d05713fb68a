"""The barest FeatureLink hop: a grpc.aio server relaying each stream to an upstream stream, message for message.

The yardstick for channel_sim's throughput (``semlink bench proxy``): requests relayed
as the bytes that came (no protobuf parsing or re-serialising either way), no
channel, no delay line, no acks of its own.
    python -m semlink.bench.passthrough LISTEN_PORT UPSTREAM_HOST:PORT
"""

from __future__ import annotations

import argparse
import asyncio

import grpc

from semlink.link.grpc_server import FEATURE_LINK
from semlink.link.sender import MESSAGE_SIZE_OPTIONS, STREAM_METHOD


class PassThrough:
    """Each incoming stream becomes one upstream stream, bytes in both directions."""

    def __init__(self, upstream: str):
        self.channel = grpc.aio.insecure_channel(upstream, options=MESSAGE_SIZE_OPTIONS)
        self.stream = self.channel.stream_stream(STREAM_METHOD)  # no serializers: bytes as they are

    async def Stream(self, request_iterator, context):
        async for reply in self.stream(request_iterator):
            yield reply


async def serve(port: int, upstream: str) -> None:
    server = grpc.aio.server(options=MESSAGE_SIZE_OPTIONS)
    handler = grpc.stream_stream_rpc_method_handler(PassThrough(upstream).Stream)  # bytes in, bytes out
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(FEATURE_LINK, {"Stream": handler}),))
    if server.add_insecure_port(f"127.0.0.1:{port}") == 0:
        raise OSError(f"could not bind 127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m semlink.bench.passthrough", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("port", type=int)
    p.add_argument("upstream")
    args = p.parse_args()
    asyncio.run(serve(args.port, args.upstream))


if __name__ == "__main__":
    main()

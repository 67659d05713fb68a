"""The barest FeatureLink hop: a grpc.aio server relaying each stream to an upstream stream, message for message.

The yardstick for channel_sim's throughput (``semlink bench proxy``): no parsing,
no channel, no delay line, no acks of its own.
    python -m semlink.bench.passthrough LISTEN_PORT UPSTREAM_HOST:PORT
"""

from __future__ import annotations

import argparse
import asyncio

import grpc

from semlink.link.sender import MESSAGE_SIZE_OPTIONS
from semlink.v2 import semlink_pb2_grpc as pb_grpc


class PassThrough(pb_grpc.FeatureLinkServicer):
    """Each incoming stream becomes one upstream stream; replies come back as they are."""

    def __init__(self, upstream: str):
        self.channel = grpc.aio.insecure_channel(upstream, options=MESSAGE_SIZE_OPTIONS)
        self.stub = pb_grpc.FeatureLinkStub(self.channel)

    async def Stream(self, request_iterator, context):
        async for reply in self.stub.Stream(request_iterator):
            yield reply


async def serve(port: int, upstream: str) -> None:
    server = grpc.aio.server(options=MESSAGE_SIZE_OPTIONS)
    pb_grpc.add_FeatureLinkServicer_to_server(PassThrough(upstream), server)
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

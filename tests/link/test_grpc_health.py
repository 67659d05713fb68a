"""Every gRPC server speaks grpc.health.v1 (following readiness) and server reflection; the token spares both."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from channel_sim.main import create_app
from channel_sim.settings import ChannelSimSettings
from semlink.link.grpc_server import FEATURE_LINK, HEALTH, LinkServer
from semlink.launch.ports import free_port
from tests.helpers.link import RecordingReceiver, serving
from semlink.v2 import semlink_pb2_grpc as pb_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def check(target: str, service: str = "") -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service),
                                                               timeout=5)
        return reply.status


async def eventually(target: str, status: int, service: str = "", timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (got := await check(target, service)) != status:
        assert loop.time() < deadline, f"health of {service or 'the server'} stayed {got}, wanted {status}"
        await asyncio.sleep(0.05)


def reflected_services(target: str) -> list[str]:
    """What grpcurl's ``list`` shows, asked the same way (a blocking client: run it off the event loop)."""
    with grpc.insecure_channel(target) as channel:
        return ProtoReflectionDescriptorDatabase(channel).get_services()


def test_health_follows_readiness_for_the_server_and_its_service():
    async def main():
        ready = False
        receiver = RecordingReceiver()
        server = LinkServer(ready=lambda: ready)
        pb_grpc.add_FeatureLinkServicer_to_server(receiver, server.server)
        target = f"127.0.0.1:{server.bind('127.0.0.1:0')}"
        await server.start()
        try:
            assert await check(target) == NOT_SERVING
            assert await check(target, FEATURE_LINK) == NOT_SERVING
            ready = True
            await eventually(target, SERVING)
            assert await check(target, FEATURE_LINK) == SERVING
            async with grpc.aio.insecure_channel(target) as channel:  # Watch: how client-side health checks see it
                watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
                assert (await watch.read()).status == SERVING
                ready = False
                assert (await asyncio.wait_for(watch.read(), 5)).status == NOT_SERVING
                watch.cancel()
            await eventually(target, NOT_SERVING, FEATURE_LINK)
        finally:
            await server.stop(None)
    run(main())


def test_unknown_service_is_not_found():
    async def main():
        server = LinkServer()
        target = f"127.0.0.1:{server.bind('127.0.0.1:0')}"
        await server.start()
        try:
            try:
                await check(target, "no.such.Service")
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.NOT_FOUND
            else:
                raise AssertionError("an unknown service answered")
        finally:
            await server.stop(None)
    run(main())


def test_reflection_lists_featurelink_and_describes_it():
    async def main():
        server = LinkServer()
        pb_grpc.add_FeatureLinkServicer_to_server(RecordingReceiver(), server.server)
        target = f"127.0.0.1:{server.bind('127.0.0.1:0')}"
        await server.start()
        try:
            services = await asyncio.to_thread(reflected_services, target)
            assert FEATURE_LINK in services and HEALTH in services
            assert "grpc.reflection.v1alpha.ServerReflection" in services

            def describe():
                with grpc.insecure_channel(target) as channel:
                    return ProtoReflectionDescriptorDatabase(channel).FindFileContainingSymbol(FEATURE_LINK)
            proto = await asyncio.to_thread(describe)
            stream = next(m for s in proto.service for m in s.method if m.name == "Stream")
            assert stream.client_streaming and stream.server_streaming
            assert stream.input_type.endswith("Uplink") and stream.output_type.endswith("Downlink")
        finally:
            await server.stop(None)
    run(main())


def test_channel_sim_serves_health_and_reflection_and_keeps_them_open_under_a_token():
    async def main():
        port = free_port()
        settings = ChannelSimSettings(grpc_port=port, http_port=0, upstream="127.0.0.1:1", grpc_token="s3cret")
        async with serving(create_app(settings)):
            target = f"127.0.0.1:{port}"
            await eventually(target, SERVING)  # no token needed: probes send none
            assert FEATURE_LINK in await asyncio.to_thread(reflected_services, target)
            async with grpc.aio.insecure_channel(target) as channel:
                call = pb_grpc.FeatureLinkStub(channel).Stream(timeout=5)
                try:
                    await call.read()
                except grpc.aio.AioRpcError as err:
                    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
                    assert "authorization: Bearer" in err.details()
                else:
                    raise AssertionError("FeatureLink answered a call without the token")
    run(main())


def test_threaded_test_receiver_serves_health_and_reflection_too():
    from tests.helpers.link import ThreadedReceiver

    receiver = ThreadedReceiver().start()
    try:
        with grpc.insecure_channel(receiver.target) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=FEATURE_LINK),
                                                             timeout=5)
            assert reply.status == SERVING
        assert FEATURE_LINK in reflected_services(receiver.target)
    finally:
        receiver.stop()

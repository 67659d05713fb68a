"""The receiver's gRPC server: health SERVING only while the receiver is ready, TLS and token from its settings."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from receiver_service.receiver import Receiver
from receiver_service.settings import ReceiverSettings
from semlink.link.grpc_server import FEATURE_LINK
from semlink.security.certs import make_dev_pki
from semlink.security.tls import ClientTls
from semlink.v2 import semlink_pb2_grpc as pb_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def health(channel, service: str = "") -> int:
    reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    return reply.status


async def until(condition, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_receiver_health_follows_its_readiness_over_mutual_tls_with_a_token(tiny, tmp_path):
    pki = make_dev_pki(tmp_path)
    rx, tx = pki.services["receiver_service"], pki.services["transmitter_service"]
    settings = ReceiverSettings(model="tiny-random", codec="q8", device="cpu", host="127.0.0.1", grpc_port=0,
                                grace_s=0, tls_cert=str(rx.cert), tls_key=str(rx.key), tls_ca=str(pki.ca),
                                tls_client_auth=True, grpc_token="s3cret")

    async def main():
        receiver = Receiver(settings, bundle=tiny)
        receiver.start()
        try:
            await until(lambda: receiver.ready or receiver.failed)
            assert receiver.failed is None, receiver.failed
            # A probe's plain channel (no token: probes send none). link_channel would not even try a receiver
            # that is not SERVING: its client-side health checking answers "backend unhealthy" at once.
            tls = ClientTls(str(pki.ca), str(tx.cert), str(tx.key))
            channel = grpc.aio.secure_channel(f"127.0.0.1:{receiver.grpc_port}", tls.credentials())
            try:
                for _ in range(100):
                    if await health(channel) == SERVING:
                        break
                    await asyncio.sleep(0.05)
                assert await health(channel) == SERVING and await health(channel, FEATURE_LINK) == SERVING
                call = pb_grpc.FeatureLinkStub(channel).Stream(timeout=5)
                try:
                    await call.read()
                except grpc.aio.AioRpcError as err:
                    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
                else:
                    raise AssertionError("the receiver took a FeatureLink call without its token")
                await receiver.batcher.stop()  # the model runner gone: not ready, so not serving
                assert not receiver.ready
                for _ in range(100):
                    if await health(channel) == NOT_SERVING:
                        break
                    await asyncio.sleep(0.05)
                assert await health(channel) == NOT_SERVING and await health(channel, FEATURE_LINK) == NOT_SERVING
            finally:
                await channel.close()
        finally:
            await receiver.stop()
    asyncio.run(asyncio.wait_for(main(), 60))

"""Both gRPC hops secured: transmitter-side sender → channel_sim → receiver, mutual TLS and a token on each hop,
configured through channel_sim's settings; a wrong upstream token comes back to the sender as a refused session."""

from __future__ import annotations

import asyncio

from channel_sim.main import create_app
from channel_sim.settings import ChannelSimSettings
from semlink.link import Backoff, FrameSender
from semlink.link.grpc_channel import LinkSecurity
from semlink.launch.ports import free_port
from tests.helpers.link import RecordingReceiver, make_frame, make_session, serving
from semlink.security.tls import ClientTls, ServerTls

FAST = Backoff(initial_s=0.05, max_s=0.4)


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def channel_sim_settings(pki, upstream: str, upstream_token: str) -> ChannelSimSettings:
    ch = pki.services["channel_sim"]
    return ChannelSimSettings(grpc_port=free_port(), upstream=upstream, tls_cert=str(ch.cert), tls_key=str(ch.key),
                              tls_ca=str(pki.ca), tls_client_auth=True, grpc_token="hop-1",
                              upstream_token=upstream_token, session_timeout_s=3)


async def through_channel_sim(pki, upstream_token: str):
    rx = pki.services["receiver_service"]
    receiver = await RecordingReceiver(tls=ServerTls(str(rx.cert), str(rx.key), str(pki.ca)), token="hop-2").start()
    settings = channel_sim_settings(pki, receiver.target, upstream_token)
    tx = pki.services["transmitter_service"]
    security = LinkSecurity(ClientTls(str(pki.ca), str(tx.cert), str(tx.key)), token="hop-1")
    try:
        async with serving(create_app(settings)) as url:
            sender = FrameSender(f"127.0.0.1:{settings.grpc_port}", backoff=FAST, session=make_session(),
                                 security=security)
            async with sender:
                delivery = await sender.submit(make_frame(0))
                outcome = await asyncio.wait_for(delivery.outcome, 20)
                return outcome, sender.stats(), receiver, url
    finally:
        await receiver.stop(None)


def test_a_frame_crosses_both_secured_hops(pki):
    outcome, stats, receiver, _ = run(through_channel_sim(pki, upstream_token="hop-2"))
    assert outcome.status == "ok", outcome
    assert len(receiver.frames) == 1 and receiver.sessions[0].session_id == make_session().session_id
    assert stats["session_refused"] is None


def test_channel_sim_with_the_wrong_upstream_token_relays_the_refusal(pki):
    outcome, stats, receiver, _ = run(through_channel_sim(pki, upstream_token="not-hop-2"))
    assert receiver.frames == []
    assert outcome.status == "rejected"
    assert stats["session_refused"].startswith("unauthenticated: wrong bearer token"), stats["session_refused"]

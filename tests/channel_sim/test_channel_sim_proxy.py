"""channel_sim in this process (real gRPC and HTTP on loopback): impairments, ack relay, upstream outages."""

from __future__ import annotations

import asyncio
import math
from collections import Counter

import grpc
import httpx
import pytest

from channel_sim.main import create_app
from channel_sim.settings import ChannelSimSettings
from semlink.link import Backoff, FrameSender
from semlink.link.serve import parse_settings
from semlink.link.testing import RecordingReceiver, free_port, make_frame, serving
from semlink.v1 import semlink_pb2 as pb
from semlink.wire import frame_to_message


def run(coro, timeout=15):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def through_proxy(frames, upstream: str, **channel):
    """Send ``frames`` through an in-process channel_sim; returns (outcomes, stats)."""
    grpc_port = free_port()
    settings = ChannelSimSettings(upstream=upstream, grpc_port=grpc_port, **channel)
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
        async with FrameSender(f"127.0.0.1:{grpc_port}") as sender:
            deliveries = [await sender.submit(f) for f in frames]
            outcomes = await asyncio.gather(*(d.outcome for d in deliveries))
        return outcomes, (await client.get("/v1/stats")).json()


def test_duplicates_reach_the_receiver_but_each_frame_is_acked_once():
    async def main():
        rx = await RecordingReceiver().start()
        try:
            outcomes, stats = await through_proxy([make_frame(i) for i in range(20)], rx.target, duplicate=1.0)
        finally:
            await rx.stop()
        return outcomes, stats, Counter(f.header.frame_id for f in rx.frames)

    outcomes, stats, copies = run(main())
    assert [o.status for o in outcomes] == ["ok"] * 20
    assert set(copies.values()) == {2} and len(copies) == 20
    assert stats["frames"]["duplicated"] == 20 and stats["frames"]["forwarded"] == 40


def test_delay_and_bit_errors_are_applied_and_reported():
    async def main():
        rx = await RecordingReceiver().start()
        try:
            frames = [make_frame(i, packets=8, payload_bytes=256) for i in range(40)]
            outcomes, stats = await through_proxy(frames, rx.target, delay_ms=30, ber=1e-3, seed=3)
        finally:
            await rx.stop()
        return outcomes, stats

    outcomes, stats = run(main())
    assert all(o.delivered for o in outcomes)
    assert stats["delay"]["count"] == 40 and stats["delay"]["mean_ms"] >= 29.0
    buckets = stats["delay"]["buckets"]
    assert sum(buckets[k] for k in ("le_0ms", "le_1ms", "le_2ms", "le_5ms", "le_10ms", "le_20ms")) == 0
    bits = 40 * 8 * 256 * 8
    assert stats["bits"]["total"] == bits
    assert abs(stats["realised_ber"] - 1e-3) < 5 * math.sqrt(1e-3 / bits)
    assert stats["packets"]["corrupted"] > 0 and stats["packets"]["dropped"] == 0


def test_upstream_down_then_up_frames_are_delivered_or_lost_with_a_reason():
    async def main():
        upstream = free_port()
        grpc_port = free_port()
        settings = ChannelSimSettings(upstream=f"127.0.0.1:{upstream}", grpc_port=grpc_port, queue_size=4)
        async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
            async with FrameSender(f"127.0.0.1:{grpc_port}", backoff=Backoff(0.05, 0.5)) as sender:
                deliveries = [await sender.submit(make_frame(i)) for i in range(12)]
                await asyncio.sleep(0.5)
                early = [d.outcome.result() for d in deliveries if d.outcome.done()]
                ready = (await client.get("/health/ready")).json()
                rx = await RecordingReceiver(port=upstream).start()
                try:
                    outcomes = await asyncio.gather(*(d.outcome for d in deliveries))
                finally:
                    await rx.stop()
        return early, ready, outcomes

    early, ready, outcomes = run(main())
    assert ready["ready"] and not ready["upstream_connected"]
    # the proxy's upstream queue holds 4 (+1 being written); the rest are refused at once, with the reason
    assert early and all(o.status == "lost" and "queue full" in o.detail for o in early)
    statuses = Counter(o.status for o in outcomes)
    assert statuses["ok"] >= 4 and statuses["ok"] + statuses["lost"] == 12
    assert all(o.detail.startswith("channel_sim upstream: ") for o in outcomes if o.status == "lost")


def test_unary_send_is_proxied():
    async def main():
        rx = await RecordingReceiver().start()
        grpc_port = free_port()
        try:
            settings = ChannelSimSettings(upstream=rx.target, grpc_port=grpc_port)
            async with serving(create_app(settings)):
                async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
                    from semlink.v1 import semlink_pb2_grpc as pb_grpc

                    return await pb_grpc.FeatureLinkStub(channel).Send(frame_to_message(make_frame(3)), timeout=5)
        finally:
            await rx.stop()

    ack = run(main())
    assert isinstance(ack, pb.Ack) and (ack.frame_id, ack.status) == (3, "ok")


def test_settings_from_environment_and_flags(monkeypatch):
    monkeypatch.setenv("SEMLINK_CH_LOSS", "0.2")
    monkeypatch.setenv("SEMLINK_CH_GRPC_PORT", "6000")
    settings = parse_settings(ChannelSimSettings, ["--grpc-port", "6001", "--delay-ms", "7"], "channel_sim", "")
    assert (settings.loss, settings.grpc_port, settings.delay_ms) == (0.2, 6001, 7.0)
    assert settings.initial_spec().channel_config().loss == "bernoulli"
    with pytest.raises(SystemExit):
        parse_settings(ChannelSimSettings, ["--loss", "1.5"], "channel_sim", "")

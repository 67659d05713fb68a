"""channel_sim in this process (real gRPC and HTTP on loopback): sessions, impairments, ack relay, upstream outages."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from dataclasses import replace

import httpx
import pytest

from channel_sim.main import create_app
from channel_sim.settings import ChannelSimSettings
from semlink.link import Backoff, FrameSender
from semlink.http.serve import parse_settings
from semlink.launch.ports import free_port
from tests.helpers.link import RecordingReceiver, make_frame, make_session, serving
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import frame_message, group_datagrams

SESSION = make_session()
SESSION8 = make_session(packets=8)


def run(coro, timeout=15):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def through_proxy(frames, upstream: str, session=SESSION, **channel):
    """Send ``frames`` through an in-process channel_sim; returns (outcomes, stats)."""
    grpc_port = free_port()
    settings = ChannelSimSettings(upstream=upstream, grpc_port=grpc_port, **channel)
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
        async with FrameSender(f"127.0.0.1:{grpc_port}", session=session) as sender:
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
            frames = [make_frame(i, packets=8, payload_bytes=256, session=SESSION8) for i in range(40)]
            outcomes, stats = await through_proxy(frames, rx.target, SESSION8, delay_ms=30, ber=1e-4, seed=3)
        finally:
            await rx.stop()
        return outcomes, stats

    outcomes, stats = run(main())
    assert all(o.delivered for o in outcomes)
    assert stats["delay"]["count"] == 40 and stats["delay"]["mean_ms"] >= 29.0
    buckets = stats["delay"]["buckets"]
    assert sum(buckets[k] for k in ("le_0ms", "le_1ms", "le_2ms", "le_5ms", "le_10ms", "le_20ms")) == 0
    bits = 40 * 8 * (256 + 7) * 8  # every bit of every datagram: header, payload and CRC-32
    assert stats["bits"]["total"] == bits and stats["wire_bytes"]["in"] == bits // 8
    assert abs(stats["realised_ber"] - 1e-4) < 5 * math.sqrt(1e-4 / bits)
    assert stats["packets"]["corrupted"] > 0 and stats["packets"]["dropped"] == 0
    assert any(o.status == "partial" for o in outcomes)  # a corrupted datagram is a lost packet


def test_upstream_down_the_session_is_refused_then_frames_flow_when_it_is_up():
    async def main():
        upstream = free_port()
        grpc_port = free_port()
        settings = ChannelSimSettings(upstream=f"127.0.0.1:{upstream}", grpc_port=grpc_port, session_timeout_s=0.5)
        async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
            async with FrameSender(f"127.0.0.1:{grpc_port}", backoff=Backoff(0.05, 0.5), session=SESSION) as sender:
                early = [await sender.submit(make_frame(i)) for i in range(3)]
                refused = await asyncio.gather(*(d.outcome for d in early))
                ready = (await client.get("/health/ready")).json()
                refusal = sender.refusal
                rx = await RecordingReceiver(port=upstream).start()
                try:
                    later = [await sender.submit(make_frame(10 + i)) for i in range(3)]
                    outcomes = await asyncio.gather(*(d.outcome for d in later))
                finally:
                    await rx.stop()
        return refused, ready, refusal, outcomes

    refused, ready, refusal, outcomes = run(main())
    assert ready["ready"] and not ready["upstream_connected"]
    assert all(o.status == "rejected" and "upstream unreachable" in o.detail for o in refused)
    assert refusal.startswith("upstream unreachable")
    assert [o.status for o in outcomes] == ["ok"] * 3


def test_the_receivers_refusal_comes_back_through_the_proxy():
    async def main():
        rx = await RecordingReceiver(refuse="fingerprint mismatch").start()
        grpc_port = free_port()
        try:
            settings = ChannelSimSettings(upstream=rx.target, grpc_port=grpc_port)
            async with serving(create_app(settings)):
                async with FrameSender(f"127.0.0.1:{grpc_port}", session=SESSION) as sender:
                    delivery = await sender.submit(make_frame(3))
                    return await sender.wait_session(5), await delivery.outcome, rx.frames
        finally:
            await rx.stop()

    refusal, outcome, arrived = run(main())
    assert refusal.startswith("fingerprint mismatch") and outcome.status == "rejected" and arrived == []


def test_a_frame_that_lost_every_packet_sends_nothing_and_is_acked_lost():
    async def main():
        rx = await RecordingReceiver().start()
        try:
            outcomes, stats = await through_proxy([make_frame(i) for i in range(6)], rx.target, loss=1.0)
        finally:
            await rx.stop()
        return outcomes, stats, rx.frames

    outcomes, stats, arrived = run(main())
    assert arrived == [] and stats["frames"]["erased"] == 6 and stats["wire_bytes"]["out"] == 0
    assert {(o.status, o.detail) for o in outcomes} == {("lost", "no packet arrived")}  # from the sender's report


def test_settings_from_environment_and_flags(monkeypatch):
    monkeypatch.setenv("SEMLINK_CH_LOSS", "0.2")
    monkeypatch.setenv("SEMLINK_CH_GRPC_PORT", "6000")
    settings = parse_settings(ChannelSimSettings, ["--grpc-port", "6001", "--delay-ms", "7"], "channel_sim", "")
    assert (settings.loss, settings.grpc_port, settings.delay_ms) == (0.2, 6001, 7.0)
    assert settings.initial_spec().channel_config().loss == "bernoulli"
    with pytest.raises(SystemExit):
        parse_settings(ChannelSimSettings, ["--loss", "1.5"], "channel_sim", "")


def test_channel_sim_starts_without_torch():
    """The packet view needs only numpy: importing channel_sim (and running a channel on datagrams) loads no torch."""
    import subprocess
    import sys

    code = ("import sys, channel_sim.main\n"
            "from semlink.channel import Channel, ChannelConfig\n"
            "Channel(ChannelConfig(loss='bernoulli', loss_p=0.5, ber=1e-3)).transmit_datagrams([b'x' * 40] * 8)\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_a_message_the_channel_left_alone_is_forwarded_as_the_bytes_that_came():
    """No re-serialising on the fast path: the bytes handed to the upstream sender are the very bytes received; a
    message the channel changed is rebuilt from what survived."""
    from channel_sim.proxy import AckSink, Hop, Proxy
    from channel_sim.spec import ChannelSpec
    from semlink.wire import frame_datagrams, frame_message

    class Line:
        def __init__(self):
            self.pushed = []

        def push(self, item, nbytes):
            self.pushed.append(item)

    async def main():
        pushed = []
        for spec in (ChannelSpec(), ChannelSpec(ber=1e-2, seed=1)):
            proxy = Proxy(spec, "127.0.0.1:1")
            proxy.line = Line()
            datagrams = frame_datagrams(make_frame(5), SESSION)
            data = frame_message(datagrams).SerializeToString()
            proxy.accept(Hop(SESSION, None, AckSink()), datagrams, AckSink(), data)
            [item] = proxy.line.pushed
            pushed.append((item.message, data, datagrams))
        return pushed

    (clean, clean_data, _), (noisy, noisy_data, sent) = run(main())
    assert clean is clean_data
    assert isinstance(noisy, pb.Uplink) and list(noisy.frame.packets) != sent


def test_the_sender_sends_serialised_bytes_as_they_are():
    from semlink.link.sender import serialize_uplink
    from semlink.wire import frame_datagrams, frame_message

    async def main():
        rx = await RecordingReceiver().start()
        try:
            async with FrameSender(rx.target, session=SESSION) as sender:
                message = frame_message(frame_datagrams(make_frame(4), SESSION))
                data = message.SerializeToString()
                assert serialize_uplink(data) is data and serialize_uplink(message) == data
                delivery = sender.forward_nowait(SESSION.frame_id(4), data, len(data))
                return await delivery.outcome, rx.frames
        finally:
            await rx.stop()

    outcome, arrived = run(main())
    assert outcome.status == "ok" and [f.header.frame_id for f in arrived] == [SESSION.frame_id(4)]


def test_a_frame_its_hop_lost_comes_back_with_the_upstream_code():
    """The receiver never acks: channel_sim's own hop gives up first, and says so by code (LOSS_UPSTREAM), not
    only by the detail text."""
    from semlink.packets.outcome import AckStatus, LossReason

    async def main():
        rx = await RecordingReceiver(ack=False).start()
        try:
            return await through_proxy([make_frame(0)], rx.target, ack_timeout_s=0.3)
        finally:
            await rx.stop()

    (outcome,), stats = run(main())
    assert (outcome.status, outcome.loss) == (AckStatus.LOST, LossReason.UPSTREAM)
    assert outcome.detail == "channel_sim upstream: no ack within 0.3 s"
    assert stats["frames"]["lost_upstream"] == 1


def test_a_packed_group_crosses_the_channel_as_one_message_and_each_of_its_frames_is_answered_once():
    """Groups of 3 (the last of 2) through 25% loss: a lost datagram takes a slice of every frame of its group, a
    group that lost every datagram is reported lost frame by frame, and no frame goes unanswered or twice."""
    packed = replace(SESSION, pack=3)
    frames = [make_frame(i, session=packed) for i in range(20)]
    groups = [frames[i:i + 3] for i in range(0, 20, 3)]

    async def main():
        rx = await RecordingReceiver().start()
        grpc_port = free_port()
        settings = ChannelSimSettings(upstream=rx.target, grpc_port=grpc_port, loss=0.25, seed=2)
        try:
            async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
                async with FrameSender(f"127.0.0.1:{grpc_port}", session=packed) as sender:
                    deliveries = []
                    for group in groups:
                        message = frame_message(group_datagrams(group, packed))
                        deliveries += await sender.forward_group([f.header.frame_id for f in group], message, 0)
                    outcomes = await asyncio.gather(*(d.outcome for d in deliveries))
                return outcomes, (await client.get("/v1/stats")).json(), rx.frames
        finally:
            await rx.stop()

    outcomes, stats, arrived = run(main(), timeout=30)
    assert [o.frame_id for o in outcomes] == [f.header.frame_id for f in frames]
    statuses = Counter(o.status for o in outcomes)
    assert statuses["partial"] > 0 and stats["packets"]["dropped"] > 0
    got = {f.header.frame_id: f for f in arrived}
    for outcome in outcomes:  # each frame's own word: what of it arrived
        frame = got.get(outcome.frame_id)
        assert outcome.status == ("lost" if frame is None else "partial" if frame.lost_indices() else "ok")
    assert stats["frames"]["in"] == 20 and stats["acks"] == {k: v for k, v in statuses.items()}
    for group in groups:  # the frames of a group that arrived miss the same slices
        got = [f for f in arrived if f.header.frame_id in {g.header.frame_id for g in group}]
        assert len({tuple(f.lost_indices()) for f in got}) <= 1


def test_a_packed_group_that_lost_every_datagram_is_reported_lost_frame_by_frame():
    packed = replace(SESSION, pack=4)
    frames = [make_frame(i, session=packed) for i in range(8)]

    async def main():
        rx = await RecordingReceiver().start()
        grpc_port = free_port()
        try:
            async with serving(create_app(ChannelSimSettings(upstream=rx.target, grpc_port=grpc_port, loss=1.0))):
                async with FrameSender(f"127.0.0.1:{grpc_port}", session=packed) as sender:
                    deliveries = []
                    for group in (frames[:4], frames[4:]):
                        message = frame_message(group_datagrams(group, packed))
                        deliveries += await sender.forward_group([f.header.frame_id for f in group], message, 0)
                    return await asyncio.gather(*(d.outcome for d in deliveries))
        finally:
            await rx.stop()

    outcomes = run(main())
    assert [(o.frame_id, o.status, o.detail) for o in outcomes] == [
        (f.header.frame_id, "lost", "no packet arrived") for f in frames]

"""FrameSender against a real grpc.aio FeatureLink server on loopback: sessions, acks, losses, reconnects, backpressure."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace

import pytest

from semlink.link import Backoff, FrameSender, QueueFull, SenderClosed
from semlink.launch.ports import free_port
from semlink.packets.outcome import LossReason
from semlink.wire import frame_message, group_datagrams
from tests.helpers.link import RecordingReceiver, make_frame, make_session

FAST = Backoff(initial_s=0.05, max_s=0.4)
SESSION = make_session()


def sender_to(target, **kw) -> FrameSender:
    return FrameSender(target, backoff=FAST, session=SESSION, **kw)


def run(coro, timeout=15):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_backoff_grows_caps_and_jitters():
    backoff = Backoff(initial_s=0.1, max_s=2.0, multiplier=2.0, jitter=0.2)
    rng = random.Random(0)
    delays = [backoff.delay(a, rng) for a in range(10)]
    for attempt, delay in enumerate(delays):
        base = min(2.0, 0.1 * 2**attempt)
        assert 0.8 * base <= delay <= 1.2 * base
    assert len({round(d, 6) for d in delays[6:]}) > 1  # capped, but still jittered
    with pytest.raises(ValueError, match="jitter"):
        Backoff(jitter=1.5)
    with pytest.raises(ValueError, match="initial_s"):
        Backoff(initial_s=3.0, max_s=1.0)


def test_frames_are_delivered_in_order_and_acked():
    async def main():
        rx = await RecordingReceiver().start()
        try:
            async with sender_to(rx.target) as sender:
                frames = [make_frame(i) for i in range(200)]
                deliveries = [await sender.submit(f) for f in frames]
                outcomes = await asyncio.gather(*(d.outcome for d in deliveries))
                assert all(await asyncio.gather(*(d.sent for d in deliveries)))
                stats = sender.stats()
            assert [o.status for o in outcomes] == ["ok"] * 200
            assert rx.frames == frames  # every byte through the wire module and back
            assert rx.sessions == [SESSION]  # sent once, before the frames
            assert stats["ok"] == 200 and stats["in_flight"] == 0 and stats["connected"] and stats["session_open"]
            assert stats["bytes_sent"] == 200 * 4 * (32 + 7)  # 4 datagrams of 32 payload bytes, header and CRC-32
        finally:
            await rx.stop()

    run(main())


def test_partial_acks_become_outcomes():
    async def main():
        rx = await RecordingReceiver().start()
        try:
            async with sender_to(rx.target) as sender:
                full = make_frame(1)
                partial = full.with_packets(full.packets[:2])
                d1 = await sender.submit(partial)
                o1 = await d1.outcome
            assert (o1.status, o1.detail) == ("partial", "2 of 4 packets lost")
            assert o1.delivered
        finally:
            await rx.stop()

    run(main())


def test_upstream_down_then_up_reconnects_and_every_frame_ends_with_a_reason():
    async def main():
        port = free_port()
        async with sender_to(f"127.0.0.1:{port}") as sender:
            # nobody listens: frames wait (not on the wire) while the sender backs off
            waiting = [await sender.submit(make_frame(i)) for i in range(5)]
            await asyncio.sleep(0.5)
            assert not sender.connected and not any(d.sent.done() for d in waiting)

            rx = await RecordingReceiver(port=port, ack=False).start()  # up, but never acks
            assert all(await asyncio.gather(*(d.sent for d in waiting)))
            await rx.wait_for(5)
            await rx.stop()  # down with 5 frames in flight: each is lost, with the reason
            outcomes = await asyncio.gather(*(d.outcome for d in waiting))
            assert {(o.status, o.detail) for o in outcomes} == {("lost", "connection lost")}

            later = [await sender.submit(make_frame(10 + i)) for i in range(5)]
            await asyncio.sleep(0.2)
            rx = await RecordingReceiver(port=port).start()  # back for good
            try:
                outcomes = await asyncio.gather(*(d.outcome for d in later))
                stats = sender.stats()
            finally:
                await rx.stop()
        # a frame being written as the server died may be lost; every one has a reason
        assert all(o.status == "ok" or (o.status == "lost" and o.detail) for o in outcomes)
        assert sum(o.status == "ok" for o in outcomes) >= 4
        assert stats["reconnects"] >= 1 and stats["lost_reasons"]["connection lost"] >= 5

    run(main())


def test_bounded_queue_refuses_at_once_and_close_reports_the_rest():
    async def main():
        sender = sender_to(f"127.0.0.1:{free_port()}", queue_size=2)
        await sender.start()
        accepted = []
        with pytest.raises(QueueFull, match="queue full"):
            for i in range(10):
                accepted.append(sender.submit_nowait(make_frame(i)))
                await asyncio.sleep(0)  # let the writer take one
        assert 2 <= len(accepted) <= 4
        await sender.close(grace_s=0.1)
        outcomes = [d.outcome.result() for d in accepted]
        assert {(o.status, o.detail, o.loss) for o in outcomes} == {("lost", "sender closed", LossReason.SENDER_CLOSED)}
        assert [d.sent.result() for d in accepted] == [False] * len(accepted)
        with pytest.raises(SenderClosed):
            sender.submit_nowait(make_frame(99))

    run(main())


def test_unacked_frames_expire():
    async def main():
        rx = await RecordingReceiver(ack=False).start()
        try:
            async with sender_to(rx.target, ack_timeout_s=0.3) as sender:
                delivery = await sender.submit(make_frame(7))
                outcome = await delivery.outcome
        finally:
            await rx.stop()
        assert (outcome.status, outcome.detail) == ("lost", "no ack within 0.3 s")
        assert outcome.loss is LossReason.ACK_TIMEOUT and sender.stats()["losses"] == {"ack timeout": 1}
        assert delivery.sent.result() is True

    run(main())


def test_a_refused_session_is_reported_and_no_frame_is_streamed_into_it():
    async def main():
        rx = await RecordingReceiver(refuse="fingerprint mismatch").start()
        try:
            async with sender_to(rx.target) as sender:
                delivery = await sender.submit(make_frame(1))
                assert await sender.wait_session(5) == "fingerprint mismatch: refused by the test receiver"
                outcome = await asyncio.wait_for(delivery.outcome, 5)
                stats = sender.stats()
        finally:
            await rx.stop()
        assert outcome.status == "rejected" and "session refused: fingerprint mismatch" in outcome.detail
        assert rx.frames == [] and stats["session_refused"].startswith("fingerprint mismatch")
        assert not stats["session_open"]

    run(main())


def test_idle_sender_reports_its_last_frame_id():
    async def main():
        rx = await RecordingReceiver().start()
        try:
            async with sender_to(rx.target) as sender:
                deliveries = [await sender.submit(make_frame(i)) for i in range(3)]
                await asyncio.gather(*(d.outcome for d in deliveries))
                tracked = sender.track(SESSION.frame_id(3))  # a frame whose every packet was lost upstream
                await asyncio.sleep(0.4)
        finally:
            await rx.stop()
        assert rx.reports and rx.reports[-1] == SESSION.frame_id(3)
        assert tracked.outcome.done()  # ended when the sender closed: never left hanging

    run(main())


def test_a_packed_group_goes_as_one_message_and_each_of_its_frames_gets_its_own_ack():
    packed = replace(SESSION, pack=3)

    async def main():
        rx = await RecordingReceiver().start()
        try:
            async with FrameSender(rx.target, backoff=FAST, session=packed) as sender:
                frames = [make_frame(i, session=packed) for i in range(6)]
                deliveries = []
                for group in (frames[:3], frames[3:5], frames[5:]):  # a full group, then two partial ones
                    message = frame_message(group_datagrams(group, packed))
                    deliveries += await sender.forward_group([f.header.frame_id for f in group], message, 300, 4)
                outcomes = await asyncio.gather(*(d.outcome for d in deliveries))
                sent = await asyncio.gather(*(d.sent for d in deliveries))
                stats = sender.stats()
            assert [o.frame_id for o in outcomes] == [f.header.frame_id for f in frames]
            assert [o.status for o in outcomes] == ["ok"] * 6 and all(sent)
            assert rx.frames == frames
            assert [d.nbytes for d in deliveries[:3]] == [100] * 3 and deliveries[3].datagrams == 2
            assert stats["sent"] == 6 and stats["in_flight"] == 0 and stats["bytes_sent"] == 900
        finally:
            await rx.stop()

    run(main())


def test_a_packed_group_that_never_reaches_the_stream_ends_every_one_of_its_frames():
    packed = replace(SESSION, pack=2)

    async def main():
        rx = await RecordingReceiver(refuse="codec mismatch").start()
        try:
            sender = FrameSender(rx.target, backoff=FAST, session=packed)
            await sender.start()
            frames = [make_frame(i, session=packed) for i in range(2)]
            deliveries = sender.forward_group_nowait([f.header.frame_id for f in frames],
                                                     frame_message(group_datagrams(frames, packed)), 100)
            outcomes = await asyncio.gather(*(d.outcome for d in deliveries))
            await sender.close(grace_s=0)
            assert [(o.frame_id, o.status) for o in outcomes] == [(f.header.frame_id, "rejected") for f in frames]
        finally:
            await rx.stop()

    run(main())

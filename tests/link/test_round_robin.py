"""round_robin over several receivers: targets, streams spread over receivers, a dead receiver's streams move."""

from __future__ import annotations

import asyncio

import pytest

from semlink.link import Backoff, FrameSender
from semlink.link.grpc_channel import link_channel, resolve_target
from semlink.link.grpc_server import LinkServer
from tests.helpers.link import RecordingReceiver, make_frame, make_session
from semlink.v2 import semlink_pb2_grpc as pb_grpc

FAST = Backoff(initial_s=0.05, max_s=0.4)


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.mark.parametrize("target, resolved", [
    ("127.0.0.1:5001,127.0.0.1:5002", "ipv4:127.0.0.1:5001,127.0.0.1:5002"),
    ("localhost:5001, 10.0.0.2:5002", "ipv4:127.0.0.1:5001,10.0.0.2:5002"),
    ("[::1]:5001,[fe80::1]:5002", "ipv6:[::1]:5001,[fe80::1]:5002"),
    ("receiver:50051", "receiver:50051"),
    ("dns:///receivers:50051", "dns:///receivers:50051"),
    ("ipv4:127.0.0.1:1,127.0.0.1:2", "ipv4:127.0.0.1:1,127.0.0.1:2"),
])
def test_targets_grpc_takes(target, resolved):
    assert resolve_target(target) == resolved


@pytest.mark.parametrize("target, message", [
    ("rx1:50051,rx2:50051", "dns:///receivers:50051"),
    ("127.0.0.1:5001,[::1]:5002", "mixes IPv4 and IPv6"),
    ("127.0.0.1,127.0.0.1:5002", "host:port"),
])
def test_lists_that_grpc_cannot_take_say_what_to_do(target, message):
    with pytest.raises(ValueError, match=message):
        resolve_target(target)


async def _sender(channel, target, session_id) -> FrameSender:
    sender = FrameSender(target, backoff=FAST, session=make_session(session_id=session_id), channel=channel,
                         name=f"sender {session_id}")
    await sender.start()
    return sender


def test_streams_spread_over_receivers_and_move_when_one_dies():
    async def main():
        a, b = await RecordingReceiver(ack=False).start(), await RecordingReceiver(ack=False).start()
        target = f"{a.target},{b.target}"
        channel = link_channel(target, options=FAST.channel_options())
        await asyncio.wait_for(channel.channel_ready(), 5)
        await asyncio.sleep(0.3)  # round_robin connects to every address; let the second one finish too
        senders = [await _sender(channel, target, sid) for sid in (11, 12, 13, 14)]
        try:
            first = {s: await s.submit(make_frame(0, session=s.session)) for s in senders}
            await asyncio.wait_for(_until(lambda: len(a.frames) + len(b.frames) == 4), 10)
            assert a.streams >= 1 and b.streams >= 1 and a.streams + b.streams == 4  # round_robin, not pick_first
            on_a = [s for s in senders if s.session.session_id in {x.session_id for x in a.sessions}]
            on_b = [s for s in senders if s not in on_a]
            await a.stop(None)  # a receiver dies with frames in flight (it never acked them)
            for sender in on_a:
                lost = await asyncio.wait_for(first[sender].outcome, 10)
                assert (lost.status, lost.detail) == ("lost", "connection lost")
            moved = [await s.submit(make_frame(1, session=s.session)) for s in on_a]
            await asyncio.wait_for(  # their next streams went to the receiver still up
                _until(lambda: len(b.frames) == len(on_b) + len(on_a)), 10)
            assert {f.header.frame_id for f in b.frames} == {
                *(s.session.frame_id(0) for s in on_b), *(s.session.frame_id(1) for s in on_a)}
            assert all([await d.sent for d in moved]) and b.streams == 4
            assert not any(first[s].outcome.done() for s in on_b)  # streams on the live receiver never noticed
        finally:
            for sender in senders:
                await sender.close(grace_s=0)
            await channel.close()
            await b.stop(None)
    run(main())


async def _until(condition, poll_s: float = 0.02) -> None:
    while not condition():
        await asyncio.sleep(poll_s)


def test_a_receiver_whose_health_is_not_serving_gets_no_streams():
    async def main():
        ready = RecordingReceiver()
        busy = RecordingReceiver()
        servers = []
        for receiver, is_ready in ((ready, True), (busy, False)):
            server = LinkServer(ready=lambda is_ready=is_ready: is_ready)
            pb_grpc.add_FeatureLinkServicer_to_server(receiver, server.server)
            receiver.port = server.bind("127.0.0.1:0")
            await server.start()
            servers.append(server)
        target = f"{busy.target},{ready.target}"
        channel = link_channel(target, options=FAST.channel_options())
        senders = [await _sender(channel, target, sid) for sid in (21, 22, 23, 24)]
        try:
            outcomes = [await (await s.submit(make_frame(0, session=s.session))).outcome for s in senders]
            assert [o.status for o in outcomes] == ["ok"] * 4
            assert (ready.streams, busy.streams) == (4, 0)
        finally:
            for sender in senders:
                await sender.close(grace_s=0)
            await channel.close()
            for server in servers:
                await server.stop(None)
    run(main())


def test_channel_sim_spreads_sessions_over_receivers_and_reports_frames_lost_on_a_dead_one():
    from channel_sim.main import create_app
    from channel_sim.settings import ChannelSimSettings
    from semlink.launch.ports import free_port
    from tests.helpers.link import serving

    async def main():
        a, b = await RecordingReceiver(ack=False).start(), await RecordingReceiver(ack=False).start()
        port = free_port()
        settings = ChannelSimSettings(grpc_port=port, upstream=f"{a.target},{b.target}", session_timeout_s=5)
        senders = []
        try:
            async with serving(create_app(settings)):
                await asyncio.sleep(0.5)  # round_robin connects to both receivers
                for sid in (31, 32, 33, 34):
                    sender = FrameSender(f"127.0.0.1:{port}", backoff=FAST, session=make_session(session_id=sid))
                    await sender.start()
                    senders.append(sender)
                first = {s: await s.submit(make_frame(0, session=s.session)) for s in senders}
                await asyncio.wait_for(_until(lambda: len(a.frames) + len(b.frames) == 4), 10)
                assert a.streams >= 1 and b.streams >= 1  # one upstream channel, round_robin over the hops
                on_a = [s for s in senders if s.session.session_id in {x.session_id for x in a.sessions}]
                await a.stop(None)
                for sender in on_a:
                    lost = await asyncio.wait_for(first[sender].outcome, 10)
                    assert (lost.status, lost.detail) == ("lost", "channel_sim upstream: connection lost")
                survivors = [s for s in senders if s not in on_a]
                assert not any(first[s].outcome.done() for s in survivors)
        finally:
            for sender in senders:
                await sender.close(grace_s=0)
            await b.stop(None)
    run(main())

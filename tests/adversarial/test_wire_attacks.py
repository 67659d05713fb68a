"""Attacks on the wire (issue 16 items 4, 5 and 7, and frame ids): bounded before parsing, one limit end to end,
constants checked with the session, a session only writes its own frames."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

import grpc

from attack_helpers import run
from channel_sim.main import create_app as channel_app
from channel_sim.settings import ChannelSimSettings
from semlink.link import FrameSender
from semlink.link.sender import MAX_MESSAGE_BYTES
from semlink.bench.stream_client import StreamClient
from semlink.launch.ports import free_port
from tests.helpers.link import make_frame, make_session, serving
from semlink.v2 import semlink_pb2 as pb
from semlink.wire import session_to_message
from receiver_service.settings import ReceiverSettings


def test_a_million_empty_packets_are_refused_by_count_without_stalling_the_receiver(running_receiver, frame_message):
    """Item 4: the message is refused on its packet count before any packet is parsed; health stays quick."""
    hostile = pb.Uplink(frame=pb.FramePackets(packets=[b""] * 1_500_000)).SerializeToString()

    async def main():
        async with running_receiver() as (client, app, _):
            target = f"127.0.0.1:{app.state.receiver.grpc_port}"

            def attack():
                with grpc.insecure_channel(target) as channel, StreamClient(channel, frame_message.session) as link:
                    assert link.opened().accepted
                    link.put(hostile)
                    return link.wait_acks(1, timeout=20)[0]

            attacker = asyncio.create_task(asyncio.to_thread(attack))
            stalls = []
            while not attacker.done():
                started = time.perf_counter()
                assert (await client.get("/health/ready")).status_code == 200
                stalls.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)
            return await attacker, max(stalls)

    ack, worst = run(main())
    assert ack.status == "rejected" and "1500000 packets in one message" in ack.detail, ack
    assert worst < 1.0, worst
    print(f"1.5 M empty packets: rejected; /health/ready slowest {worst * 1000:.0f} ms")


def test_one_message_size_limit_end_to_end():
    """Item 5: the receiver, channel_sim and every sender share one limit."""
    from channel_sim.service import SERVER_OPTIONS

    assert ReceiverSettings().max_grpc_message_bytes == MAX_MESSAGE_BYTES
    assert dict(SERVER_OPTIONS)["grpc.max_receive_message_length"] == MAX_MESSAGE_BYTES


def test_an_oversized_message_costs_only_its_own_stream():
    """Item 5: one client's too-large message ends its stream at channel_sim; another client's frames go on."""
    async def main():
        from tests.helpers.link import RecordingReceiver

        rx = await RecordingReceiver().start()
        grpc_port = free_port()
        try:
            async with serving(channel_app(ChannelSimSettings(upstream=rx.target, grpc_port=grpc_port))):
                async with FrameSender(f"127.0.0.1:{grpc_port}", session=make_session()) as good:
                    first = await (await good.submit(make_frame(0))).outcome

                    def attack():
                        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}", options=[
                                ("grpc.max_send_message_length", 2 * MAX_MESSAGE_BYTES)]) as channel:
                            link = StreamClient(channel, make_session(session_id=99))
                            assert link.opened().accepted
                            link.put(b"\x12" + b"\x00" * (MAX_MESSAGE_BYTES + 1024))
                            link._reader.join(timeout=10)
                            return link.error

                    error = await asyncio.to_thread(attack)
                    later = [await (await good.submit(make_frame(i))).outcome for i in range(1, 4)]
        finally:
            await rx.stop()
        return first, error, later

    first, error, later = run(main())
    assert first.status == "ok"
    assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert [o.status for o in later] == ["ok"] * 3


def test_side_constants_of_the_wrong_length_erase_the_frame_with_one_line(running_receiver, frame_message, caplog):
    """Item 7: a side packet of the wrong size is a corrupted packet (the frame cannot be dequantised), logged
    without a traceback; static constants of the wrong length are refused with the session."""
    frame = frame_message(5)
    side = frame.packets[-1]
    bad = frame.with_packets([*frame.packets[:-1], replace(side, payload=side.payload[:2])])

    async def main():
        async with running_receiver() as (client, app, link):
            outcome = await link.Send(bad)
            detail = (await client.get(f"/v1/frames/{frame.header.frame_id}")).json()
            target = f"127.0.0.1:{app.state.receiver.grpc_port}"

            def refused():
                message = session_to_message(frame_message.session)
                message.side_info, message.scale[:], message.offset[:] = False, [1.0], [0.0]
                with grpc.insecure_channel(target) as channel:
                    with StreamClient(channel, None, open_with=pb.Uplink(session=message)) as stream:
                        return stream.opened()

            return outcome, detail, await asyncio.to_thread(refused)

    with caplog.at_level(logging.INFO):
        outcome, detail, reply = run(main())
    assert outcome.status == "partial" and "corrupted" in outcome.detail
    assert len(detail["lost_rows"]) == frame.header.shape[1]  # every row: nothing can be dequantised
    assert not reply.accepted and reply.reason == "malformed" and "scales" in reply.detail
    assert "Traceback" not in caplog.text


def test_a_session_cannot_write_another_sessions_frames(running_receiver, frame_message):
    """Frame ids belong to their session: a second stream may not open a session id already open otherwise."""
    async def main():
        async with running_receiver() as (client, app, _):
            target = f"127.0.0.1:{app.state.receiver.grpc_port}"

            def streams():
                with grpc.insecure_channel(target) as channel:
                    with StreamClient(channel, frame_message.session) as owner:
                        assert owner.opened().accepted
                        other = replace(frame_message.session, image_size=(1, 1))
                        with StreamClient(channel, other) as intruder:
                            return intruder.opened()

            return await asyncio.to_thread(streams)

    reply = run(main())
    assert not reply.accepted and reply.reason == "session in use"

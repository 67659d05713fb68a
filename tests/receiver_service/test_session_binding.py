"""A session is written only by the stream that opened it: the takeover of issue 24, directly and through a real
channel_sim process, is refused, and the owner's frames still answer."""

from __future__ import annotations

import time
from dataclasses import replace

import grpc
import httpx

from semlink.bench.stream_client import StreamClient
from semlink.launch.ports import free_port
from semlink.launch.process import ServiceProcess
from semlink.packets.session import NUMBER_BITS, new_session_id, session_number


def owner_and_intruders(make_frame):
    """The owner's session (a random 64-bit id) and what an intruder can build: the same session (had it learnt
    the id) and one with only the public number (``frame_id >> 32``, which ``GET /v1/frames`` shows)."""
    owner = replace(make_frame.session, session_id=new_session_id())
    guess = replace(owner, session_id=session_number(owner.session_id) | (12345 << NUMBER_BITS))
    return owner, owner, guess


def takeover(target: str, make_frame) -> dict:
    owner_session, copy, guess = owner_and_intruders(make_frame)
    frame = make_frame(0, session=owner_session)
    with grpc.insecure_channel(target) as channel:
        with StreamClient(channel, owner_session) as owner:
            assert owner.opened().accepted, owner.session_reply
            with StreamClient(channel, copy) as intruder:
                second_open = intruder.opened()
            with StreamClient(channel, guess) as intruder:
                by_number = intruder.opened()
            owner.send(frame)
            owner_ack = owner.ack(frame.header.frame_id)
        # the owner's stream has ended: its number still belongs to its id alone
        with StreamClient(channel, guess) as intruder:
            between_reconnects = intruder.opened()
        with StreamClient(channel, owner_session) as again:
            reconnect = again.opened()
    return {"second_open": second_open, "by_number": by_number, "between": between_reconnects,
            "reconnect": reconnect, "owner_ack": owner_ack, "frame_id": frame.header.frame_id}


def check(result: dict) -> None:
    for name in ("second_open", "by_number", "between"):
        reply = result[name]
        assert not reply.accepted and reply.reason == "session in use", (name, reply)
    assert "open on another stream" in result["second_open"].detail
    assert "belong to another session" in result["between"].detail
    assert result["owner_ack"].status == "ok"
    assert result["reconnect"].accepted, result["reconnect"]


def test_a_live_session_cannot_be_taken_over(rx, make_frame):
    result = takeover(rx.grpc_target, make_frame)
    check(result)
    answer = rx.ask(result["frame_id"])
    assert answer.status_code == 200, answer.text  # the owner's frame answers


def test_session_ids_are_64_random_bits():
    ids = {new_session_id() for _ in range(64)}
    assert len(ids) == 64 and max(ids) >= 1 << 60 and all(session_number(i) for i in ids)


def test_the_takeover_fails_through_channel_sim(rx, make_frame):
    grpc_port, http_port = free_port(), free_port()
    service = ServiceProcess("channel_sim", "channel_sim", {
        "SEMLINK_CH_UPSTREAM": rx.grpc_target, "SEMLINK_CH_GRPC_PORT": str(grpc_port),
        "SEMLINK_CH_HTTP_PORT": str(http_port), "SEMLINK_CH_LOG_LEVEL": "warning"}, f"http://127.0.0.1:{http_port}")
    service.start()
    try:
        with httpx.Client() as client:
            service.wait_ready(time.monotonic() + 60, client)
        result = takeover(f"127.0.0.1:{grpc_port}", make_frame)
    finally:
        service.stop(10)
    check(result)
    assert result["second_open"].detail.startswith("channel_sim: ")  # refused at channel_sim, before upstream
    assert rx.ask(result["frame_id"]).status_code == 200


def test_a_frame_sent_before_a_restart_is_reported_gone_not_unsent(rx, make_frame):
    """After a receiver restart the sender's session goes on where it was: frames below its first sequence
    number here were received by the receiver's earlier run (or another replica) and are gone, not unsent."""
    session = replace(make_frame.session, session_id=new_session_id())
    first = make_frame(7, session=session)
    assert rx.send(first, session).status == "ok"
    before = rx.ask(session.frame_id(3), wait_ms=50)
    unsent = rx.ask(session.frame_id(9), wait_ms=50)
    assert before.status_code == 404 and "received before a restart" in before.json()["detail"]
    assert "SEMLINK_RX_STORE" in before.json()["detail"]
    assert unsent.status_code == 404 and "has not arrived" in unsent.json()["detail"]


def test_streams_that_end_leave_no_pending_task(rx, make_frame, caplog):
    """A stream ending (the client gone, as a transmitter's reconnect or exit does) leaves no task pending: asyncio
    would log "Task was destroyed but it is pending!" at ERROR when it is collected."""
    import gc
    import logging
    import time as clock

    caplog.set_level(logging.ERROR, logger="asyncio")
    for seq in range(5):
        session = replace(make_frame.session, session_id=new_session_id())
        with rx.open(session) as link:
            assert link.opened().accepted
            link.send(make_frame(seq, session=session))
            link.ack(session.frame_id(seq))
            link._call.cancel()  # the client goes away mid-stream (a reconnect, an exit)
    clock.sleep(0.5)
    gc.collect()
    clock.sleep(0.2)
    assert "Task was destroyed" not in caplog.text

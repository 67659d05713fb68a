"""The event stream's subscribers are capped and never slow intake (issue 24, item 6): past
MAX_EVENT_SUBSCRIBERS a subscriber gets 503; one that never reads loses its oldest events, counted, and the
frames it would have watched are acked as fast as with no subscriber at all."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import replace

from semlink.packets.outcome import AckStatus
from semlink.packets.session import new_session_id
from semlink.receiver.events import EventBus

SUBSCRIBE = b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n"


def subscriber(rx, receive_buffer: int | None = None) -> socket.socket:
    """A subscriber that never reads past the status line (with a receive buffer of ``receive_buffer`` bytes)."""
    host, port = rx.base_url.split("//")[1].split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(5)
    sock.connect((host, int(port)))
    sock.sendall(SUBSCRIBE)
    return sock


def status_of(sock: socket.socket) -> int:
    return int(sock.recv(64).split(b" ", 2)[1])


def test_subscribers_past_the_cap_get_503(start_receiver):
    with start_receiver(max_event_subscribers=3) as rx:
        held = [subscriber(rx) for _ in range(3)]
        assert [status_of(s) for s in held] == [200] * 3
        refused = rx.http.get("/v1/events")
        assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
        assert "MAX_EVENT_SUBSCRIBERS" in refused.json()["detail"]
        held.pop().close()
        for _ in range(100):  # the server notices the disconnect on its next write or ping
            if rx.receiver.events.subscribers < 3:
                break
            rx.receiver.events.publish("tick", {})
            time.sleep(0.05)
        again = subscriber(rx)
        assert status_of(again) == 200
        for s in [*held, again]:
            s.close()


def test_a_subscriber_that_never_reads_costs_the_publisher_nothing():
    async def main():
        bus = EventBus(subscriber_queue=4, max_subscribers=256)
        idle = [bus.open() for _ in range(200)]
        started = time.perf_counter()
        for i in range(1000):
            bus.publish("tick", {"i": i})
        elapsed = time.perf_counter() - started
        chunks = [idle[0].sse_chunks(coalesce_s=0), idle[1].sse_chunks(coalesce_s=0)]
        first = [await anext(c) for c in chunks] + [await anext(c) for c in chunks]
        return bus, idle, elapsed, first

    bus, idle, elapsed, first = asyncio.run(main())
    assert all(len(s.queue) == 0 for s in idle[:2]) and all(len(s.queue) == 4 for s in idle[2:])
    assert bus.dropped == 200 * 996 and idle[5].dropped == 996
    assert first[2] == first[3] and first[2].count(b"event: tick") == 4  # one serialisation, the newest four
    assert elapsed < 2.0, elapsed  # 200,000 deliveries: appends, no awaits


def test_idle_subscribers_do_not_hold_up_intake(rx, make_frame):
    """A hundred subscribers that never read (their receive buffers tiny, so the server's writes to them back
    up) while sixty frames arrive: every frame is acked ok and every subscriber is still subscribed. No
    wall-clock ratio is asserted (a busy machine makes one flaky); the publisher's side is the test above."""
    idle = [subscriber(rx, receive_buffer=1024) for _ in range(100)]
    try:
        for _ in range(100):
            if rx.receiver.events.subscribers == 100:
                break
            time.sleep(0.05)
        assert rx.receiver.events.subscribers == 100
        session = replace(make_frame.session, session_id=new_session_id())
        frames = [make_frame(seq, session=session) for seq in range(60)]
        with rx.open(session) as link:
            assert link.opened().accepted
            for frame in frames:
                link.send(frame)
            acks = [link.ack(frame.header.frame_id, 30) for frame in frames]
        assert [AckStatus(a.status) for a in acks] == [AckStatus.OK] * 60
        assert rx.receiver.events.subscribers == 100
    finally:
        for s in idle:
            s.close()

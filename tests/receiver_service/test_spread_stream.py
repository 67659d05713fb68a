"""A spread stream against a real receiver: each datagram its own message, S frames apart, every frame reassembled
and answered once; a frame with no frame after it finishes on the slot clock; order on the wire as eval's."""

from __future__ import annotations

import asyncio

from semlink.link import FrameSender
from semlink.link.spreader import SpreadSender
from semlink.wire.spread import spread_order
from tests.helpers.link import RecordingReceiver, make_frame, make_session


def _run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_every_frame_of_a_spread_stream_is_reassembled_and_answered_once(start_receiver, make_frame):
    frames = [make_frame(500 + i, image=i % 4) for i in range(10)]
    packets = frames[0].total_packets
    with start_receiver(frame_deadline_ms=2000) as rx:
        async def main():
            async with FrameSender(rx.grpc_target, session=make_frame.session) as sender:
                spreader = SpreadSender(sender, spread=2, slot_s=0.02)
                handles = [await spreader.submit(f) for f in frames]
                outcomes = await asyncio.gather(*(h.outcome for h in handles))
                return handles, outcomes, spreader.counts

        handles, outcomes, counts = _run(main())
        assert [o.status for o in outcomes] == ["ok"] * len(frames)
        assert [h.datagrams for h in handles] == [packets] * len(frames)
        assert counts == {"frames": len(frames), "parts_sent": len(frames) * packets, "parts_dropped": 0}
        for f in frames:  # one message a datagram, merged into one answer
            record = rx.http.get(f"/v1/frames/{f.header.frame_id}").json()
            assert record["messages"] == packets and record["packets_lost"] == 0
        assert rx.receiver.ingest.counts["late_packets"] == 0


def test_the_last_frame_finishes_on_the_slot_clock_and_the_wire_order_is_evals():
    session = make_session(packets=4)
    frames = [make_frame(i, packets=4, session=session) for i in range(5)]

    async def main():
        rx = await RecordingReceiver(ack=False).start()  # an ack would drop a frame's later datagrams
        try:
            async with FrameSender(rx.target, session=session) as sender:
                spreader = SpreadSender(sender, spread=1, slot_s=0.02)
                loop = asyncio.get_running_loop()
                start = loop.time()
                for f in frames:
                    await spreader.submit(f)
                await rx.wait_for(len(frames) * 4, timeout=5)  # no frame after the last: the clock ends its slots
                took = loop.time() - start
                return [(f.header.frame_id, f.packets[0].index) for f in rx.frames], took, spreader.waiting
        finally:
            await rx.stop()

    arrived, took, waiting = _run(main())
    assert waiting == 0 and took < 2.0
    expected = [(frames[u].header.frame_id, j) for u, j in spread_order([4] * len(frames), 1)]
    assert arrived == expected

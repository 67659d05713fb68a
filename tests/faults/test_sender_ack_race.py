"""FrameSender: an ack that comes back before ``call.write()`` returns still ends its frame (found by the
receiver kill test under load: such frames were reported ``no ack within 30 s`` and their acks counted stray)."""

from __future__ import annotations

import asyncio

from semlink.link import Backoff, FrameSender
from tests.helpers.link import RecordingReceiver, make_frame, make_session

ACK_TIMEOUT_S = 2.0


def test_an_ack_faster_than_the_write_returning_is_matched():
    async def main():
        rx = await RecordingReceiver().start()
        try:
            sender = FrameSender(rx.target, backoff=Backoff(initial_s=0.05, max_s=0.4), session=make_session(),
                                 ack_timeout_s=ACK_TIMEOUT_S)
            write = sender._write

            async def write_then_resume_late(call, message):
                await write(call, message)
                await asyncio.sleep(0.2)  # a busy event loop resumes the writer late: the ack is back already

            sender._write = write_then_resume_late
            async with sender:
                deliveries = [await sender.submit(make_frame(i)) for i in range(3)]
                outcomes = await asyncio.wait_for(asyncio.gather(*(d.outcome for d in deliveries)), 10)
                sent = [await d.sent for d in deliveries]
                await asyncio.sleep(0.5)  # the last write returns
                stats = sender.stats()
        finally:
            await rx.stop()
        assert [o.status for o in outcomes] == ["ok"] * 3, outcomes
        assert sent == [True] * 3  # acked frames were on the wire
        assert stats["stray_acks"] == 0 and stats["in_flight"] == 0 and stats["sent"] == 3

    asyncio.run(main())

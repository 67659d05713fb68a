"""PackSender against a real FeatureLink server on loopback: a group goes full, or on its clock, or before a frame
that cannot join it; each frame is acked alone; a frame a group cannot slice is refused at once."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from semlink.link import Backoff, FrameSender
from semlink.link.packer import PackSender
from tests.helpers.link import RecordingReceiver, make_frame, make_session

SESSION = replace(make_session(), pack=3)


def run(coro, timeout=15):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def packing(wait_s: float, session=SESSION):
    rx = await RecordingReceiver().start()
    sender = FrameSender(rx.target, backoff=Backoff(initial_s=0.05, max_s=0.4), session=session)
    await sender.start()
    return rx, sender, PackSender(sender, wait_s)


def test_a_full_group_goes_at_once_and_a_partial_one_on_its_clock():
    async def main():
        rx, sender, packer = await packing(wait_s=0.3)
        try:
            loop = asyncio.get_running_loop()
            frames = [make_frame(i, session=SESSION) for i in range(5)]
            futures = [await packer.submit(f) for f in frames]
            started = loop.time()
            first = await asyncio.gather(*futures[:3])  # full: queued before submit returned
            assert all(f.done() for f in futures[:3]) and not any(f.done() for f in futures[3:])
            rest = await asyncio.gather(*futures[3:])
            waited = loop.time() - started
            outcomes = await asyncio.gather(*(d.outcome for d in [*first, *rest]))
            return outcomes, waited, packer.counts, rx.frames
        finally:
            await sender.close()
            await rx.stop()

    outcomes, waited, counts, arrived = run(main())
    assert [o.status for o in outcomes] == ["ok"] * 5
    assert 0.2 < waited < 2.0  # the last two went on the 0.3 s clock
    assert counts == {"frames": 5, "groups": 2, "full": 1, "waited": 1}
    assert [f.header.frame_id for f in arrived] == [SESSION.frame_id(i) for i in range(5)]


def test_a_frame_that_cannot_join_sends_the_open_group_first():
    async def main():
        rx, sender, packer = await packing(wait_s=5)
        try:
            one = await packer.submit(make_frame(0, session=SESSION))
            gap = await packer.submit(make_frame(5, session=SESSION))  # not the next sequence number
            resized = make_frame(6, session=SESSION)
            resized = await packer.submit(resized.with_image_size((320, 240)))  # another image size
            await packer.close()
            deliveries = await asyncio.gather(one, gap, resized)
            await asyncio.gather(*(d.outcome for d in deliveries))
            return packer.counts, rx.frames
        finally:
            await sender.close()
            await rx.stop()

    counts, arrived = run(main())
    assert counts["groups"] == 3 and counts["full"] == 0
    assert [f.header.image_size for f in arrived][-1] == (320, 240)


def test_a_frame_of_more_datagrams_than_a_group_can_slice_is_refused_at_once():
    wide = replace(make_session(packets=9), pack=2)

    async def main():
        rx, sender, packer = await packing(wait_s=1, session=wide)
        try:
            with pytest.raises(ValueError, match="at most 8"):
                await packer.submit(make_frame(0, packets=9, session=wide))
            assert packer.waiting == 0
        finally:
            await sender.close()
            await rx.stop()

    run(main())


def test_no_frame_before_the_session_is_known():
    async def main():
        rx = await RecordingReceiver().start()
        sender = FrameSender(rx.target)
        await sender.start()
        try:
            with pytest.raises(Exception, match="no session yet"):
                await PackSender(sender).submit(make_frame(0))
        finally:
            await sender.close()
            await rx.stop()

    run(main())


def test_the_clock_must_be_a_sensible_wait():
    with pytest.raises(ValueError, match="wait_s"):
        PackSender(FrameSender("127.0.0.1:1"), wait_s=0)

"""DynamicBatcher's byte bound and its in-order delivery stage (its batching and queue bound are tested with the
receiver, tests/receiver_service/test_store_batcher_events.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from semlink.batching import DynamicBatcher, Overloaded


def test_the_byte_bound_refuses_past_max_bytes_but_always_takes_one_item():
    async def main():
        gate = threading.Event()

        def run(items):
            gate.wait(5)
            return [len(item) for item in items]

        batcher = DynamicBatcher(run, max_batch=1, max_delay_s=0, queue_size=8, max_bytes=10, size_of=len)
        batcher.start()
        try:
            big = batcher.enqueue(b"x" * 25)  # over the bound, but nothing is held: it fits
            await asyncio.sleep(0.05)  # in the batch now, still held
            assert batcher.held_bytes == 25 and not batcher.has_room(1)
            with pytest.raises(Overloaded, match="max_bytes"):
                batcher.enqueue(b"y")
            gate.set()
            assert (await big)[0] == 25
            await asyncio.sleep(0)  # the release runs as the future's callback
            assert batcher.held_bytes == 0 and batcher.has_room(11)  # nothing held: anything fits
            gate.clear()
            small = batcher.enqueue(b"a" * 4)
            await asyncio.sleep(0.05)
            assert batcher.has_room(6) and not batcher.has_room(7)
            gate.set()
            assert (await small)[0] == 4
        finally:
            await batcher.stop()

    asyncio.run(main())


def test_deliver_takes_every_batch_in_order_before_the_next_is_collected():
    async def main():
        delivered: list[tuple[list[int], list[int]]] = []
        busy = asyncio.Event()

        async def deliver(items, results):
            delivered.append((items, results))
            if len(delivered) == 1:
                await busy.wait()  # the first delivery holds the batcher back

        batcher = DynamicBatcher(lambda items: [10 * i for i in items], max_batch=2, max_delay_s=0.01,
                                 queue_size=8, deliver=deliver)
        batcher.start()
        try:
            futures = [batcher.enqueue(i) for i in range(2)]
            await asyncio.sleep(0.1)
            futures += [batcher.enqueue(i) for i in range(2, 5)]
            await asyncio.sleep(0.1)
            assert delivered == [([0, 1], [0, 10])] and batcher.waiting == 3  # held while delivering
            busy.set()
            await asyncio.gather(*futures)
            await asyncio.sleep(0.05)
        finally:
            await batcher.stop()
        assert delivered == [([0, 1], [0, 10]), ([2, 3], [20, 30]), ([4], [40])]

    asyncio.run(main())


def test_a_reservation_holds_room_until_its_item_takes_it_over_or_gives_it_back():
    async def main():
        batcher = DynamicBatcher(lambda items: [len(i) for i in items], max_batch=1, max_delay_s=0, queue_size=8,
                                 max_bytes=10, size_of=len)
        batcher.start()
        try:
            held = batcher.reserve(8)  # an item being made: room checked, bytes held, no item yet
            assert batcher.held_bytes == 8 and not batcher.has_room(3)
            done = batcher.enqueue(b"z" * 6, reserved=held)  # the item takes the reservation over at its size
            assert batcher.held_bytes == 6
            assert (await done)[0] == 6
            await asyncio.sleep(0)
            assert batcher.held_bytes == 0
            batcher.release(batcher.reserve(9))  # an item that never came gives its room back
            assert batcher.held_bytes == 0
        finally:
            await batcher.stop()

    asyncio.run(main())


def test_a_byte_bound_needs_both_halves():
    with pytest.raises(ValueError, match="max_bytes"):
        DynamicBatcher(list, max_batch=1, max_delay_s=0, queue_size=1, max_bytes=10)

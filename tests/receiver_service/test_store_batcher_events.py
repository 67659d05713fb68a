"""semlink.receiver: the LRU feature store, the dynamic batcher and the event bus, on their own."""

from __future__ import annotations

import asyncio
import time

import pytest
import torch

from semlink.receiver import DynamicBatcher, EventBus, FeatureStore, Overloaded, ReceivedFrame

pytestmark = pytest.mark.timeout(10)


def received(fid: int) -> ReceivedFrame:
    return ReceivedFrame(frame_id=fid, codec="q8", fingerprint="f", features=torch.zeros(2, 2, 2),
                         lost_rows=torch.zeros(2, dtype=torch.bool), image_size=(4, 4), wire_bytes=24, payload_bytes=10,
                         packets=2, packets_missing=0, packets_corrupted=0)


def test_store_evicts_least_recently_used():
    evicted = []
    store = FeatureStore(2, on_evict=lambda f: evicted.append(f.frame_id))
    store.put(received(1))
    store.put(received(2))
    store.get(1)
    assert store.put(received(3)) == [2] and evicted == [2]
    assert [f.frame_id for f in store.recent()] == [3, 1] and 2 not in store


def test_store_wait_for_wakes_on_arrival_or_times_out():
    async def main():
        store = FeatureStore(4)
        assert await store.wait_for(9, 0.05) is None
        waiter = asyncio.create_task(store.wait_for(9, 5))
        await asyncio.sleep(0.01)
        store.put(received(9))
        return await waiter

    assert asyncio.run(main()).frame_id == 9


def run_batches(items, **kw):
    seen = []

    def run(batch):
        seen.append(list(batch))
        time.sleep(0.02)
        return [x * 10 for x in batch]

    async def main():
        batcher = DynamicBatcher(run, **kw)
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit(x) for x in items), return_exceptions=True), batcher
        finally:
            await batcher.stop()

    (results, batcher) = asyncio.run(main())
    return results, seen, batcher


def test_batcher_gathers_concurrent_items_in_order():
    results, seen, batcher = run_batches(range(5), max_batch=4, max_delay_s=0.05, queue_size=10)
    assert [r[0] for r in results] == [0, 10, 20, 30, 40]
    assert seen == [[0, 1, 2, 3], [4]] and batcher.largest_batch == 4
    assert results[0][1].batch_size == 4 and results[4][1].batch_size == 1


def test_batcher_refuses_beyond_its_queue():
    results, _, _ = run_batches(range(6), max_batch=1, max_delay_s=0, queue_size=2)
    refused = [r for r in results if isinstance(r, Overloaded)]
    assert len(refused) == 4  # all six arrive before the worker takes one: two wait, four are refused


def test_a_failed_batch_fails_its_callers_not_the_worker():
    calls = []

    def run(batch):
        calls.append(batch)
        if len(calls) == 1:
            raise RuntimeError("model fell over")
        return list(batch)

    async def main():
        batcher = DynamicBatcher(run, max_batch=2, max_delay_s=0, queue_size=4)
        batcher.start()
        with pytest.raises(RuntimeError, match="fell over"):
            await batcher.submit(1)
        result, _ = await batcher.submit(2)
        await batcher.stop()
        return result

    assert asyncio.run(main()) == 2


def test_event_bus_fans_out_and_drops_the_oldest_for_slow_readers():
    async def main():
        bus = EventBus(subscriber_queue=2)
        async with bus.subscribe() as events:
            for i in range(3):
                bus.publish("tick", {"i": i})
            bus.close()
            got = [e.data["i"] async for e in events]
        return got, bus

    got, bus = asyncio.run(main())
    assert got == [2] and bus.dropped == 2 and bus.subscribers == 0

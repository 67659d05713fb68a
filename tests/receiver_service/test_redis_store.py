"""The shared frame store: the stored-frame record, both backends' bounds and TTL, and two receivers sharing Redis.

Needs redis-server (Debian's package); without it the Redis tests skip saying how to install it.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import redis
import torch

from semlink.packets import MalformedFrame
from semlink.receiver.stores import FrameStoreError, MemoryFrameStore, StoreBounds, StoredFrame, open_frame_store
from semlink.receiver.stores.redis_store import FRAME, RedisFrameStore
from redis_process import RedisServer, redis_executable


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(redis_executable(), tmp_path).start()
    yield server
    server.stop()


def stored(make_frame, seq: int, drop: tuple[int, ...] = (), damaged: int = 0) -> StoredFrame:
    frame = make_frame(seq)
    frame = replace(frame, packets=tuple(p for p in frame.packets if p.index not in drop), damaged=damaged)
    return StoredFrame(frame, messages=2, wire_bytes=1234, received_at=1.5e9)


def test_a_stored_frame_round_trips_with_its_losses(make_frame):
    original = stored(make_frame, 5, drop=(1, 3), damaged=1)
    back = StoredFrame.from_bytes(original.to_bytes())
    assert back == original
    assert back.frame.header.meta == original.frame.header.meta  # meta is not compared by FrameHeader's eq


def test_a_damaged_record_is_refused(make_frame):
    data = stored(make_frame, 5).to_bytes()
    for bad in (b"nope" + data[4:], data[:-1], data + b"x", data[:20]):
        with pytest.raises(MalformedFrame):
            StoredFrame.from_bytes(bad)


def test_memory_store_bounds_and_ttl(make_frame):
    now = [0.0]
    one = len(stored(make_frame, 1).to_bytes())
    store = MemoryFrameStore(StoreBounds(ttl_s=10, max_frames=3, max_bytes=10 * one), clock=lambda: now[0])
    assert [store.put(stored(make_frame, s)) for s in range(5)] == [0, 0, 0, 1, 1]
    assert store.stats() == (3, 3 * one)
    assert store.get(make_frame(1).header.frame_id) is None and store.get(make_frame(4).header.frame_id) is not None
    now[0] = 10.0
    assert store.stats() == (0, 0) and store.get(make_frame(4).header.frame_id) is None
    small = MemoryFrameStore(StoreBounds(ttl_s=10, max_frames=100, max_bytes=2 * one + 1))
    for s in range(4):
        small.put(stored(make_frame, s))
    assert small.stats() == (2, 2 * one)


def test_open_frame_store_names_the_backends():
    assert open_frame_store("memory", StoreBounds()) is None
    with pytest.raises(ValueError, match="redis://"):
        open_frame_store("mongodb://x", StoreBounds())


def test_redis_store_round_trip_and_bounds(redis_server, make_frame):
    one = len(stored(make_frame, 1).to_bytes())
    store = open_frame_store(redis_server.url, StoreBounds(ttl_s=60, max_frames=3, max_bytes=1 << 30))
    assert isinstance(store, RedisFrameStore)
    assert [store.put(stored(make_frame, s)) for s in range(6)] == [0, 0, 0, 1, 1, 1]
    assert store.stats() == (3, 3 * one)
    assert store.get(make_frame(2).header.frame_id) is None
    assert store.get(make_frame(5).header.frame_id) == stored(make_frame, 5)
    raw = redis.Redis.from_url(redis_server.url)
    assert len(raw.keys(FRAME + "*")) == 3  # evicted frames are deleted, not only unindexed
    by_bytes = RedisFrameStore(redis_server.url, StoreBounds(ttl_s=60, max_frames=100, max_bytes=2 * one + 1))
    for s in range(10, 14):
        by_bytes.put(stored(make_frame, s))
    assert by_bytes.stats() == (2, 2 * one) and len(raw.keys(FRAME + "*")) == 2
    raw.set(FRAME + "77", b"SLF1 not a frame")
    with pytest.raises(FrameStoreError, match="unreadable"):
        by_bytes.get(77)
    raw.close()


def test_redis_store_frames_expire(redis_server, make_frame):
    store = RedisFrameStore(redis_server.url, StoreBounds(ttl_s=0.2, max_frames=10))
    store.put(stored(make_frame, 1))
    assert store.get(make_frame(1).header.frame_id) is not None
    time.sleep(0.3)
    assert store.get(make_frame(1).header.frame_id) is None
    assert store.stats() == (0, 0)


def test_redis_outage_is_an_error_never_a_miss(redis_server, make_frame):
    store = RedisFrameStore(redis_server.url, StoreBounds(), timeout_s=0.5)
    redis_server.stop()
    with pytest.raises(FrameStoreError, match="unavailable"):
        store.get(1)
    with pytest.raises(FrameStoreError, match="unavailable"):
        store.put(stored(make_frame, 1))


def test_a_frame_sent_through_a_is_answered_through_b(redis_server, start_receiver, make_frame, fid):
    shared = dict(store=redis_server.url, store_max_frames=2, store_timeout_s=0.5)
    with start_receiver(**shared) as a, start_receiver(**shared) as b:
        assert a.send(make_frame(40)).status == "ok"
        via_a, via_b = a.ask(fid(40)), b.ask(fid(40))
        assert via_b.status_code == 200, via_b.text
        assert via_b.json()["result"] == via_a.json()["result"]
        assert via_b.json()["frame_id"] == fid(40) and via_b.json()["wire_bytes"] == via_a.json()["wire_bytes"]
        # A frame not yet sent anywhere: 404 at once; asked with wait_ms, B finds it once A has it.
        assert b.ask(fid(41)).status_code == 404
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(b.ask, fid(41), wait_ms=5000)
            time.sleep(0.3)
            a.send(make_frame(41))
            assert waiting.result(timeout=20).status_code == 200
        # The bound holds across replicas: two frames at most, the oldest deleted.
        b.send(make_frame(42))
        assert a.receiver.shared.stats()[0] == 2
        assert b.ask(fid(41)).status_code == 200 and a.ask(fid(42)).status_code == 200
        missing = b.ask(fid(43))
        assert missing.status_code == 404
        a.send(make_frame(43))
        assert a.receiver.shared.get(fid(40)) is None  # evicted by the bound (A still has it decoded)
        # Outage: a frame B never decoded gets a 503 naming the store; what B holds is still answered right.
        redis_server.stop()
        down = b.ask(fid(43))
        assert down.status_code == 503 and "frame store" in down.json()["detail"], down.text
        assert down.headers["retry-after"]
        assert b.ask(fid(40)).status_code == 200 and b.ask(fid(40)).json()["result"] == via_a.json()["result"]


class FailingStore(MemoryFrameStore):
    """A store that is down until ``up`` is set."""

    def __init__(self):
        super().__init__(StoreBounds())
        self.up = False
        self.writes = 0

    def put(self, frame):
        self.writes += 1
        if not self.up:
            raise FrameStoreError("the frame store at test is unavailable")
        return super().put(frame)


def test_an_unreachable_store_does_not_hold_up_every_frame(codec, make_frame, bundle):
    from semlink.receiver.engine import FrameDecoder
    from semlink.receiver.reassembly import Reassembled
    from semlink.receiver.stores.sharing import SharingDecoder

    now = [0.0]
    store = FailingStore()
    decoder = SharingDecoder(FrameDecoder(codec, bundle), store, retry_s=2.0, clock=lambda: now[0])
    frames = [Reassembled(make_frame(s), 1, False, 100) for s in range(4)]
    assert decoder.decode(frames[0]).frame_id == frames[0].frame.header.frame_id
    decoder.decode(frames[1])  # within the pause: not tried
    assert store.writes == 1 and decoder.store_failures == 1 and decoder.unshared == 1
    now[0], store.up = 2.5, True
    decoder.decode(frames[2])
    assert store.writes == 2 and store.get(frames[2].frame.header.frame_id) is not None
    restored = decoder.restore(store.get(frames[2].frame.header.frame_id))
    assert restored.wire_bytes == 100 and torch.equal(restored.features, decoder.decode(frames[2]).features)

"""A :class:`FrameStore` on Redis or Valkey, shared by every receiver replica pointed at the same URL.

Each frame is one key with its own TTL. The bounds are kept by the store
itself, atomically, in one Lua script per write: a sorted set indexes frames by
the time they were stored (the server's clock) and a hash holds their sizes;
on every put the expired entries leave the index, then the oldest frames are
deleted until at most ``max_frames`` frames and ``max_bytes`` encoded bytes
remain. ``maxmemory`` may be set as well, but the store does not rely on it.
"""

from __future__ import annotations

import logging

import redis

from semlink.packets import MalformedFrame
from semlink.receiver.stores.base import FrameStoreError, StoreBounds
from semlink.receiver.stores.record import StoredFrame

log = logging.getLogger(__name__)

KEY_PREFIX = "{semlink}:"  # one hash tag: a Redis Cluster keeps every key of the store on one shard
INDEX, SIZES, TOTAL, FRAME = (KEY_PREFIX + k for k in ("index", "sizes", "bytes", "frame:"))

_PRELUDE = """
local idx, sizes, total, prefix = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local ttl = tonumber(ARGV[2])
local function drop(m)
  local size = tonumber(redis.call('HGET', sizes, m) or '0')
  redis.call('DEL', prefix .. m)
  redis.call('HDEL', sizes, m)
  redis.call('ZREM', idx, m)
  redis.call('DECRBY', total, size)
end
for _, m in ipairs(redis.call('ZRANGEBYSCORE', idx, '-inf', now - ttl)) do drop(m) end
"""

PUT_SCRIPT = _PRELUDE + """
local member, payload = ARGV[3], ARGV[4]
local max_frames, max_bytes = tonumber(ARGV[5]), tonumber(ARGV[6])
drop(member)
redis.call('SET', prefix .. member, payload, 'PX', ttl)
redis.call('ZADD', idx, now, member)
redis.call('HSET', sizes, member, #payload)
redis.call('INCRBY', total, #payload)
local evicted = 0
while redis.call('ZCARD', idx) > max_frames or tonumber(redis.call('GET', total) or '0') > max_bytes do
  drop(redis.call('ZRANGE', idx, 0, 0)[1])
  evicted = evicted + 1
end
return evicted
"""

STATS_SCRIPT = _PRELUDE + """
return {redis.call('ZCARD', idx), tonumber(redis.call('GET', total) or '0')}
"""


class RedisFrameStore:
    """Frames in Redis/Valkey at ``url`` (``redis://host:port/db``); every call fails within ``timeout_s``."""

    def __init__(self, url: str, bounds: StoreBounds, timeout_s: float = 1.0):
        self.bounds = bounds
        self.client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        where = self.client.connection_pool.connection_kwargs  # named without any password the URL carries
        self.url = where.get("path") or f"{where.get('host')}:{where.get('port')}/{where.get('db', 0)}"
        self._put = self.client.register_script(PUT_SCRIPT)
        self._stats = self.client.register_script(STATS_SCRIPT)

    def _args(self) -> list:
        return [FRAME, int(self.bounds.ttl_s * 1000)]

    def put(self, frame: StoredFrame) -> int:
        try:
            return int(self._put(keys=[INDEX, SIZES, TOTAL], args=[*self._args(), str(frame.frame_id),
                       frame.to_bytes(), self.bounds.max_frames, self.bounds.max_bytes]))
        except redis.RedisError as err:
            raise self._failed("store", frame.frame_id, err) from err

    def get(self, frame_id: int) -> StoredFrame | None:
        try:
            data = self.client.get(FRAME + str(frame_id))
        except redis.RedisError as err:
            raise self._failed("read", frame_id, err) from err
        if data is None:
            return None
        try:
            return StoredFrame.from_bytes(data)
        except MalformedFrame as err:
            raise FrameStoreError(f"the frame store at {self.url} holds unreadable data for frame {frame_id} "
                                  f"({err}); another program may be writing to the same keys") from err

    def stats(self) -> tuple[int, int]:
        try:
            frames, nbytes = self._stats(keys=[INDEX, SIZES, TOTAL], args=self._args())
        except redis.RedisError as err:
            raise self._failed("count", None, err) from err
        return int(frames), int(nbytes)

    def close(self) -> None:
        self.client.close()

    def _failed(self, action: str, frame_id: int | None, err: Exception) -> FrameStoreError:
        what = f"frame {frame_id}" if frame_id is not None else "frames"
        return FrameStoreError(f"the frame store at {self.url} is unavailable: could not {action} {what} "
                               f"({type(err).__name__}: {err})")

"""An in-process :class:`FrameStore`: one dict, oldest first, with the same TTL and bounds as the Redis one.

For receivers sharing one process (tests, benchmarks); replicas in separate
processes share a Redis/Valkey store instead.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from semlink.receiver.stores.base import StoreBounds
from semlink.receiver.stores.record import StoredFrame


class MemoryFrameStore:
    """Frames by id as encoded bytes; expired ones dropped on access, the oldest evicted past the bounds."""

    def __init__(self, bounds: StoreBounds, clock: Callable[[], float] = time.monotonic):
        self.bounds = bounds
        self.clock = clock
        self._frames: OrderedDict[int, tuple[float, bytes]] = OrderedDict()  # id -> (expires at, bytes)
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, frame: StoredFrame) -> int:
        data = frame.to_bytes()
        with self._lock:
            self._drop_expired()
            self._remove(frame.frame_id)
            self._frames[frame.frame_id] = (self.clock() + self.bounds.ttl_s, data)
            self._bytes += len(data)
            evicted = 0
            while len(self._frames) > self.bounds.max_frames or self._bytes > self.bounds.max_bytes:
                self._remove(next(iter(self._frames)))
                evicted += 1
            return evicted

    def get(self, frame_id: int) -> StoredFrame | None:
        with self._lock:
            self._drop_expired()
            held = self._frames.get(frame_id)
        return None if held is None else StoredFrame.from_bytes(held[1])

    def stats(self) -> tuple[int, int]:
        with self._lock:
            self._drop_expired()
            return len(self._frames), self._bytes

    def close(self) -> None:
        pass

    def _remove(self, frame_id: int) -> None:
        held = self._frames.pop(frame_id, None)
        if held is not None:
            self._bytes -= len(held[1])

    def _drop_expired(self) -> None:
        now = self.clock()
        while self._frames:
            fid, (expires, _) = next(iter(self._frames.items()))
            if expires > now:
                break
            self._remove(fid)

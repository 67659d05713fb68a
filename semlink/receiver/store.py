"""A bounded LRU store of received frames: decoded features plus what the link did to them.

Owned by one asyncio event loop. ``wait_for`` lets a caller ask about a frame
that has not arrived yet and be woken when it is stored.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from semlink.packets.outcome import AckStatus


@dataclass
class ReceivedFrame:
    """One decoded frame: ``features (C, H, W)`` and ``lost_rows (h,)`` of its latent, plus link facts."""

    frame_id: int
    codec: str
    fingerprint: str
    features: torch.Tensor
    lost_rows: torch.Tensor
    image_size: tuple[int, int]  # (width, height) of the original image, for box post-processing
    wire_bytes: float  # every byte of its packets that arrived (headers, payloads, checks), and their transport
    payload_bytes: int
    packets: int
    packets_missing: int
    packets_corrupted: int
    datagrams: float = 0  # datagrams that arrived for it (a packed frame: its share of its group's)
    datagram_overhead: int = 0  # transport bytes counted per datagram into wire_bytes (what the link stamped)
    messages: int = 1
    decode_ms: float = 0.0
    received_at: float = field(default_factory=time.time)
    meta: dict[str, str] = field(default_factory=dict)
    auto_result: object = None

    @property
    def packets_lost(self) -> int:
        """Packets whose rows were erased: never arrived, or arrived unusable (check, decoding, size)."""
        return self.packets_missing + self.packets_corrupted

    @property
    def status(self) -> AckStatus:
        return AckStatus.PARTIAL if self.packets_lost else AckStatus.OK


class FeatureStore:
    """The ``capacity`` most recently used frames by id; the least recently used one is evicted.

    ``on_evict(frame)`` (optional) is called for each evicted frame.
    """

    def __init__(self, capacity: int, on_evict: Callable[[ReceivedFrame], None] | None = None):
        if capacity < 1:
            raise ValueError(f"store capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.on_evict = on_evict
        self.evictions = 0
        self._frames: OrderedDict[int, ReceivedFrame] = OrderedDict()
        self._waiters: dict[int, list[asyncio.Future]] = {}

    def __len__(self) -> int:
        return len(self._frames)

    def __contains__(self, frame_id: int) -> bool:
        return frame_id in self._frames

    def put(self, frame: ReceivedFrame) -> list[int]:
        """Store ``frame`` (most recent), wake its waiters; return the ids evicted to make room."""
        self._frames[frame.frame_id] = frame
        self._frames.move_to_end(frame.frame_id)
        evicted = []
        while len(self._frames) > self.capacity:
            fid, old = self._frames.popitem(last=False)
            evicted.append(fid)
            self.evictions += 1
            if self.on_evict is not None:
                self.on_evict(old)
        for waiter in self._waiters.pop(frame.frame_id, []):
            if not waiter.done():
                waiter.set_result(frame)
        return evicted

    def get(self, frame_id: int) -> ReceivedFrame | None:
        """The frame, marked as just used; ``None`` when never received or evicted."""
        frame = self._frames.get(frame_id)
        if frame is not None:
            self._frames.move_to_end(frame_id)
        return frame

    def peek(self, frame_id: int) -> ReceivedFrame | None:
        """The frame without touching its recency."""
        return self._frames.get(frame_id)

    def recent(self, limit: int | None = None) -> list[ReceivedFrame]:
        """Frames, most recently used first."""
        frames = list(reversed(self._frames.values()))
        return frames if limit is None else frames[:limit]

    async def wait_for(self, frame_id: int, timeout_s: float) -> ReceivedFrame | None:
        """The frame, waiting up to ``timeout_s`` for it to arrive; ``None`` if it does not."""
        frame = self.get(frame_id)
        if frame is not None or timeout_s <= 0:
            return frame
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(frame_id, []).append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            return None
        finally:
            waiters = self._waiters.get(frame_id)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiters[frame_id]

"""The contract every shared frame store keeps: put and get coded frames by id, within a TTL and bounds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from semlink.receiver.stores.record import StoredFrame


class FrameStoreError(RuntimeError):
    """The store could not be reached or answered nonsense; the caller must not guess an answer."""


@dataclass(frozen=True)
class StoreBounds:
    """How long a frame is kept and how many frames / encoded bytes the store holds at most (oldest go first)."""

    ttl_s: float = 600.0
    max_frames: int = 4096
    max_bytes: int = 1 << 30

    def __post_init__(self):
        if self.ttl_s <= 0:
            raise ValueError(f"ttl_s must be > 0, got {self.ttl_s}")
        if self.max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {self.max_frames}")
        if self.max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {self.max_bytes}")


class FrameStore(Protocol):
    """Blocking calls (run them off the event loop); each raises :class:`FrameStoreError` when the store fails."""

    bounds: StoreBounds

    def put(self, frame: StoredFrame) -> int:
        """Store ``frame`` (replacing one of the same id); return how many older frames were evicted for it."""

    def get(self, frame_id: int) -> StoredFrame | None:
        """The frame, or ``None`` when never stored, expired or evicted."""

    def stats(self) -> tuple[int, int]:
        """``(frames, encoded bytes)`` held now."""

    def close(self) -> None:
        """Release connections."""

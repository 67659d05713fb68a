"""Frame stores shared by receiver replicas: the coded frame and its header, so any replica can decode it.

``open_frame_store(url)`` picks the backend: ``memory`` (none shared: each
receiver keeps its own decoded frames, as a single receiver does) or
``redis://host:port/db`` (Redis or Valkey, shared by every replica pointed at it).
Decoded features are never shared; each replica keeps an LRU of them
(:class:`~semlink.receiver.store.FeatureStore`).
"""

from semlink.receiver.stores.base import FrameStore, FrameStoreError, StoreBounds
from semlink.receiver.stores.memory import MemoryFrameStore
from semlink.receiver.stores.record import StoredFrame

__all__ = ["FrameStore", "FrameStoreError", "MemoryFrameStore", "StoreBounds", "StoredFrame", "open_frame_store"]


def open_frame_store(url: str, bounds: StoreBounds, timeout_s: float = 1.0) -> FrameStore | None:
    """The shared store ``url`` names; ``None`` for ``memory`` (nothing shared between replicas)."""
    if url in ("", "memory"):
        return None
    if url.startswith(("redis://", "rediss://", "unix://")):
        from semlink.receiver.stores.redis_store import RedisFrameStore

        return RedisFrameStore(url, bounds, timeout_s=timeout_s)
    raise ValueError(f"unknown frame store {url!r}: use memory (the default) or redis://host:port/db")

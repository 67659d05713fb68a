"""Network impairments for the proxy, per frame message: delay with jitter, a bandwidth cap, duplication, reordering.

These act on whole messages in time (the packet channel in :mod:`semlink.channel`
acts on their contents). :class:`Network` plans, seeded and without a clock of its
own, when each message leaves; :class:`DelayLine` holds messages in an asyncio loop
and releases them on plan.

- bandwidth: a token bucket of ``rate_kbps`` (kbit/s, 0 = unlimited) holding up to
  ``burst_bytes``; a message leaves when the bucket can pay for it, in arrival order;
- delay: ``delay_ms`` plus jitter drawn uniformly from ``[-jitter_ms, +jitter_ms]``
  (netem's default distribution), never below zero; jitter alone keeps order;
- duplicate: with probability ``duplicate`` a message is sent twice;
- reorder: with probability ``reorder`` a message is held back and sent right after
  the next one (or after ``hold_ms`` if none comes).

The delay line holds at most ``max_items`` copies and ``max_bytes`` bytes; a message that
would go past either is refused at once (``refuse(item, reason)``), never queued, and
costs the token bucket nothing.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from semlink.channel.checks import check_number, check_probability


@dataclass(frozen=True)
class NetworkConfig:
    """Message-level impairments; plain values, so it round-trips through JSON."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_kbps: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    burst_bytes: int = 16384
    hold_ms: float = 100.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("delay_ms", "jitter_ms", "rate_kbps", "hold_ms"):
            if check_number(name, getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        check_probability("duplicate", self.duplicate)
        check_probability("reorder", self.reorder)
        if isinstance(self.burst_bytes, bool) or not isinstance(self.burst_bytes, int) or self.burst_bytes < 1:
            raise ValueError(f"burst_bytes must be a positive int, got {self.burst_bytes!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {self.seed!r}")

    @property
    def impaired(self) -> bool:
        return any((self.delay_ms, self.jitter_ms, self.rate_kbps, self.duplicate, self.reorder))

    def to_dict(self) -> dict:
        return asdict(self)


class TokenBucket:
    """A bandwidth cap: ``rate`` bytes/s, at most ``burst`` bytes of credit; departures stay in arrival order."""

    def __init__(self, rate_bytes_per_s: float, burst_bytes: int):
        self.rate = rate_bytes_per_s
        self.burst = burst_bytes
        self.tokens = float(burst_bytes)
        self.clock: float | None = None  # time the tokens were counted at (the last departure or later)

    def departure(self, nbytes: int, now: float) -> float:
        """When a message of ``nbytes`` arriving at ``now`` leaves (seconds, same clock as ``now``)."""
        if self.rate <= 0:
            return now
        t = now if self.clock is None else max(now, self.clock)
        if self.clock is not None:
            self.tokens = min(self.burst, self.tokens + (t - self.clock) * self.rate)
        if self.tokens < nbytes:
            t += (nbytes - self.tokens) / self.rate
            self.tokens = float(nbytes)
        self.tokens -= nbytes
        self.clock = t
        return t


@dataclass(frozen=True)
class Plan:
    """When each copy of a message is released (one time per copy), and whether it is held for reordering."""

    release_at: tuple[float, ...]
    held: bool = False


class Network:
    """Seeded planner: :meth:`plan` says when a message of ``nbytes`` arriving at ``now`` is released."""

    def __init__(self, config: NetworkConfig | None = None):
        self.config = config if config is not None else NetworkConfig()
        self.reset()

    def reset(self) -> None:
        """Rewind the random streams to the seed and empty the bucket's queue."""
        jitter, dup, reorder = np.random.SeedSequence([self.config.seed, 0x6E6574]).spawn(3)
        self._jitter = np.random.default_rng(jitter)
        self._dup = np.random.default_rng(dup)
        self._reorder = np.random.default_rng(reorder)
        self._bucket = TokenBucket(self.config.rate_kbps * 1000 / 8, self.config.burst_bytes)
        self._last_release = float("-inf")

    def plan(self, nbytes: int, now: float) -> Plan:
        c = self.config
        copies = 2 if c.duplicate and self._dup.random() < c.duplicate else 1
        held = bool(c.reorder and self._reorder.random() < c.reorder)
        times = []
        for _ in range(copies):
            delay = c.delay_ms
            if c.jitter_ms:
                delay += self._jitter.uniform(-c.jitter_ms, c.jitter_ms)
            release = self._bucket.departure(nbytes, now) + max(0.0, delay) / 1000
            release = max(release, self._last_release)  # jitter alone never reorders
            self._last_release = release
            times.append(release)
        return Plan(tuple(times), held)


class DelayLineFull(RuntimeError):
    """The delay line holds as many messages or bytes as it may."""


class DelayLine:
    """Release items through ``deliver`` at the times a :class:`Network` plans, in an asyncio loop.

    ``deliver(item, delay_s)`` is called for each copy of each item with the delay the
    line added. Without impairments items are delivered at once, in the caller's turn.
    ``refuse(item, reason)`` is called instead for an item the line has no room for
    (without ``refuse``, :meth:`push` raises :class:`DelayLineFull`).
    """

    def __init__(self, network: Network, deliver: Callable[[Any, float], None], *,
                 refuse: Callable[[Any, str], None] | None = None, max_items: int = 1024,
                 max_bytes: int = 256 * 2**20):
        if max_items < 1 or max_bytes < 1:
            raise ValueError(f"max_items and max_bytes must be >= 1, got {max_items}, {max_bytes}")
        self.network = network
        self.deliver = deliver
        self.refuse = refuse
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.held_bytes = 0
        self._heap: list[tuple[float, int, float, Any, int]] = []  # (release_at, seq, arrived_at, item, nbytes)
        # held for reordering: (arrived_at, item, copies, timer, nbytes)
        self._held: list[tuple[float, Any, int, asyncio.TimerHandle, int]] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self.counts: Counter[str] = Counter()  # duplicated, reordered, refused

    def __len__(self) -> int:
        return len(self._heap) + len(self._held)

    def push(self, item: Any, nbytes: int) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self.network.config.impaired and not self._heap:
            self.deliver(item, 0.0)
            return
        if len(self) + 1 > self.max_items or self.held_bytes + nbytes > self.max_bytes:
            self.counts["refused"] += 1
            reason = (f"delay line full ({len(self)} messages, {self.held_bytes} bytes held; at most "
                      f"{self.max_items} messages, {self.max_bytes} bytes)")
            if self.refuse is None:
                raise DelayLineFull(reason)
            self.refuse(item, reason)
            return
        plan = self.network.plan(nbytes, now)
        copies = len(plan.release_at)
        self.counts["duplicated"] += copies - 1
        self.held_bytes += copies * nbytes
        if plan.held:
            self.counts["reordered"] += 1
            hold_until = plan.release_at[0] + self.network.config.hold_ms / 1000
            handle = loop.call_at(hold_until, self._release_held)
            self._held.append((now, item, copies, handle, nbytes))
            return
        for release in plan.release_at:
            heapq.heappush(self._heap, (release, next(self._seq), now, item, nbytes))
        # messages held for reordering go out right after this one
        for arrived, held_item, held_copies, handle, held_bytes in self._held:
            handle.cancel()
            for _ in range(held_copies):
                heapq.heappush(self._heap, (plan.release_at[-1], next(self._seq), arrived, held_item, held_bytes))
        self._held.clear()
        self._arm(loop)

    def _release_held(self) -> None:
        now = asyncio.get_running_loop().time()
        held, self._held = self._held, []
        for arrived, item, copies, handle, nbytes in held:
            handle.cancel()
            self.held_bytes -= copies * nbytes
            for _ in range(copies):
                self.deliver(item, now - arrived)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(self._heap[0][0], self._drain) if self._heap else None

    def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._heap and self._heap[0][0] <= now:
            _, _, arrived, item, nbytes = heapq.heappop(self._heap)
            self.held_bytes -= nbytes
            self.deliver(item, now - arrived)
        self._timer = None
        self._arm(loop)

    def clear(self) -> list[Any]:
        """Drop everything waiting (each item once, whatever its copies) and return it."""
        dropped = {id(item): item for _, _, _, item, _ in self._heap}
        for _, item, _, handle, _ in self._held:
            handle.cancel()
            dropped[id(item)] = item
        self._held.clear()
        self._heap.clear()
        self.held_bytes = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return list(dropped.values())

"""Reconnect backoff: how long a link waits before it tries again (the sender's stream, ``up``'s restarts)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays after gRPC's connection-backoff rule: ``initial * multiplier**attempt``, capped, ± jitter."""

    initial_s: float = 0.1
    max_s: float = 5.0
    multiplier: float = 1.6
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s:
            raise ValueError(f"need 0 < initial_s <= max_s, got initial_s={self.initial_s}, max_s={self.max_s}")
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before reconnect ``attempt`` (0 = first retry)."""
        base = min(self.max_s, self.initial_s * self.multiplier ** min(attempt, 64))
        return base * (1 + rng.uniform(-self.jitter, self.jitter))

    def channel_options(self) -> list[tuple[str, int]]:
        """gRPC channel options so the channel's own reconnect backoff follows the same schedule."""
        initial_ms, max_ms = max(1, int(self.initial_s * 1000)), max(1, int(self.max_s * 1000))
        return [
            ("grpc.initial_reconnect_backoff_ms", initial_ms),
            ("grpc.min_reconnect_backoff_ms", initial_ms),
            ("grpc.max_reconnect_backoff_ms", max_ms),
        ]

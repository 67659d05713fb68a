"""Keep a started link's services up: restart one that exits after it was ready, with backoff and a cap.

    link.start()                                   # fails fast if a service never gets ready
    failure = Supervisor(link, RestartPolicy(max_per_minute=5)).run()   # returns only when it gives up
    link.stop()

A service that exits on its own is started again with the same environment, so
on the same ports (the others point at them), after ``backoff.delay(n)`` seconds
where ``n`` is how many times it was restarted in the last minute. The
``max_per_minute + 1``-th exit within a minute ends supervision with a
:class:`ServiceFailed` that says so. The other services are never touched.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from semlink.launch.client import bearer_headers
from semlink.launch.link import LocalLink
from semlink.launch.process import ServiceFailed, ServiceProcess
from semlink.link import Backoff

log = logging.getLogger(__name__)

WINDOW_S = 60.0
RESTART_BACKOFF = Backoff(initial_s=0.5, max_s=15.0, multiplier=2.0, jitter=0.0)
"""0.5 s, 1 s, 2 s, 4 s, ... at most 15 s: a service that crashes at once is not restarted in a hot loop."""


@dataclass(frozen=True)
class RestartPolicy:
    """At most ``max_per_minute`` restarts of one service in any ``window_s`` seconds (0: never restart)."""

    max_per_minute: int = 5
    backoff: Backoff = field(default_factory=lambda: RESTART_BACKOFF)
    window_s: float = WINDOW_S

    def __post_init__(self) -> None:
        if isinstance(self.max_per_minute, bool) or not isinstance(self.max_per_minute, int) or self.max_per_minute < 0:
            raise ValueError(f"max_per_minute must be a whole number >= 0, got {self.max_per_minute!r}")
        if not self.window_s > 0:
            raise ValueError(f"window_s must be > 0, got {self.window_s!r}")


class RestartHistory:
    """One service's restarts: how long to wait before the next one, or ``None`` once the cap is reached."""

    def __init__(self, policy: RestartPolicy):
        self.policy = policy
        self.total = 0
        self._times: deque[float] = deque()
        self._rng = random.Random(0)

    def recent(self, now: float) -> int:
        """Restarts in the ``window_s`` seconds up to ``now``."""
        while self._times and self._times[0] <= now - self.policy.window_s:
            self._times.popleft()
        return len(self._times)

    def next_delay(self, now: float) -> float | None:
        """Seconds to wait before restarting after an exit at ``now``; ``None``: the cap is reached, give up."""
        n = self.recent(now)
        return None if n >= self.policy.max_per_minute else self.policy.backoff.delay(n, self._rng)

    def record(self, now: float) -> None:
        self._times.append(now)
        self.total += 1


class Supervisor:
    """Watches every service of a started :class:`LocalLink` and restarts the ones that exit.

    ``report`` gets one line per event (exited, restarting, back); ``semlink up`` prints them.
    """

    def __init__(self, link: LocalLink, policy: RestartPolicy | None = None,
                 report: Callable[[str], None] | None = None, poll_s: float = 0.25,
                 clock: Callable[[], float] = time.monotonic):
        self.link = link
        self.policy = policy or RestartPolicy()
        self.report = report or log.warning
        self.poll_s = poll_s
        self.clock = clock
        self.histories = {name: RestartHistory(self.policy) for name in link.services}
        self._restart_at: dict[str, float] = {}  # exited, waiting out its backoff
        self._coming_back: dict[str, float] = {}  # restarted, not ready yet: when it exited

    @property
    def restarts(self) -> dict[str, int]:
        """How many times each service was restarted so far."""
        return {name: h.total for name, h in self.histories.items()}

    def run(self) -> ServiceFailed:
        """Supervise until a service exhausts its restarts (returned as an error to raise); Ctrl-C raises
        ``KeyboardInterrupt``."""
        with httpx.Client(headers=bearer_headers(self.link.config.api_token)) as client:
            while (failure := self.step(client)) is None:
                time.sleep(self.poll_s)
        return failure

    def step(self, client: httpx.Client) -> ServiceFailed | None:
        """Look at every service once: note exits, restart those whose backoff is over, see who is back."""
        now = self.clock()
        for name, service in self.link.services.items():
            if name in self._restart_at:
                if now >= self._restart_at[name]:
                    del self._restart_at[name]
                    service.start()
            elif not service.running():
                if (failure := self._exited(name, service, now)) is not None:
                    return failure
            elif name in self._coming_back:
                if service.not_ready(client) is None:
                    self._back(name, service, now)
                elif now - self._coming_back[name] > self.link.ready_timeout:
                    return service.failure(f"was restarted but not ready again within {self.link.ready_timeout:.0f}s")
        return None

    def _exited(self, name: str, service: ServiceProcess, now: float) -> ServiceFailed | None:
        history = self.histories[name]
        cap = self.policy.max_per_minute
        what = f"exited with code {service.returncode}"
        if name in self._coming_back:
            what += " before it was ready again"
        delay = history.next_delay(now)
        if delay is None:
            if cap == 0:
                return service.failure(f"{what} (restarts are off)")
            return service.failure(f"{what} after {history.recent(now)} restarts in the last "
                                   f"{self.policy.window_s:.0f}s, the most allowed (--max-restarts {cap}); giving up")
        history.record(now)
        self._restart_at[name] = now + delay
        self._coming_back.setdefault(name, now)
        self.report(f"{name} {what}; restarting it in {delay:.1f}s "
                    f"(restart {history.recent(now)} of at most {cap} a minute, {history.total} in all)")
        return None

    def _back(self, name: str, service: ServiceProcess, now: float) -> None:
        down_s = now - self._coming_back.pop(name)
        self.report(f"{name} back at {service.url} pid {service.pid} after {down_s:.1f}s down "
                    f"(restarts: {self.histories[name].total})")

"""Resident memory of service processes, read from ``/proc/<pid>/status`` (``VmRSS``), sampled over time."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field


def rss_kib(pid: int) -> int | None:
    """``pid``'s resident set size in KiB; ``None`` if it is gone or this is not Linux."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def pid_listening_on(port: int) -> int | None:
    """The pid of the process with a TCP socket listening on ``port`` (Linux ``/proc``; ``None`` if not found)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                        inodes.add(cols[9])
        except FileNotFoundError:
            continue
    if not inodes:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


@dataclass
class RssSeries:
    """One service's samples: ``(seconds since start, KiB)``."""

    samples: list[tuple[float, int]] = field(default_factory=list)

    def add(self, t: float, kib: int) -> None:
        self.samples.append((t, kib))

    def level(self, start: float, end: float) -> float | None:
        """Median KiB of the samples taken in ``[start, end]`` (``None`` if there are none)."""
        values = [kib for t, kib in self.samples if start <= t <= end]
        return statistics.median(values) if values else None

    def growth(self, warmup_s: float, window_s: float) -> tuple[float | None, float | None, float | None]:
        """``(warm-up KiB, final KiB, growth %)``: the median of the first ``window_s`` after ``warmup_s``
        against the median of the last ``window_s``."""
        if not self.samples:
            return None, None, None
        last = self.samples[-1][0]
        base = self.level(warmup_s, warmup_s + window_s)
        final = self.level(last - window_s, last)
        if base is None or final is None or base <= 0:
            return base, final, None
        return base, final, 100.0 * (final - base) / base

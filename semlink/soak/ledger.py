"""Frame accounting: every frame the transmitter accepted, its latest status, and whether it ended in time.

A frame *ends* ``acked`` or ``partial`` (delivered) or ``lost`` with a reason (a
receiver rejection is ``lost`` with ``rejected: ...``). It is *accounted for* once
it has ended; one still ``queued``/``sent`` past the bound is *stuck*.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass

from semlink.packets.outcome import FrameStatus
from semlink.packets.session import split_frame_id

FINAL = tuple(s for s in FrameStatus if s.final)
DELIVERED = tuple(s for s in FrameStatus if s.delivered)


def reason_kind(reason: str) -> str:
    """A loss reason without its numbers (``"no ack within 30 s"`` → ``"no ack within N s"``), for counting."""
    return re.sub(r"\d+(\.\d+)?", "N", reason)[:100] or "(none)"


@dataclass
class FrameEntry:
    frame_id: int
    accepted_at: float
    status: str = "queued"
    reason: str = ""
    ended_at: float | None = None
    orphaned: bool = False  # its transmitter was restarted: the REST status is gone with it

    @property
    def session_id(self) -> int:
        return split_frame_id(self.frame_id)[0]


class FrameLedger:
    """Thread-safe record of accepted frames and their statuses (``GET /v1/frames/{id}``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.frames: dict[int, FrameEntry] = {}
        self.status_changes = Counter()  # a final status replaced by another one: a frame answered twice

    def accepted(self, frame_id: int, status: str, reason: str = "") -> None:
        with self._lock:
            self.frames.setdefault(frame_id, FrameEntry(frame_id, time.monotonic()))
        self.update(frame_id, status, reason)

    def update(self, frame_id: int, status: str, reason: str = "") -> None:
        with self._lock:
            entry = self.frames[frame_id]
            if entry.status in FINAL:
                if (status, reason) != (entry.status, entry.reason):
                    self.status_changes[f"{entry.status} -> {status}"] += 1
                return
            entry.status, entry.reason = status, reason
            if status in FINAL:
                entry.ended_at = time.monotonic()

    def orphan(self, frame_id: int) -> None:
        with self._lock:
            self.frames[frame_id].orphaned = True

    def open_frames(self) -> list[int]:
        """Frames not ended and not orphaned, oldest first."""
        with self._lock:
            return [f for f, e in self.frames.items() if e.status not in FINAL and not e.orphaned]

    def entries(self) -> list[FrameEntry]:
        with self._lock:
            return list(self.frames.values())

    def summary(self, bound_s: float | None = None, now: float | None = None) -> dict:
        """Counts: accepted, delivered (acked, partial), lost by reason, open, orphaned, stuck past ``bound_s``."""
        now = time.monotonic() if now is None else now
        entries = self.entries()
        by_status = Counter(e.status for e in entries if not e.orphaned)
        lost = Counter(reason_kind(e.reason) for e in entries if e.status == FrameStatus.LOST)
        late = [e for e in entries if e.ended_at is not None and bound_s is not None
                and e.ended_at - e.accepted_at > bound_s]
        stuck = [e for e in entries if e.status not in FINAL and not e.orphaned and bound_s is not None
                 and now - e.accepted_at > bound_s]
        return {
            "accepted": len(entries),
            "acked": by_status[FrameStatus.ACKED],
            "partial": by_status[FrameStatus.PARTIAL],
            "delivered": sum(by_status[s] for s in DELIVERED),
            "lost": by_status[FrameStatus.LOST],
            "lost_reasons": dict(lost.most_common()),
            "open": sum(by_status[s] for s in by_status if s not in FINAL),
            "orphaned": sum(e.orphaned for e in entries),
            "ended_late": len(late),
            "stuck": [e.frame_id for e in stuck],
            "status_changes": dict(self.status_changes),
        }

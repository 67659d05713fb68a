"""The receiver's answers as it publishes them: one ``frame_*`` event per finished frame on ``GET /v1/events``.

:class:`ReceiverAnswers` follows the feed in a thread (subscribing again when the
receiver restarts) and counts events per frame id: a frame with more than one is a
frame the receiver answered twice.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter

import httpx

log = logging.getLogger(__name__)

FRAME_EVENTS = ("frame_received", "frame_lost", "frame_rejected")


class ReceiverAnswers:
    """Per frame id, how many times the receiver said it finished it (``frame_received``/``lost``/``rejected``)."""

    def __init__(self, receiver: str, retry_s: float = 0.5):
        self.url = receiver.rstrip("/") + "/v1/events"
        self.retry_s = retry_s
        self.per_frame: Counter[int] = Counter()
        self.by_type: Counter[str] = Counter()
        self.subscriptions = 0
        self._subscribed = threading.Event()
        self._running = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: httpx.Response | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        """Start following; returns once subscribed (or after ``timeout_s``)."""
        self._running.set()
        self._thread = threading.Thread(target=self._follow, name="soak-events", daemon=True)
        self._thread.start()
        self._subscribed.wait(timeout_s)

    def stop(self) -> None:
        self._running.clear()
        if self._response is not None:
            self._response.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def answered_twice(self) -> dict[int, int]:
        return {frame_id: n for frame_id, n in self.per_frame.items() if n > 1}

    def _follow(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(5.0, read=None)) as client:
            while self._running.is_set():
                try:
                    with client.stream("GET", self.url) as response:
                        self._response = response
                        self.subscriptions += 1
                        self._subscribed.set()
                        self._read(response)
                except httpx.HTTPError:
                    pass
                if self._running.is_set():
                    time.sleep(self.retry_s)

    def _read(self, response: httpx.Response) -> None:
        kind = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                kind = line.partition(":")[2].strip()
            elif line.startswith("data:") and kind in FRAME_EVENTS:
                frame_id = json.loads(line.partition(":")[2]).get("frame_id", 0)
                if frame_id:  # 0: a message rejected before any frame could be named
                    self.per_frame[frame_id] += 1
                    self.by_type[kind] += 1
            elif not line:
                kind = None

"""Steady client traffic on a running link: upload frames at a fixed rate, follow their statuses, ask tasks.

Three threads with their own ``httpx`` clients: the *poster* uploads one image
every ``1/fps`` s (at most ``max_uploads`` at once, each waiting for its frame to
reach the wire; a tick that finds them all busy is counted ``skipped``, the rate
is not made up later), the *poller* reads ``GET /v1/frames/{id}`` of every frame
not ended yet into a :class:`~semlink.soak.ledger.FrameLedger`, and the *asker*
runs a task on every ``ask_every``-th delivered frame.
"""

from __future__ import annotations

import io
import itertools
import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from PIL import Image

from semlink.soak.ledger import DELIVERED, FrameLedger

log = logging.getLogger(__name__)

POLL_S = 0.25
TASK = "<CAPTION>"


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class Traffic:
    """Uploads to ``transmitter``, tasks to ``receiver``; ``start()``, later ``stop_sending()``, ``stop()``."""

    def __init__(self, transmitter: str, receiver: str, images: list[Image.Image], fps: float,
                 ledger: FrameLedger | None = None, ask_every: int = 5, ask_wait_ms: int = 2000,
                 max_uploads: int = 16):
        if fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.transmitter = transmitter.rstrip("/")
        self.receiver = receiver.rstrip("/")
        self.images = [png_bytes(image) for image in images]
        self.fps = fps
        self.ledger = ledger or FrameLedger()
        self.ask_every = ask_every
        self.ask_wait_ms = ask_wait_ms
        self.max_uploads = max_uploads
        self.uploads: Counter[str] = Counter()  # accepted, refused 429/503, unreachable, skipped, error
        self.tasks: Counter[str] = Counter()  # ok, not_found, overloaded, unreachable, error
        self.errors: list[str] = []  # unexpected answers, kept short
        self.upload_s: list[float] = []  # seconds each accepted upload took (202 comes once the frame is on the wire)
        self._sending = threading.Event()
        self._running = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool = ThreadPoolExecutor(max_uploads, thread_name_prefix="soak-upload")
        self._busy = threading.Semaphore(max_uploads)
        self._asked: set[int] = set()
        self._ask_queue: list[int] = []
        self._ask_lock = threading.Lock()
        self._delivered_seen = 0

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._sending.set()
        self._running.set()
        for target, name in ((self._post_loop, "soak-poster"), (self._poll_loop, "soak-poller"),
                             (self._ask_loop, "soak-asker")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop_sending(self) -> None:
        """No more uploads (the poller and asker go on, so frames still in flight are followed to their end)."""
        self._sending.clear()
        self._pool.shutdown(wait=True)

    def stop(self) -> None:
        self.stop_sending()
        self._running.clear()
        for thread in self._threads:
            thread.join(timeout=15)

    def wait_ended(self, timeout_s: float) -> bool:
        """Wait until every frame followed has ended (or is orphaned); False if some have not in ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while self.ledger.open_frames():
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)
        return True

    def note_error(self, what: str) -> None:
        if len(self.errors) < 50:
            self.errors.append(what)
        log.warning("soak: %s", what)

    # --- uploads -------------------------------------------------------------------------------
    def _post_loop(self) -> None:
        period = 1.0 / self.fps
        next_at = time.monotonic()
        for n in itertools.count():
            if not self._sending.is_set():
                return
            if self._busy.acquire(blocking=False):
                try:
                    self._pool.submit(self._post, self.images[n % len(self.images)])
                except RuntimeError:  # the pool shut down between the check and the submit
                    self._busy.release()
                    return
            else:
                self.uploads["skipped"] += 1
            next_at += period
            now = time.monotonic()
            if next_at < now - period:  # fell behind: do not burst to catch up
                next_at = now
            time.sleep(max(0.0, next_at - now))

    def _post(self, data: bytes) -> None:
        started = time.monotonic()
        try:
            with httpx.Client(timeout=30.0) as client:
                response = client.post(f"{self.transmitter}/v1/frames",
                                       files={"file": ("frame.png", data, "image/png")})
            if response.status_code == 202:
                body = response.json()
                self.ledger.accepted(body["frame_id"], body["status"], body.get("reason", ""))
                self.uploads["accepted"] += 1
                self.upload_s.append(time.monotonic() - started)
            elif response.status_code in (429, 503):
                self.uploads[f"refused {response.status_code}"] += 1
            else:
                self.uploads["error"] += 1
                self.note_error(f"upload answered {response.status_code}: {response.text[:200]}")
        except httpx.TransportError:
            self.uploads["unreachable"] += 1  # the transmitter is down (restarting): not accepted, not followed
        finally:
            self._busy.release()

    # --- statuses ------------------------------------------------------------------------------
    def _poll_loop(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while self._running.is_set():
                for frame_id in self.ledger.open_frames():
                    self._poll(client, frame_id)
                time.sleep(POLL_S)

    def _poll(self, client: httpx.Client, frame_id: int) -> None:
        try:
            response = client.get(f"{self.transmitter}/v1/frames/{frame_id}")
        except httpx.TransportError:
            return  # down for now; an orphan only once a new transmitter answers 404
        if response.status_code == 404:
            self.ledger.orphan(frame_id)  # the transmitter that took it was restarted
            return
        if response.status_code != 200:
            self.note_error(f"frame status answered {response.status_code}: {response.text[:200]}")
            return
        record = response.json()
        self.ledger.update(frame_id, record["status"], record.get("reason", ""))
        if record["status"] in DELIVERED:
            with self._ask_lock:
                self._delivered_seen += 1
                if self.ask_every and self._delivered_seen % self.ask_every == 0:
                    self._ask_queue.append(frame_id)

    # --- tasks ---------------------------------------------------------------------------------
    def _ask_loop(self) -> None:
        with httpx.Client(timeout=60.0) as client:
            while self._running.is_set():
                with self._ask_lock:
                    frame_id = self._ask_queue.pop(0) if self._ask_queue else None
                if frame_id is None:
                    time.sleep(POLL_S)
                    continue
                self._ask(client, frame_id)

    def _ask(self, client: httpx.Client, frame_id: int) -> None:
        body = {"task": TASK, "text": None, "wait_ms": self.ask_wait_ms}
        try:
            response = client.post(f"{self.receiver}/v1/frames/{frame_id}/tasks", json=body)
        except httpx.TransportError:
            self.tasks["unreachable"] += 1
            return
        if response.status_code == 200:
            self.tasks["ok"] += 1
        elif response.status_code == 404:
            self.tasks["not_found"] += 1  # e.g. delivered to a receiver since restarted
        elif response.status_code == 503:
            self.tasks["overloaded"] += 1
        else:
            self.tasks["error"] += 1
            self.note_error(f"task on frame {frame_id} answered {response.status_code}: {response.text[:200]}")

"""Run one source at a time at its fps, pausable, and switch sources on request (``PUT /v1/source``).

A source is a blocking iterator of :class:`SourceFrame` (decoding a video or
reading a file blocks), opened and pulled in the sources' own threads
(:class:`~transmitter_service.sources.opening.SourceThreads`, never the default
pool that decodes uploads); each frame is handed to ``feed``, which waits for
room in the transmitter's queue (a source never drops its own frames; it slows
down). If feeding falls behind, the source does not burst to catch up. One switch
runs at a time (a second one meanwhile is :class:`SwitchBusy`); an open that takes
longer than ``open_timeout_s`` fails and the old source keeps running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator

from transmitter_service.sources.base import SourceFrame, SourceSpec
from transmitter_service.sources.folder import folder_frames
from transmitter_service.sources.opening import SourcePolicy, SourceRefused, SourceThreads, SwitchBusy
from transmitter_service.sources.shapes_stream import shapes_frames
from transmitter_service.sources.video import video_frames

log = logging.getLogger(__name__)

Feed = Callable[[SourceFrame], Awaitable[None]]
_END = object()


class SourceRunner:
    """The transmitter's current source; ``apply`` switches it, ``spec`` says what runs and ``error`` why not."""

    def __init__(self, feed: Feed, *, max_pixels: int, loop: bool = True, policy: SourcePolicy | None = None,
                 open_timeout_s: float = 10.0):
        self.feed = feed
        self.max_pixels = max_pixels
        self.loop = loop
        self.policy = policy or SourcePolicy()
        self.open_timeout_s = open_timeout_s
        self.threads = SourceThreads()
        self._switching = asyncio.Lock()
        self.spec = SourceSpec()
        self.error: str | None = None
        self.frames = 0
        self._task: asyncio.Task | None = None
        self._running = asyncio.Event()  # set while not paused
        self._running.set()

    @property
    def active(self) -> bool:
        """Whether the source is still producing (False once it ended, failed or is none)."""
        return self._task is not None and not self._task.done()

    def open(self, spec: SourceSpec) -> Iterator[SourceFrame] | None:
        """The frames of ``spec`` (``None`` for none); raises :class:`SourceRefused` when its path cannot be used."""
        if spec.kind == "shapes":
            return shapes_frames()
        if spec.kind == "folder":
            return folder_frames(spec.path, self.max_pixels, self.loop)
        if spec.kind == "video":
            return video_frames(spec.path, spec.fps, self.loop, self.policy)
        return None

    async def apply(self, spec: SourceSpec) -> SourceSpec:
        """Switch to ``spec``: a new kind, path or fps restarts the source; ``paused`` alone only pauses or resumes.

        Raises :class:`SourceRefused` when the new source cannot be opened (or not within ``open_timeout_s``), and
        :class:`SwitchBusy` while another switch runs; the old source then keeps running.
        """
        if self._switching.locked():
            raise SwitchBusy("another source switch is in progress; retry when it has answered")
        async with self._switching:
            return await self._apply(spec)

    async def _apply(self, spec: SourceSpec) -> SourceSpec:
        restart = (spec.kind, spec.path, spec.fps) != (self.spec.kind, self.spec.path, self.spec.fps) or not self.active
        if restart:
            try:
                frames = await self.threads.run(self.open, spec, timeout_s=self.open_timeout_s)
            except TimeoutError:
                log.warning("source %s %r did not open within %g s", spec.kind, spec.path, self.open_timeout_s)
                raise SourceRefused(f"{spec.kind} source {spec.path!r} did not open within {self.open_timeout_s:g} s "
                                    "(SOURCE_OPEN_TIMEOUT_S); the old source keeps running") from None
            await self.stop()
            self.error = None
            if frames is not None:
                self._task = asyncio.create_task(self._run(frames, spec.fps), name=f"source-{spec.kind}")
            log.info("source: %s%s at %.3g fps%s", spec.kind, f" {spec.path}" if spec.path else "", spec.fps,
                     " (paused)" if spec.paused else "")
        self.spec = spec
        if spec.paused:
            self._running.clear()
        else:
            self._running.set()
        return spec

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self, frames: Iterator[SourceFrame], fps: float) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / fps
        next_at = loop.time()
        try:
            while True:
                await self._running.wait()
                frame = await self.threads.run(next, frames, _END)
                if frame is _END:
                    return
                await self._running.wait()  # paused while it was read: hold the frame until resumed
                await self.feed(frame)
                self.frames += 1
                next_at += period
                now = loop.time()
                if next_at < now - period:  # fell behind: do not burst to catch up
                    next_at = now
                await asyncio.sleep(max(0.0, next_at - now))
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a source that breaks stops; GET /v1/stats says why
            self.error = f"{type(err).__name__}: {err}"
            if isinstance(err, OSError):  # a file gone, a stream dropped: the message says it all
                log.error("source %s stopped: %s", self.spec.kind, self.error)
            else:
                log.exception("source %s stopped", self.spec.kind)
        finally:
            try:
                await self.threads.run(getattr(frames, "close", lambda: None), timeout_s=1.0)
            except (ValueError, TimeoutError, SwitchBusy):  # still being read by a thread: it ends with that read
                pass

    def describe(self) -> dict:
        return {**self.spec.model_dump(), "active": self.active, "frames": self.frames, "error": self.error}

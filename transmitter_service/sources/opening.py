"""What a source may open, checked before anything is opened, and the few threads that open and read sources.

``PUT /v1/source`` is reachable by anyone the REST API lets in (everyone, by
default), so a source path is checked first and opened second:

- a folder source must be a directory (``/etc/passwd`` or ``/proc/self/environ`` is refused);
- a video is a regular file (a FIFO, a device, a socket is refused; it is handed to
  FFmpeg as ``file:PATH`` with only the ``file`` protocol allowed, so ``concat:``,
  ``subfile:`` or a playlist naming other URLs open nothing) or a URL whose scheme is
  allowed (``rtsp``, ``rtsps``; ``SOURCE_SCHEMES`` sets the list) and whose host is
  allowed (``SOURCE_HOSTS``; empty: any);
- every failure to use a path reads the same whatever the reason (missing, not a
  directory, no images, unreadable, not a video): the answer never tells a caller
  whether a path exists; the log says why.

Opens and frame reads run in this module's own daemon threads (:class:`SourceThreads`,
a few at most, never the default pool uploads use), each open with a time limit: a
source that hangs (a FIFO, a server that accepts and never answers) costs one thread
until FFmpeg's own timeout, never the transmitter, and never holds up its shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_SCHEMES = ("rtsp", "rtsps")
STREAM_PROTOCOLS = {"rtsp": "rtsp,tcp,udp,rtp", "rtsps": "rtsps,rtsp,tls,tcp,udp,rtp"}  # FFmpeg's protocol_whitelist


class SourceRefused(OSError):
    """This path or URL cannot be a source here; the message is the same whatever the reason (the log says it)."""


class SwitchBusy(RuntimeError):
    """Another source switch is in progress, or earlier opens still hang: retry shortly."""


@dataclass(frozen=True)
class SourcePolicy:
    """Which video URLs may be opened: ``schemes`` (besides plain files) and ``hosts`` (empty: any host)."""

    schemes: tuple[str, ...] = DEFAULT_SCHEMES
    hosts: tuple[str, ...] = ()

    @classmethod
    def of(cls, schemes: str, hosts: str) -> SourcePolicy:
        """From the settings' comma lists (``SOURCE_SCHEMES``, ``SOURCE_HOSTS``)."""
        def split(text: str) -> tuple[str, ...]:
            return tuple(item.strip().lower() for item in text.split(",") if item.strip())
        return cls(split(schemes), split(hosts))

    def describe(self) -> str:
        hosts = f" at {' or '.join(self.hosts)}" if self.hosts else ""
        urls = " or ".join(f"{scheme}://" for scheme in self.schemes)
        return f"a video file or an {urls} URL{hosts}" if urls else "a video file"

    def video_target(self, path: str) -> tuple[str, dict[str, str]]:
        """What to hand PyAV for ``path``, with its FFmpeg options; raises :class:`SourceRefused`."""
        refused = SourceRefused(f"video source {path!r} cannot be opened: give {self.describe()} this "
                                "transmitter can read")
        parts = urlsplit(path)
        if "://" in path:
            scheme = parts.scheme.lower()
            if scheme not in self.schemes:
                log.warning("video source refused: scheme %r is not in SOURCE_SCHEMES (%s)", scheme,
                            ",".join(self.schemes))
                raise SourceRefused(f"video source scheme {scheme!r} is not allowed: give {self.describe()} "
                                    "(SEMLINK_TX_SOURCE_SCHEMES sets the schemes)") from None
            if self.hosts and (parts.hostname or "").lower() not in self.hosts:
                raise SourceRefused(f"video source host {parts.hostname!r} is not allowed: give {self.describe()} "
                                    "(SEMLINK_TX_SOURCE_HOSTS sets the hosts)") from None
            protocols = STREAM_PROTOCOLS.get(scheme, f"{scheme},tcp,tls,udp")
            return path, {"protocol_whitelist": protocols}
        resolved = regular_file(path)
        if resolved is None:
            raise refused
        return f"file:{resolved}", {"protocol_whitelist": "file"}


def regular_file(path: str) -> Path | None:
    """``path`` resolved, if it is a regular file this process can read (a FIFO, device or socket is not)."""
    try:
        resolved = Path(path).resolve()
        mode = os.stat(resolved).st_mode
    except (OSError, ValueError) as err:
        log.info("source path %r: %s", path, err)
        return None
    if not stat.S_ISREG(mode) or not os.access(resolved, os.R_OK):
        log.info("source path %r is not a readable regular file", path)
        return None
    return resolved


def directory(path: str) -> Path:
    """``path`` resolved, if it is a directory; raises :class:`SourceRefused` (the same text for any reason)."""
    try:
        resolved = Path(path).resolve()
        is_dir = stat.S_ISDIR(os.stat(resolved).st_mode)
    except (OSError, ValueError) as err:
        log.info("folder source %r: %s", path, err)
        is_dir = False
    if not is_dir:
        log.info("folder source %r is not a directory", path)
        raise SourceRefused(folder_refusal(path))
    return resolved


def folder_refusal(path: str) -> str:
    return f"folder source {path!r} cannot be used: give a directory of images this transmitter can read"


class SourceThreads:
    """Runs blocking source calls in daemon threads, at most ``size`` at once (:class:`SwitchBusy` beyond)."""

    def __init__(self, size: int = 4):
        self.size = size
        self.busy = 0
        self._lock = threading.Lock()

    async def run(self, fn: Callable[..., T], *args, timeout_s: float | None = None) -> T:
        """``fn(*args)`` in a thread of its own; raises ``TimeoutError`` after ``timeout_s`` (the thread then
        finishes on its own, holding its place until it does)."""
        with self._lock:
            if self.busy >= self.size:
                raise SwitchBusy(f"{self.busy} source opens or reads still running (a path that hangs?); retry "
                                 "once they give up")
            self.busy += 1
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def settle(ok: bool, value) -> None:
            if not future.done():
                (future.set_result if ok else future.set_exception)(value)

        def work() -> None:
            try:
                result = fn(*args)
            except BaseException as err:  # handed to the awaiting task
                outcome = (False, err)
            else:
                outcome = (True, result)
            finally:
                with self._lock:
                    self.busy -= 1
            try:
                loop.call_soon_threadsafe(settle, *outcome)
            except RuntimeError:  # the loop closed meanwhile (the transmitter stopped)
                pass

        threading.Thread(target=work, name="source", daemon=True).start()
        return await asyncio.wait_for(asyncio.shield(future), timeout_s)

"""The video source: a file or an ``rtsp://`` URL decoded with PyAV (FFmpeg), sampled at the source's fps.

Frames are taken by their timestamps: one every ``1/fps`` seconds of media time,
so a 30 fps file sent at 2 fps gives every 15th frame. A file loops when asked;
a stream (RTSP) plays on until it ends. Both go through the same code; RTSP
options (TCP transport, a socket timeout) are passed to FFmpeg. What may be
opened at all is :class:`~transmitter_service.sources.opening.SourcePolicy`'s
call, made before FFmpeg sees the path.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import av

from transmitter_service.sources.base import SourceFrame
from transmitter_service.sources.opening import SourcePolicy, SourceRefused

log = logging.getLogger(__name__)

RTSP_OPTIONS = {"rtsp_transport": "tcp", "timeout": "5000000"}  # microseconds: give up on a silent server


class VideoUnreadable(SourceRefused):
    """PyAV could not open the file or stream, or it has no video track (the text does not say which)."""


def video_frames(path: str, fps: float, loop: bool = True,
                 policy: SourcePolicy | None = None) -> Iterator[SourceFrame]:
    """Frames of ``path`` every ``1/fps`` seconds of media time; raises :class:`SourceRefused` at once if the
    policy refuses it, :class:`VideoUnreadable` if it cannot be opened."""
    policy = policy or SourcePolicy()
    target, options = policy.video_target(path)
    unreadable = f"video source {path!r} cannot be opened: give {policy.describe()} this transmitter can read"
    _open(target, options, unreadable).close()  # fail now, not on the first next()
    return _frames(target, options, unreadable, fps, loop and "://" not in path)


def _open(target: str, options: dict[str, str], unreadable: str) -> av.container.InputContainer:
    if target.lower().startswith(("rtsp://", "rtsps://")):
        options = {**RTSP_OPTIONS, **options}
    try:
        container = av.open(target, options=options, timeout=10.0)
    except (av.FFmpegError, OSError) as err:
        log.warning("video %s: %s", target, err)
        raise VideoUnreadable(unreadable) from None
    if not container.streams.video:
        container.close()
        log.warning("video %s: no video track", target)
        raise VideoUnreadable(unreadable)
    return container


def _frames(target: str, options: dict[str, str], unreadable: str, fps: float,
            loop: bool) -> Iterator[SourceFrame]:
    path = target.removeprefix("file:")
    period = 1.0 / fps
    while True:
        taken = 0
        with _open(target, options, unreadable) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            next_time = None
            try:
                for index, frame in enumerate(container.decode(stream)):
                    t = frame.time if frame.time is not None else index / float(stream.average_rate or 25)
                    if next_time is not None and t + 1e-6 < next_time:
                        continue
                    next_time = t + period if next_time is None or t >= next_time + period else next_time + period
                    taken += 1
                    yield SourceFrame(frame.to_image(), "video", f"{t:.2f} s")
            except av.FFmpegError as err:  # a damaged file or a dropped stream: keep what was read
                log.warning("video %s: decoding stopped: %s", path, err)
        if not loop or not taken:
            log.info("video source %s: ended after %d frames", path, taken)
            return

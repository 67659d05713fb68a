"""The video source: a file or an ``rtsp://`` URL decoded with PyAV (FFmpeg), sampled at the source's fps.

Frames are taken by their timestamps: one every ``1/fps`` seconds of media time,
so a 30 fps file sent at 2 fps gives every 15th frame. A file loops when asked;
a stream (RTSP) plays on until it ends. Both go through the same code; RTSP
options (TCP transport, a socket timeout) are passed to FFmpeg.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import av

from transmitter_service.sources.base import SourceFrame

log = logging.getLogger(__name__)

STREAM_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
RTSP_OPTIONS = {"rtsp_transport": "tcp", "timeout": "5000000"}  # microseconds: give up on a silent server


class VideoUnreadable(OSError):
    """PyAV could not open the file or stream, or it has no video track."""


def is_stream(path: str) -> bool:
    return path.lower().startswith(STREAM_PREFIXES)


def video_frames(path: str, fps: float, loop: bool = True) -> Iterator[SourceFrame]:
    """Frames of ``path`` every ``1/fps`` seconds of media time; raises :class:`VideoUnreadable` at once if it
    cannot be opened."""
    _open(path).close()  # fail now, with the reason, not on the first next()
    return _frames(path, fps, loop and not is_stream(path))


def _open(path: str) -> av.container.InputContainer:
    options = RTSP_OPTIONS if path.lower().startswith(("rtsp://", "rtsps://")) else {}
    try:
        container = av.open(path, options=options, timeout=10.0)
    except (av.FFmpegError, OSError) as err:
        raise VideoUnreadable(f"cannot open video {path!r}: {err}") from None
    if not container.streams.video:
        container.close()
        raise VideoUnreadable(f"{path!r} has no video track")
    return container


def _frames(path: str, fps: float, loop: bool) -> Iterator[SourceFrame]:
    period = 1.0 / fps
    while True:
        taken = 0
        with _open(path) as container:
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

"""The folder source: the images of a directory, in name order, looping.

Only a directory is a folder (:func:`~transmitter_service.sources.opening.directory`); only its regular files
with an image suffix are read, each at most ``max_bytes`` (a FIFO, a device or a link to one is skipped).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from transmitter_service.images import IMAGE_SUFFIXES, CorruptImage, ImageTooLarge, NotAnImage, decode_image
from transmitter_service.sources.base import SourceFrame
from transmitter_service.sources.opening import SourceRefused, directory, folder_refusal, regular_file

MAX_FILE_BYTES = 64 * 2**20

log = logging.getLogger(__name__)


def folder_frames(folder: str, max_pixels: int, loop: bool = True) -> Iterator[SourceFrame]:
    """Each readable image of ``folder`` in turn (unreadable ones are skipped with a warning); again if ``loop``.

    Raises :class:`SourceRefused` at once when ``folder`` is not a directory with images (one text for every
    reason), and ``FileNotFoundError`` later when a whole pass finds none readable (deleted or damaged since).
    """
    files = sorted(p for p in directory(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and regular_file(p))
    if not files:
        log.info("folder source %r: no image files in it", folder)
        raise SourceRefused(folder_refusal(folder))
    log.info("folder source: %d images from %s%s", len(files), folder, ", looping" if loop else "")
    return _frames(folder, files, max_pixels, loop)


def _frames(folder: str, files: list[Path], max_pixels: int, loop: bool) -> Iterator[SourceFrame]:
    while True:
        yielded = False
        for path in files:
            try:
                if regular_file(path) is None or path.stat().st_size > MAX_FILE_BYTES:
                    raise OSError(f"not a regular file of at most {MAX_FILE_BYTES} bytes")
                image = decode_image(Path(path).read_bytes(), max_pixels)
            except (OSError, NotAnImage, CorruptImage, ImageTooLarge) as err:
                log.warning("skipping %s: %s", path, err)
                continue
            yielded = True
            yield SourceFrame(image, "folder", Path(path).name)
        if not yielded:
            raise FileNotFoundError(f"no readable image left in {folder!r} ({len(files)} listed at start)")
        if not loop:
            log.info("folder source: one pass done")
            return

"""The folder source: the images of a directory (or one image, or a .txt list of paths), in order, looping."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from transmitter_service.images import CorruptImage, ImageTooLarge, NotAnImage, decode_image, list_images
from transmitter_service.sources.base import SourceFrame

log = logging.getLogger(__name__)


def folder_frames(folder: str, max_pixels: int, loop: bool = True) -> Iterator[SourceFrame]:
    """Each readable image of ``folder`` in turn (unreadable ones are skipped with a warning); again if ``loop``.

    Raises ``FileNotFoundError`` at once when ``folder`` names no images, and later when a whole pass finds
    none readable (they were deleted or damaged since).
    """
    files = list_images(folder)
    log.info("folder source: %d images from %s%s", len(files), folder, ", looping" if loop else "")
    return _frames(folder, files, max_pixels, loop)


def _frames(folder: str, files: list[Path], max_pixels: int, loop: bool) -> Iterator[SourceFrame]:
    while True:
        yielded = False
        for path in files:
            try:
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

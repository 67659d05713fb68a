"""Small JPEG thumbnails of the last frames sent, for ``GET /v1/frames/{id}/thumbnail`` (bounded memory)."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

from PIL import Image

JPEG_QUALITY = 80


def thumbnail_jpeg(image: Image.Image, longest_side: int) -> bytes:
    """``image`` scaled (never up) so its longest side is at most ``longest_side``, as JPEG bytes."""
    scale = min(1.0, longest_side / max(image.size))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # resized straight from the frame's image: never a full-size copy of it (a 40 Mpx upload is 120 MB)
    small = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0) if scale < 1 else image.copy()
    if small.mode != "RGB":
        small = small.convert("RGB")
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


class Thumbnails:
    """The thumbnails of the last ``capacity`` frames by frame id; frames of one image (a comparison pair) share
    one thumbnail. Thread-safe: thumbnails are made in the encoder thread, read on the event loop."""

    def __init__(self, capacity: int, longest_side: int = 256):
        self.capacity = capacity
        self.longest_side = longest_side
        self._jpegs: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._jpegs)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(len(jpeg) for jpeg in self._jpegs.values())

    def add(self, frame_id: int, image: Image.Image) -> bytes | None:
        """Make and keep ``image``'s thumbnail under ``frame_id`` (nothing when ``capacity`` is 0)."""
        if self.capacity <= 0:
            return None
        jpeg = thumbnail_jpeg(image, self.longest_side)
        self.alias(frame_id, jpeg)
        return jpeg

    def alias(self, frame_id: int, jpeg: bytes) -> None:
        """Keep ``jpeg`` (already made) under ``frame_id`` too."""
        with self._lock:
            self._jpegs[frame_id] = jpeg
            self._jpegs.move_to_end(frame_id)
            while len(self._jpegs) > self.capacity:
                self._jpegs.popitem(last=False)

    def get(self, frame_id: int) -> bytes | None:
        with self._lock:
            return self._jpegs.get(frame_id)

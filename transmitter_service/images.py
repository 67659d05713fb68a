"""Turn uploaded bytes or files into RGB images, or say precisely why not."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = frozenset(ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN)


class NotAnImage(ValueError):
    """The bytes are not in any image format PIL knows."""


class CorruptImage(ValueError):
    """The bytes look like an image but do not decode (truncated, damaged, or too large)."""


def decode_image(data: bytes) -> Image.Image:
    """Bytes → a fully loaded RGB image; raises :class:`NotAnImage` or :class:`CorruptImage`."""
    if not data:
        raise NotAnImage("empty body: send an image file (PNG, JPEG, ...) as multipart field 'file' or as the body")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise NotAnImage(f"{len(data)} bytes are not an image PIL can identify; send PNG, JPEG, WebP, BMP...") from None
    except Image.DecompressionBombError as err:
        raise CorruptImage(f"image refused: {err}") from None
    try:
        image.load()
        return image.convert("RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise CorruptImage(f"{image.format} image does not decode: {err}") from None


def list_images(source: str | Path) -> list[Path]:
    """The image files ``source`` names: a directory (sorted), one image, or a text file of paths (one a line)."""
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    elif path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        files = [path]
    elif path.is_file():
        lines = (line.strip() for line in path.read_text().splitlines())
        files = [(path.parent / line) for line in lines if line and not line.startswith("#")]
    else:
        raise FileNotFoundError(f"folder {str(source)!r} does not exist; give a directory, an image or a list file")
    if not files:
        raise FileNotFoundError(f"no images in {str(source)!r} (looked for {', '.join(sorted(IMAGE_SUFFIXES)[:6])}...)")
    return files

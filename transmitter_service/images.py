"""Turn uploaded bytes or files into RGB images, or say precisely why not."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

# the explicit pixel limit in decode_image decides; PIL's own warning (at Image.MAX_IMAGE_PIXELS) would only add
# a log line for images that limit lets through
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

IMAGE_SUFFIXES = frozenset(ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN)


class NotAnImage(ValueError):
    """The bytes are not in any image format PIL knows."""


class CorruptImage(ValueError):
    """The bytes look like an image but do not decode (truncated or damaged)."""


class ImageTooLarge(ValueError):
    """The image has more pixels than the limit (a decompression bomb, or just too big to encode)."""


DEFAULT_MAX_PIXELS = 40_000_000
# Formats whose files open with a signature (PIL's own check for each): bytes that start with one but do not open
# are a truncated or damaged image (422), not something that is no image at all (415).
SIGNED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF", "ICO")


def claimed_format(data: bytes) -> str | None:
    """The format whose signature ``data`` starts with, by its PIL plugin's own check; None for none."""
    Image.init()
    for name in SIGNED_FORMATS:
        accept = Image.OPEN.get(name, (None, None))[1]
        if accept is not None and accept(data[:16]):
            return name
    return None


def too_large(width: int, height: int, max_pixels: int) -> ImageTooLarge:
    return ImageTooLarge(
        f"image is {width}×{height} = {width * height / 1e6:.4g} Mpx, over the limit of {max_pixels / 1e6:.4g} Mpx; "
        "send a smaller image, or raise the limit (SEMLINK_TX_MAX_IMAGE_PIXELS)"
    )


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Bytes → a fully loaded RGB image; raises :class:`NotAnImage`, :class:`CorruptImage` or :class:`ImageTooLarge`.

    The size is checked from the header, before a single pixel is decoded, so a small file that
    claims a huge image costs nothing; PIL's own bomb check (``Image.MAX_IMAGE_PIXELS``) answers the same.
    """
    if not data:
        raise NotAnImage("empty body: send an image file (PNG, JPEG, ...) as multipart field 'file' or as the body")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        if claimed := claimed_format(data):  # e.g. a GIF cut inside its palette: PIL then identifies nothing
            raise CorruptImage(f"{len(data)} bytes start like a {claimed} image but its header does not read "
                               "(truncated or damaged?)") from None
        raise NotAnImage(f"{len(data)} bytes are not an image PIL can identify; send PNG, JPEG, WebP, "
                         "BMP...") from None
    except Image.DecompressionBombError:
        raise ImageTooLarge(f"image refused as a decompression bomb (over PIL's limit of "
                            f"{2 * Image.MAX_IMAGE_PIXELS / 1e6:.4g} Mpx); send a smaller image") from None
    except (OSError, SyntaxError, ValueError) as err:  # e.g. a JPEG cut before its frame header
        raise CorruptImage(f"{len(data)} bytes start like an image but its header does not read "
                           f"(truncated or damaged?): {err}") from None
    width, height = image.size
    if width * height > max_pixels:
        raise too_large(width, height, max_pixels)
    try:
        image.load()
        return image.convert("RGB")
    except Image.DecompressionBombError:
        raise too_large(width, height, max_pixels) from None
    except (OSError, SyntaxError, ValueError) as err:
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

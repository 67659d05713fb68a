"""Turn uploaded bytes or files into RGB images, or say precisely why not."""

from __future__ import annotations

import io
import warnings

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


def open_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Bytes → an image whose header is read and whose size is checked, no pixel decoded yet; raises
    :class:`NotAnImage`, :class:`CorruptImage` or :class:`ImageTooLarge`. A small file that claims a huge image
    costs nothing; PIL's own bomb check (``Image.MAX_IMAGE_PIXELS``) answers the same."""
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
    return image


def rgb_bytes(width: int, height: int) -> int:
    """What a decoded RGB image of this size holds: 3 bytes a pixel."""
    return 3 * width * height


def decoding_bytes(image: Image.Image) -> int:
    """The memory decoding an opened image (:func:`open_image`) to RGB takes at its peak, from its header alone:
    the RGB result, plus the image in its own mode when that is not RGB (width × height × bands)."""
    width, height = image.size
    own = 0 if image.mode == "RGB" else width * height * max(1, len(image.getbands()))
    return rgb_bytes(width, height) + own


def decoded_bytes(image: Image.Image) -> int:
    """What a decoded image holds in memory: width × height × bytes per pixel."""
    return image.width * image.height * len(image.getbands())


def queued_cost(image: Image.Image) -> int:
    """What an image waiting for (or in) the encoder costs against ``max_queued_bytes``: its decoded bytes twice,
    itself and the full-size array the image processor makes of it before resizing."""
    return 2 * decoded_bytes(image)


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Bytes → a fully loaded RGB image; raises :class:`NotAnImage`, :class:`CorruptImage` or :class:`ImageTooLarge`.

    The size is checked from the header (:func:`open_image`) before a single pixel is decoded; an RGB image is
    not copied again (PIL's ``convert`` to the same mode would).
    """
    return load_rgb(open_image(data, max_pixels), max_pixels)


def load_rgb(image: Image.Image, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode an opened image (:func:`open_image`) to RGB."""
    width, height = image.size
    try:
        image.load()
        return image if image.mode == "RGB" else image.convert("RGB")
    except Image.DecompressionBombError:
        raise too_large(width, height, max_pixels) from None
    except (OSError, SyntaxError, ValueError) as err:
        raise CorruptImage(f"{image.format} image does not decode: {err}") from None

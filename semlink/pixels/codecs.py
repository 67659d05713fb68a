"""The hand-designed image codecs a pixel peer uses (JPEG, WebP, AVIF from Pillow): encode a file, decode what arrived.

AVIF is Pillow's (libavif with aom): ``speed`` runs 0 (slowest, smallest) to 10;
:data:`AVIF_REALTIME_SPEED` is the default, the fastest speed that still codes
small (measured on 64 × 64 shapes scenes here: speed 8 ≈ 1.5 ms a frame and 104 B
at q20, speed 6 ≈ 3.5 ms and 94 B, speed 0 ≈ 66 ms and 82 B; speeds 9 and 10 are no
faster and code 20% bigger).
"""

from __future__ import annotations

import io

from PIL import Image, ImageFile, features

HAND_FORMATS = ("jpeg", "webp", "avif")
AVIF_REALTIME_SPEED = 8
_PIL_NAMES = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}
_FEATURES = {"jpeg": "jpg", "webp": "webp", "avif": "avif"}
GREY = (128, 128, 128)


def hand_format_available(fmt: str) -> bool:
    """Whether this Pillow encodes ``fmt``."""
    return fmt in _FEATURES and bool(features.check(_FEATURES[fmt]))


def encode_file(image: Image.Image, fmt: str, quality: int, size: tuple[int, int], side: int | None = None,
                speed: int = AVIF_REALTIME_SPEED) -> bytes:
    """``image`` as the model sees it (RGB, resized to ``size`` = (width, height)), or at ``side`` × ``side`` when
    given, coded as ``fmt`` at ``quality``: the encoder's whole file."""
    if fmt not in _PIL_NAMES:
        raise ValueError(f"image format must be one of {', '.join(HAND_FORMATS)}, got {fmt!r}")
    im = image.convert("RGB").resize(size, Image.BICUBIC)
    if side is not None:
        im = im.resize((side, side), Image.BICUBIC)
    options = {"quality": quality}
    if fmt == "avif":
        options.update(speed=speed, max_threads=1)  # one core: the measured time is a frame's on one core
    buf = io.BytesIO()
    im.save(buf, _PIL_NAMES[fmt], **options)
    return buf.getvalue()


def decode_file(data: bytes, size: tuple[int, int]) -> Image.Image:
    """What arrived, decoded and resized to ``size``; a truncated file decodes as far as it goes (the rest grey
    where the decoder allows it), a file that does not decode at all is a grey image."""
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            out = im.convert("RGB")
        return out if out.size == size else out.resize(size, Image.BICUBIC)
    except Exception:  # any decoder failure means the picture is gone
        return Image.new("RGB", size, GREY)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous

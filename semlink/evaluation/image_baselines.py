"""Pixel baselines: send the image itself as JPEG or WebP through the same packet channel.

The coded image is cut into MTU-sized packets in the very datagram framing the
features travel in (a 3-byte header and a CRC-16 each, the learned codec's
framing), so its wire bytes count the same overhead and a corrupted packet is a
lost one. A receiver of a stream without restart markers
cannot resynchronise after a gap, so the image decodes from the bytes before
the first lost packet (PIL's truncated-image decoding fills the rest with grey);
a stream that cannot be decoded at all becomes a grey image.
"""

from __future__ import annotations

import io

from PIL import Image, ImageFile

from semlink.channel import Channel
from semlink.packets import CorruptDatagram, decode_datagram, encode_datagram

PACKET_BYTES = 1200
CHECK = "crc16"
FORMATS = {"jpeg": "JPEG", "webp": "WEBP"}


def encode_image(image: Image.Image, fmt: str, quality: int, size: tuple[int, int] | None = None) -> bytes:
    """``image`` (resized to ``size`` when given, as the model would see it) coded at ``quality``."""
    if fmt not in FORMATS:
        raise ValueError(f"image format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    im = image.convert("RGB")
    if size is not None:
        im = im.resize(size, Image.BICUBIC)
    buf = io.BytesIO()
    im.save(buf, FORMATS[fmt], quality=quality)
    return buf.getvalue()


def image_datagrams(data: bytes, seq: int) -> list[bytes]:
    """The coded image as datagrams of at most ``PACKET_BYTES`` payload bytes each."""
    chunks = [data[i : i + PACKET_BYTES] for i in range(0, len(data), PACKET_BYTES)] or [b""]
    return [encode_datagram(seq, i, chunk, CHECK) for i, chunk in enumerate(chunks)]


def received_bytes(datagrams: list[bytes], count: int) -> tuple[bytes, int]:
    """The decodable prefix (packets in order up to the first missing or corrupted one), and packets lost."""
    by_index = {}
    for data in datagrams:
        try:
            datagram = decode_datagram(data, CHECK)
        except CorruptDatagram:
            continue
        by_index.setdefault(datagram.index, datagram.payload)
    out = bytearray()
    for i in range(count):
        if i not in by_index:
            break
        out += by_index[i]
    return bytes(out), count - sum(1 for i in range(count) if i in by_index)


def decode_image(data: bytes, size: tuple[int, int]) -> Image.Image:
    """Decode what arrived; grey where nothing usable did."""
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
        return im.convert("RGB").resize(size)
    except Exception:  # any decoder failure means the picture is gone
        return Image.new("RGB", size, (128, 128, 128))
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def send_image(image: Image.Image, fmt: str, quality: int, channel: Channel | None, seq: int,
               size: tuple[int, int]) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """→ (received image, (wire bytes, payload bytes, packets, packets lost))."""
    data = encode_image(image, fmt, quality, size)
    sent = image_datagrams(data, seq)
    arrived = channel.transmit_datagrams(sent)[0] if channel is not None else sent
    got, lost = received_bytes(arrived, len(sent))
    return decode_image(got, size), (sum(len(d) for d in sent), len(data), len(sent), lost)

"""Pixel baselines: send the image itself as JPEG or WebP through the same packet channel.

The coded image is cut into MTU-sized packets (CRC-protected like semlink's, so a
corrupted packet is a lost one). A receiver of a stream without restart markers
cannot resynchronise after a gap, so the image decodes from the bytes before
the first lost packet (PIL's truncated-image decoding fills the rest with grey);
a stream that cannot be decoded at all becomes a grey image.
"""

from __future__ import annotations

import io
import zlib

from PIL import Image, ImageFile

from semlink.channel import Channel
from semlink.packets import Frame, FrameHeader, Packet

PACKET_BYTES = 1200
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


def image_frame(data: bytes, frame_id: int) -> Frame:
    """The coded image as a frame of ``PACKET_BYTES`` packets (one "row" per packet)."""
    chunks = [data[i : i + PACKET_BYTES] for i in range(0, len(data), PACKET_BYTES)] or [b""]
    header = FrameHeader(frame_id=frame_id, codec="image", fingerprint="", shape=(1, len(chunks), PACKET_BYTES),
                         dtype="uint8", packet_count=len(chunks), rows_per_packet=1, feature_shape=(0, 0, 0))
    packets = tuple(Packet(frame_id, i, i, i + 1, c, zlib.crc32(c)) for i, c in enumerate(chunks))
    return Frame(header, packets)


def received_bytes(frame: Frame) -> bytes:
    """The decodable prefix: packets in order up to the first lost or corrupted one."""
    by_index = {p.index: p for p in frame.packets}
    out = bytearray()
    for i in range(frame.header.packet_count):
        p = by_index.get(i)
        if p is None or zlib.crc32(p.payload) != p.crc32:
            break
        out += p.payload
    return bytes(out)


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


def send_image(image: Image.Image, fmt: str, quality: int, channel: Channel | None, frame_id: int,
               size: tuple[int, int]) -> tuple[Image.Image, int, int, int]:
    """→ (received image, payload bytes, packets, packets lost)."""
    data = encode_image(image, fmt, quality, size)
    frame = image_frame(data, frame_id)
    received = channel.transmit_frame(frame)[0] if channel is not None else frame
    lost = frame.header.packet_count - sum(
        1 for p in received.packets if zlib.crc32(p.payload) == p.crc32
    )
    return decode_image(received_bytes(received), size), len(data), frame.header.packet_count, lost

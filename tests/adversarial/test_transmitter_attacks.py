"""Hostile uploads to a real transmitter: image bombs are refused from their header, broken images are 422."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib

import pytest
from attack_helpers import run, strict_json
from PIL import Image

from semlink.launch.ports import free_port

pytestmark = pytest.mark.timeout(90)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 13_000, height: int = 13_000) -> bytes:
    """A 1-bit PNG of ``width`` × ``height`` white pixels: about 20 KB on disk, 507 MB once decoded to RGB."""
    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter byte + packed bits
    deflate = zlib.compressobj(9)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # bit depth 1, greyscale
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def jpeg_bytes(size=(320, 240)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # PIL warns; the service refuses
def test_a_decompression_bomb_is_413_from_its_header_and_memory_stays_low(running_transmitter, peak_memory):
    bomb = bomb_png()
    assert len(bomb) < 64 * 1024

    async def main():
        async with running_transmitter(target=f"127.0.0.1:{free_port()}") as client:
            peak_memory.reset()
            responses = [await client.post("/v1/frames", content=bomb, headers={"content-type": "image/png"})
                         for _ in range(3)]
            growth = peak_memory.growth_mb
            stats = (await client.get("/v1/stats")).json()
            return responses, growth, stats

    responses, growth_mb, stats = run(main())
    for response in responses:
        assert response.status_code == 413, response.text
        detail = strict_json(response.text)["detail"]
        assert "13000×13000" in detail and "SEMLINK_TX_MAX_IMAGE_PIXELS" in detail, detail
    assert stats["uploads_refused"]["too_large"] == 3 and stats["queue_depth"] == 0
    print(f"bomb: 3 × 413, peak RSS growth {growth_mb:.1f} MB")
    assert growth_mb < 100  # decoded, the three would be 1.5 GB


def test_the_pixel_limit_is_a_setting(running_transmitter):
    async def main():
        async with running_transmitter(target=f"127.0.0.1:{free_port()}", max_image_pixels=100 * 100) as client:
            small = await client.post("/v1/frames", content=jpeg_bytes((100, 100)))
            large = await client.post("/v1/frames", content=jpeg_bytes((101, 100)))
            return small, large

    small, large = run(main())
    assert small.status_code == 202, small.text
    assert large.status_code == 413 and "0.01 Mpx" in large.json()["detail"], large.text


def test_a_truncated_jpeg_is_422(running_transmitter):
    async def main():
        async with running_transmitter(target=f"127.0.0.1:{free_port()}") as client:
            head = await client.post("/v1/frames", content=jpeg_bytes()[:300], headers={"content-type": "image/jpeg"})
            live = await client.get("/health/live")
            return head, live

    head, live = run(main())
    assert head.status_code == 422, head.text
    assert "300 bytes" in strict_json(head.text)["detail"] and live.status_code == 200


def test_the_image_queue_is_bounded_by_decoded_bytes(running_transmitter):
    """Target down, so nothing drains: a 1 MB budget holds one 400×400 image (480 KB decoded) beside the frames
    the sender holds, then uploads get 429 though the queue has room for 32 images."""

    async def main():
        budget = 1024 * 1024
        async with running_transmitter(target=f"127.0.0.1:{free_port()}", max_queued_bytes=budget,
                                       max_batch=1, wire_timeout_s=0.05) as client:
            codes = []
            for _ in range(40):
                codes.append((await client.post("/v1/frames", content=jpeg_bytes((400, 400)))).status_code)
                await asyncio.sleep(0.02)
            stats = (await client.get("/v1/stats")).json()
        return codes, stats

    codes, stats = run(main())
    assert 429 in codes and codes.count(202) < 32, codes
    assert stats["queued_bytes"] <= 1024 * 1024


def test_upload_memory_is_reserved_from_the_header_before_decoding(running_transmitter, monkeypatch):
    """Eight concurrent uploads of a small PNG that decodes to 1 Mpx (6 MB held each: the image and the encoder's
    copy) against a 13 MB bound, nothing draining: two are taken, six get 429, and none of those six was decoded."""
    import transmitter_service.routes as routes

    decoded = []
    real_load = routes.load_rgb
    monkeypatch.setattr(routes, "load_rgb", lambda image, limit: decoded.append(image.size) or real_load(image, limit))
    buffer = io.BytesIO()
    Image.new("RGB", (1000, 1000), (10, 20, 30)).save(buffer, "PNG")
    png = buffer.getvalue()

    async def main():
        async with running_transmitter(target=f"127.0.0.1:{free_port()}", max_queued_bytes=13 * 10**6,
                                       max_batch=1, wire_timeout_s=0.05) as client:
            answers = await asyncio.gather(*(client.post("/v1/frames", content=png, headers={
                "content-type": "image/png"}) for _ in range(8)))
            stats = (await client.get("/v1/stats")).json()
        return answers, stats

    answers, stats = run(main())
    codes = sorted(a.status_code for a in answers)
    assert len(png) < 20_000 and codes.count(429) >= 4 and set(codes) == {202, 429}, codes
    assert len(decoded) == codes.count(202), decoded  # every 429 came before decoding
    assert all("needs 5.7 MiB" in a.json()["detail"] for a in answers if a.status_code == 429)
    assert stats["queued_bytes"] <= 13 * 10**6

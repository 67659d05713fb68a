"""Thumbnails: each frame as sent, a small JPEG kept for the last THUMBNAILS_KEPT frames."""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from tests.helpers.link import RecordingReceiver
from transmitter_service.thumbnails import Thumbnails, thumbnail_jpeg


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_thumbnail_keeps_the_aspect_and_never_scales_up():
    wide = Image.open(io.BytesIO(thumbnail_jpeg(Image.new("RGB", (640, 480), (10, 200, 30)), 256)))
    small = Image.open(io.BytesIO(thumbnail_jpeg(Image.new("RGB", (64, 48)), 256)))
    assert (wide.format, wide.size, small.size) == ("JPEG", (256, 192), (64, 48))
    assert abs(wide.getpixel((128, 96))[1] - 200) < 8  # the picture, not just a header


def test_only_the_last_frames_are_kept():
    thumbnails = Thumbnails(capacity=2, longest_side=32)
    for frame_id in (1, 2, 3):
        thumbnails.add(frame_id, Image.new("RGB", (100, 50)))
    assert (thumbnails.get(1), len(thumbnails)) == (None, 2)
    assert Image.open(io.BytesIO(thumbnails.get(3))).size == (32, 16)
    thumbnails.alias(4, thumbnails.get(3))  # a comparison pair shares one
    assert thumbnails.get(4) == thumbnails.get(3) and thumbnails.get(2) is None
    assert Thumbnails(capacity=0).add(1, Image.new("RGB", (8, 8))) is None


def test_a_sent_frame_has_a_thumbnail_until_newer_frames_push_it_out(running_transmitter, image_bytes):
    async def main():
        rx = await RecordingReceiver().start()
        try:
            async with running_transmitter(target=rx.target, thumbnails_kept=2, thumbnail_size=128) as client:
                ids = []
                for color in ((250, 0, 0), (0, 250, 0), (0, 0, 250)):
                    sent = await client.post("/v1/frames", content=image_bytes(size=(400, 200), color=color),
                                             headers={"content-type": "image/png"})
                    ids.append(sent.json()["frame_id"])
                thumbs = [await client.get(f"/v1/frames/{i}/thumbnail") for i in ids]
                unknown = await client.get("/v1/frames/12345/thumbnail")
        finally:
            await rx.stop()
        return thumbs, unknown

    thumbs, unknown = run(main())
    assert thumbs[0].status_code == 404 and "THUMBNAILS_KEPT" in thumbs[0].json()["detail"]
    for thumb, channel in zip(thumbs[1:], (1, 2)):
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        image = Image.open(io.BytesIO(thumb.content))
        assert image.size == (128, 64) and image.getpixel((64, 32))[channel] > 200
    assert unknown.status_code == 404

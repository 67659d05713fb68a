"""The transmitter batches images with the core's DynamicBatcher: frames reach the stream in order, and an image
that breaks its batch's encode is the only one lost (the others are encoded again one by one and sent)."""

from __future__ import annotations

import asyncio
import time

from PIL import Image

from semlink.packets.outcome import FrameStatus
from tests.helpers.link import RecordingReceiver
from transmitter_service.settings import TransmitterSettings
from transmitter_service.transmitter import Transmitter

TINY = {"model": "tiny-random", "codec": "q8", "device": "cpu", "dtype": "float32"}
BAD_WIDTH = 13


def test_one_bad_image_is_lost_alone_and_the_rest_arrive_in_order():
    async def main():
        rx = await RecordingReceiver().start()
        tx = Transmitter(TransmitterSettings(**TINY, target=rx.target, max_batch=4, max_delay_ms=200))
        try:
            await tx.start()
            deadline = time.monotonic() + 60
            while not tx.ready:
                assert tx.load_error is None and time.monotonic() < deadline, tx.not_ready_reason()
                await asyncio.sleep(0.05)
            encode = tx._encode

            def picky_encode(images, frame_ids):
                if any(image.width == BAD_WIDTH for image in images):
                    raise ValueError("an image the encoder cannot take")
                return encode(images, frame_ids)

            tx._encode = picky_encode
            widths = [64, BAD_WIDTH, 48, 32]
            records = [tx.accept(Image.new("RGB", (w, 40), (200, 30, 30))) for w in widths]
            await rx.wait_for(3, timeout=30)
            stats = tx.stats()
        finally:
            await tx.close()
            await rx.stop()
        return records, rx.frames, stats

    records, frames, stats = asyncio.run(main())
    bad = records[1]
    assert bad.status == "lost" and bad.reason == "encode failed: ValueError: an image the encoder cannot take"
    good = [r.frame_id for r in records if r is not bad]
    assert [f.header.frame_id for f in frames] == good  # in order, each once
    assert stats["batches"] == 3 and stats["queued_bytes"] == 0  # the failed batch of 4 went again one by one
    assert bad.status is FrameStatus.LOST and not any(r.status is FrameStatus.LOST for r in records if r is not bad)
    # counted by code for programs (no link loss: this transmitter lost it) and by its reason's words for people
    assert stats["losses"] == {"transmitter": 1} and stats["lost_reasons"] == {"encode failed": 1}
    assert stats["frames"]["lost"] == 1

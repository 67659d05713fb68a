"""A transmitter stopped while a frame is in its encoder ends that frame ``lost`` (``transmitter stopped``) and its
final counts add up (was: the frame stayed ``queued`` for ever, accepted > acked + partial + lost)."""

from __future__ import annotations

import asyncio
import time

from PIL import Image

from tests.helpers.link import RecordingReceiver
from transmitter_service.transmitter import STOPPED, Transmitter
from transmitter_service.settings import TransmitterSettings

TINY = {"model": "tiny-random", "codec": "q8", "device": "cpu", "dtype": "float32"}


def test_a_frame_in_the_encoder_when_the_transmitter_stops_ends_lost():
    async def main():
        rx = await RecordingReceiver().start()
        tx = Transmitter(TransmitterSettings(**TINY, target=rx.target))
        try:
            await tx.start()
            deadline = time.monotonic() + 60
            while not tx.ready:
                assert tx.load_error is None and time.monotonic() < deadline, tx.not_ready_reason()
                await asyncio.sleep(0.05)
            encode = tx._encode

            def slow_encode(images, frame_ids):
                time.sleep(1.0)  # a slow batch: the stop comes while it is being encoded
                return encode(images, frame_ids)

            tx._encode = slow_encode
            record = tx.accept(Image.new("RGB", (64, 48), (200, 30, 30)))
            await asyncio.sleep(0.3)
            assert record.status == "queued" and tx.batcher.waiting == 0  # taken by the batcher, in the encoder
        finally:
            await tx.close()
            await rx.stop()
        return record, tx.stats()["frames"]

    record, frames = asyncio.run(main())
    assert (record.status, record.reason) == ("lost", STOPPED)
    assert frames["acked"] + frames["partial"] + frames["lost"] == frames["accepted"] == 1, frames

"""The transmitter end to end in this process: upload → vision tower → codec → gRPC → a test receiver."""

from __future__ import annotations

import asyncio
import time

import httpx

from semlink.launch.ports import free_port
from tests.helpers.link import RecordingReceiver, serving
from transmitter_service.main import create_app
from transmitter_service.settings import TransmitterSettings


def run(coro, timeout=20):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_upload_arrives_with_the_right_codec_and_shape(running_transmitter, image_bytes):
    async def main():
        rx = await RecordingReceiver().start()
        try:
            async with running_transmitter(target=rx.target, datagram_overhead=28) as client:  # UDP/IPv4
                multipart = await client.post("/v1/frames", files={"file": ("a.png", image_bytes(), "image/png")})
                raw = await client.post("/v1/frames", content=image_bytes(fmt="JPEG"),
                                        headers={"content-type": "image/jpeg"})
                frames = await rx.wait_for(2)
                await asyncio.sleep(0.1)  # let the acks come back
                status = (await client.get(f"/v1/frames/{multipart.json()['frame_id']}")).json()
                raw_status = (await client.get(f"/v1/frames/{raw.json()['frame_id']}")).json()
                stats = (await client.get("/v1/stats")).json()
                metrics = (await client.get("/metrics")).text
        finally:
            await rx.stop()
        return multipart, raw, frames, status, raw_status, stats, metrics

    multipart, raw, frames, status, raw_status, stats, metrics = run(main())
    assert multipart.status_code == raw.status_code == 202
    assert multipart.json()["status"] in ("sent", "acked")
    ids = [multipart.json()["frame_id"], raw.json()["frame_id"]]
    assert [f.header.frame_id for f in frames] == ids and ids[1] == ids[0] + 1
    for frame in frames:
        h = frame.header
        assert (h.codec, h.dtype, h.shape, h.feature_shape) == ("q8", "uint8", (64, 4, 4), (64, 4, 4))
        assert len(frame.packets) == h.packet_count + 1 and not frame.lost_indices()  # q8: rows + side packet
        assert h.meta == {"image_size": "64,48"}  # the original size, for the receiver's boxes
    assert status["status"] == "acked" and status["packets"] == frames[0].total_packets
    assert status["payload_bytes"] == frames[0].payload_bytes > 0
    # 5 datagrams (4 rows and the side packet), each a 3-byte header and a CRC-32 and 28 B of UDP/IPv4; no image
    # size in them: the session opened with the first image's size
    assert multipart.json()["wire_bytes"] == status["wire_bytes"] == frames[0].payload_bytes + (7 + 28) * 5
    assert (status["datagrams"], status["datagram_overhead"], multipart.json()["datagram_overhead"]) == (5, 28, 28)
    wire = sum(int(line.split()[-1].split(".")[0]) for line in metrics.splitlines()
               if line.startswith("semlink_tx_wire_bytes_total "))
    assert wire == status["wire_bytes"] + raw_status["wire_bytes"] and "semlink_tx_datagrams_total 10.0" in metrics
    assert stats["frames"]["acked"] == 2 and stats["link"]["connected"] and stats["session"]["open"]
    assert stats["session"]["id"] == ids[0] >> 32 and stats["session"]["bytes"] > 0
    assert 'semlink_tx_frames_total{event="acked"} 2.0' in metrics


def test_bad_uploads_get_4xx_json(running_transmitter, image_bytes):
    async def main():
        async with running_transmitter(target=f"127.0.0.1:{free_port()}", max_upload_bytes=4096) as client:
            png = image_bytes()
            return {
                "text": await client.post("/v1/frames", content=b"definitely not an image"),
                "empty": await client.post("/v1/frames", content=b""),
                "truncated": await client.post("/v1/frames", content=png[: len(png) // 2]),
                "no_file_field": await client.post("/v1/frames", files={"image": ("a.png", png, "image/png")}),
                "too_large": await client.post("/v1/frames", content=image_bytes(size=(128, 128), color=None)),
                "unknown_frame": await client.get("/v1/frames/12345"),
                "stats": await client.get("/v1/stats"),
            }

    r = run(main())
    expected = {"text": 415, "empty": 415, "truncated": 422, "no_file_field": 422, "too_large": 413,
                "unknown_frame": 404}
    for name, code in expected.items():
        assert r[name].status_code == code, (name, r[name].text)
        assert r[name].headers["content-type"] == "application/json"
        assert isinstance(r[name].json()["detail"], str) and r[name].json()["detail"], name
    assert "PNG" in r["text"].json()["detail"]  # says what to send instead
    refused = r["stats"].json()["uploads_refused"]
    assert refused == {"queue_full": 0, "too_large": 1, "not_image": 2, "corrupt_image": 1}


def test_full_queue_answers_429_quickly_then_drains_when_the_link_comes_up(running_transmitter, image_bytes):
    """Target down: frames back up through the sender into the image queue; then 429. Target up: all delivered."""

    async def main():
        port = free_port()
        async with running_transmitter(target=f"127.0.0.1:{port}", queue_size=2, max_batch=1,
                                       wire_timeout_s=0.1) as client:
            accepted, refused = [], None
            for _ in range(20):
                started = time.perf_counter()
                response = await client.post("/v1/frames", content=image_bytes())
                elapsed = time.perf_counter() - started
                if response.status_code == 429:
                    refused = (response, elapsed)
                    break
                assert response.status_code == 202 and response.json()["status"] == "queued"
                accepted.append(response.json()["frame_id"])
            rx = await RecordingReceiver(port=port).start()
            try:
                await rx.wait_for(len(accepted), timeout=15)
                for _ in range(100):
                    statuses = [(await client.get(f"/v1/frames/{i}")).json()["status"] for i in accepted]
                    if set(statuses) == {"acked"}:
                        break
                    await asyncio.sleep(0.05)
            finally:
                await rx.stop()
        return accepted, refused, statuses, [f.header.frame_id for f in rx.frames]

    accepted, refused, statuses, received = run(main())
    assert refused is not None, "the queue never filled"
    response, elapsed = refused
    assert elapsed < 1.0 and response.headers["retry-after"] == "1"
    assert "queue full" in response.json()["detail"]
    # sender queue (2) + the frame being written + the batch in hand + the image queue (2) ≈ 6
    assert 3 <= len(accepted) <= 10
    assert received == accepted and set(statuses) == {"acked"}


def test_folder_source_streams_each_image(running_transmitter, image_bytes, tmp_path):
    for i, color in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        (tmp_path / f"img{i}.png").write_bytes(image_bytes(color=color))
    (tmp_path / "notes.txt").write_text("not an image")

    async def main():
        rx = await RecordingReceiver().start()
        try:
            async with running_transmitter(target=rx.target, folder=str(tmp_path), rate_fps=50, loop=False) as client:
                frames = await rx.wait_for(3)
                await asyncio.sleep(0.1)
                records = [(await client.get(f"/v1/frames/{f.header.frame_id}")).json() for f in frames]
        finally:
            await rx.stop()
        return records

    records = run(main())
    assert [(r["source"], r["source_name"]) for r in records] == [("folder", f"img{i}.png") for i in range(3)]
    assert {r["status"] for r in records} == {"acked"}


def test_bad_codec_is_live_but_not_ready_and_says_why(image_bytes):
    async def main():
        settings = TransmitterSettings(model="tiny-random", codec="no-such-codec", device="cpu",
                                       target=f"127.0.0.1:{free_port()}")
        app = create_app(settings)
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            live = await client.get("/health/live")
            for _ in range(200):
                if app.state.transmitter.load_error:
                    break
                await asyncio.sleep(0.05)
            return live, await client.get("/health/ready"), await client.post("/v1/frames", content=image_bytes())

    live, ready, upload = run(main())
    assert live.status_code == 200
    assert ready.status_code == 503 and "unknown codec 'no-such-codec'" in ready.json()["detail"]
    assert upload.status_code == 503 and "failed to load" in upload.json()["detail"]

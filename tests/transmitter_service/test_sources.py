"""Sources: the built-in shapes stream, a video file read with PyAV, the folder loop; switched, paused and resumed
over ``/v1/source`` while the transmitter runs; camera frames posted by a browser."""

from __future__ import annotations

import asyncio
import itertools
import shlex
from pathlib import Path

import av
import pytest
from PIL import Image

from tests.helpers.link import RecordingReceiver
from semlink.shapes import od_boxes, split_scene, target
from transmitter_service.sources.shapes_stream import shapes_frames
from transmitter_service.sources.opening import SourceRefused
from transmitter_service.sources.video import video_frames

VIDEO_FPS = 10
COLORS = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0)]


def run(coro, timeout=40):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def write_video(path, seconds: float = 2.0, size=(96, 64)) -> str:
    """An MPEG-4 file at VIDEO_FPS whose colour changes every half second (red, green, blue, yellow)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=VIDEO_FPS)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(int(seconds * VIDEO_FPS)):
            image = Image.new("RGB", size, COLORS[(i * 2 // VIDEO_FPS) % len(COLORS)])
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def dominant(image: Image.Image) -> int:
    """The brightest channel of the image's centre (0 red, 1 green, 2 blue)."""
    pixel = image.getpixel((image.width // 2, image.height // 2))
    return max(range(3), key=lambda c: pixel[c])


def test_shapes_frames_carry_their_scene_truth():
    first, second = itertools.islice(shapes_frames(), 2)
    scene = split_scene("test", 0)
    assert first.kind == "shapes" and first.name == "scene 0" and first.image.size == (scene.width, scene.height)
    assert first.truth["caption"] == target(scene, "<CAPTION>")
    boxes = od_boxes(scene)
    assert [(o["label"], o["box"]) for o in first.truth["objects"]] == list(zip(boxes["labels"], boxes["bboxes"]))
    assert second.truth != first.truth


def test_video_frames_are_sampled_by_media_time(tmp_path):
    path = write_video(tmp_path / "colours.mp4")
    frames = list(video_frames(path, fps=2, loop=False))  # one frame every half second of 2 s: 4
    assert [f.kind for f in frames] == ["video"] * 4 and frames[0].image.size == (96, 64)
    assert [dominant(f.image) for f in frames[:3]] == [0, 1, 2]
    assert [f.name for f in frames] == ["0.00 s", "0.50 s", "1.00 s", "1.50 s"]
    looped = list(itertools.islice(video_frames(path, fps=2, loop=True), 6))
    assert [f.name for f in looped[4:]] == ["0.00 s", "0.50 s"]


@pytest.mark.parametrize("make", [lambda p: str(p / "missing.mp4"), lambda p: (p / "a.mp4").write_text("no") and
                                  str(p / "a.mp4")])
def test_an_unreadable_video_says_so_at_once(tmp_path, make):
    with pytest.raises(SourceRefused, match="cannot be opened"):
        video_frames(make(tmp_path), fps=1)


def test_sources_switch_pause_and_resume_while_running(running_transmitter, tmp_path):
    video = write_video(tmp_path / "colours.mp4")

    async def main():
        rx = await RecordingReceiver().start()
        try:
            async with running_transmitter(target=rx.target, source="shapes", rate_fps=20) as client:
                shapes = await rx.wait_for(3)
                shape_record = (await client.get(f"/v1/frames/{shapes[0].header.frame_id}")).json()
                paused = (await client.put("/v1/source", json={"kind": "shapes", "fps": 20, "paused": True})).json()
                await asyncio.sleep(0.3)  # a frame read just before the pause may still be queued
                count = len(rx.frames)
                accepted = (await client.get("/v1/stats")).json()["frames"]["accepted"]
                await asyncio.sleep(0.5)
                held = (await client.get("/v1/stats")).json()["frames"]["accepted"] - accepted
                resumed = await client.put("/v1/source", json={"kind": "shapes", "fps": 20, "paused": False})
                await rx.wait_for(count + 2)
                to_video = await client.put("/v1/source", json={"kind": "video", "fps": 20, "path": video})
                start = len(rx.frames)
                video_records = []
                while len(video_records) < 3:  # shapes frames queued before the switch go out first
                    await rx.wait_for(start + 1)
                    record = (await client.get(f"/v1/frames/{rx.frames[start].header.frame_id}")).json()
                    video_records += [record] if record["source"] == "video" else []
                    start += 1
                bad = await client.put("/v1/source", json={"kind": "folder", "fps": 1, "path": str(tmp_path / "no")})
                no_path = await client.put("/v1/source", json={"kind": "video", "fps": 1})
                still = (await client.get("/v1/source")).json()
                stopped = await client.put("/v1/source", json={"kind": "none", "fps": 1})
                stats = (await client.get("/v1/stats")).json()
        finally:
            await rx.stop()
        return locals()

    r = run(main())
    assert r["shape_record"]["source"] == "shapes" and r["shape_record"]["truth"]["caption"]
    assert r["shape_record"]["truth"]["objects"][0]["box"] and r["shape_record"]["codec"] == "q8"
    assert r["paused"] == {"kind": "shapes", "fps": 20.0, "paused": True, "path": None}
    assert r["held"] == 0 and r["resumed"].status_code == 200
    assert r["to_video"].json() == {"kind": "video", "fps": 20.0, "paused": False, "path": r["video"]}
    assert [rec["source_name"] for rec in r["video_records"]] == ["0.00 s", "0.10 s", "0.20 s"]  # all of 10 fps
    assert all(rec["truth"] is None for rec in r["video_records"])
    assert r["bad"].status_code == 422 and "cannot be used" in r["bad"].json()["detail"]
    assert r["no_path"].status_code == 422
    assert r["still"]["kind"] == "video"  # a source that cannot be opened leaves the old one running
    assert r["stopped"].json()["kind"] == "none" and r["stats"]["source"]["active"] is False


def test_camera_frames_are_posted_as_jpeg_blobs(running_transmitter, image_bytes):
    async def main():
        rx = await RecordingReceiver().start()
        try:
            async with running_transmitter(target=rx.target) as client:
                blob = image_bytes(size=(320, 240), fmt="JPEG")  # what canvas.toBlob("image/jpeg") posts
                sent = await client.post("/v1/frames", params={"source": "camera"}, content=blob,
                                         headers={"content-type": "image/jpeg"})
                record = (await client.get(f"/v1/frames/{sent.json()['frame_id']}")).json()
                bad = await client.post("/v1/frames", params={"source": "satellite"}, content=blob)
        finally:
            await rx.stop()
        return sent, record, bad

    sent, record, bad = run(main())
    assert sent.status_code == 202 and record["source"] == "camera" and record["truth"] is None
    assert bad.status_code == 422


def documented_curls() -> list[list[str]]:
    """The curl lines of docs/services.md's section on sources, thumbnails and comparison, split as a shell would."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "services.md").read_text()
    section = doc.split("## Transmitter sources, thumbnails and comparison mode", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line) for line in block.splitlines() if line.startswith("curl ")]


def test_the_documented_examples_run(running_transmitter, image_bytes, tmp_path):
    curls = documented_curls()
    assert len(curls) >= 5
    (tmp_path / "frame.jpg").write_bytes(image_bytes(fmt="JPEG"))

    async def main():
        rx = await RecordingReceiver().start()
        answers = []
        try:
            async with running_transmitter(target=rx.target) as client:
                frame_id = None
                for argv in curls:
                    method, headers, body, url = "GET", {}, None, None
                    args = iter(argv[1:])
                    for arg in args:
                        if arg == "-X":
                            method = next(args)
                        elif arg == "-H":
                            name, value = next(args).split(":", 1)
                            headers[name.strip()] = value.strip()
                        elif arg in ("-d", "--data-binary"):
                            value = next(args)
                            body = (tmp_path / value[1:]).read_bytes() if value.startswith("@") else value.encode()
                        elif arg == "-o":
                            next(args)
                        else:
                            url = arg
                    path = url.split("localhost:8001", 1)[1].replace("FRAME_ID", str(frame_id))
                    response = await client.request(method, path, headers=headers, content=body)
                    answers.append((" ".join(argv), response.status_code))
                    if path.startswith("/v1/frames?"):
                        frame_id = response.json()["frame_id"]
        finally:
            await rx.stop()
        return answers

    for line, status in run(main()):
        assert status in (200, 202), line


def test_a_folder_put_while_running_streams_its_images_and_a_source_that_breaks_says_why(running_transmitter,
                                                                                          image_bytes, tmp_path):
    for i, color in enumerate(COLORS[:2]):
        (tmp_path / f"img{i}.png").write_bytes(image_bytes(color=color))

    async def main():
        rx = await RecordingReceiver().start()
        try:
            async with running_transmitter(target=rx.target) as client:
                put = await client.put("/v1/source", json={"kind": "folder", "fps": 20, "path": str(tmp_path)})
                frames = await rx.wait_for(3)  # it loops: img0, img1, img0
                records = [(await client.get(f"/v1/frames/{f.header.frame_id}")).json() for f in frames[:3]]
                for path in tmp_path.iterdir():  # every image gone: the next pass finds none readable
                    path.unlink()
                for _ in range(100):
                    source = (await client.get("/v1/stats")).json()["source"]
                    if not source["active"]:
                        break
                    await asyncio.sleep(0.05)
        finally:
            await rx.stop()
        return put, records, source

    put, records, source = run(main())
    assert put.status_code == 200
    assert [(r["source"], r["source_name"]) for r in records] == [("folder", "img0.png"), ("folder", "img1.png"),
                                                                  ("folder", "img0.png")]
    assert source["kind"] == "folder" and not source["active"] and source["frames"] >= 3
    assert source["error"].startswith("FileNotFoundError: no readable image left in")

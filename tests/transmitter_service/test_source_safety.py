"""Sources open only what they should (issue 24, items 3, 4 and 7): folders are directories, videos are regular
files or allowed URLs, FFmpeg's other protocols never reach PyAV, a path's existence never shows in the answer,
and an open that hangs (a FIFO, a server that accepts and never answers) fails in time while the old source,
uploads and other switches carry on."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import pytest

from tests.helpers.link import RecordingReceiver
from transmitter_service.sources import video
from transmitter_service.sources.folder import folder_frames
from transmitter_service.sources.opening import SourcePolicy, SourceRefused
from transmitter_service.sources.video import video_frames


def run(coro, timeout=40):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/v.mp4", "https://example.invalid/v", "tcp://127.0.0.1:9",
                                 "udp://127.0.0.1:9", "rtmp://127.0.0.1/x", "concat:/etc/hostname|/etc/hostname",
                                 "subfile:,,start,0,end,10,,:/etc/hostname", "file:/etc/hostname",
                                 "pipe:0", "/dev/zero"])
def test_ffmpeg_protocols_are_refused_before_pyav_sees_them(url, monkeypatch):
    def no_open(*args, **kwargs):
        raise AssertionError(f"PyAV was asked to open {args[0]!r}")

    monkeypatch.setattr(video.av, "open", no_open)
    with pytest.raises(SourceRefused):
        video_frames(url, fps=1)


def test_allowed_schemes_and_hosts_are_settings():
    target, options = SourcePolicy().video_target("rtsp://cam.local:554/live")
    assert target == "rtsp://cam.local:554/live" and "http" not in options["protocol_whitelist"]
    with pytest.raises(SourceRefused, match="host '127.0.0.1' is not allowed"):
        SourcePolicy.of("rtsp", "cam.local").video_target("rtsp://127.0.0.1/live")
    assert SourcePolicy.of("rtsp,http", "").video_target("http://cam/v")[0] == "http://cam/v"


def test_a_path_that_exists_reads_like_one_that_does_not(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.mp4").write_text("not a video")

    def refusal(call, path):
        with pytest.raises(SourceRefused) as err:
            call(str(path))
        return str(err.value).replace(repr(str(path)), "PATH")

    folders = {refusal(lambda p: folder_frames(p, 10**6), p) for p in
               (tmp_path / "missing", tmp_path / "empty", "/etc/passwd", "/proc/self/environ", tmp_path / "notes.mp4")}
    videos = {refusal(lambda p: video_frames(p, fps=1), p) for p in (tmp_path / "missing.mp4", tmp_path / "notes.mp4",
                                                                     tmp_path / "empty")}
    assert len(folders) == 1 and len(videos) == 1, (folders, videos)


def silent_server() -> tuple[socket.socket, int]:
    """A loopback socket that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    return server, server.getsockname()[1]


def test_hanging_sources_fail_in_time_and_nothing_else_waits(running_transmitter, image_bytes, tmp_path):
    fifo = tmp_path / "fifo.mp4"
    os.mkfifo(fifo)
    server, port = silent_server()

    async def main():
        rx = await RecordingReceiver().start()
        try:
            async with running_transmitter(target=rx.target, source="shapes", rate_fps=20,
                                           source_open_timeout_s=1.0) as client:
                await rx.wait_for(2)
                started = time.monotonic()
                as_video = await client.put("/v1/source", json={"kind": "video", "fps": 1, "path": str(fifo)})
                as_folder = await client.put("/v1/source", json={"kind": "folder", "fps": 1, "path": str(fifo)})
                fifo_s = time.monotonic() - started
                hanging = asyncio.create_task(client.put("/v1/source", json={
                    "kind": "video", "fps": 1, "path": f"rtsp://127.0.0.1:{port}/live"}))
                await asyncio.sleep(0.2)
                second = await client.put("/v1/source", json={"kind": "shapes", "fps": 5})
                upload_started = time.monotonic()
                upload = await client.post("/v1/frames", content=image_bytes(), headers={"content-type": "image/png"})
                upload_s = time.monotonic() - upload_started
                hung = await hanging
                hung_s = time.monotonic() - upload_started
                before = len(rx.frames)
                await rx.wait_for(before + 2)  # the shapes source still runs
                source = (await client.get("/v1/source")).json()
        finally:
            await rx.stop()
        return locals()

    try:
        r = run(main())
    finally:
        server.close()
    assert r["as_video"].status_code == 422 and r["as_folder"].status_code == 422 and r["fifo_s"] < 2.0
    assert r["second"].status_code == 409 and r["second"].headers["retry-after"] == "1"
    assert r["upload"].status_code == 202 and r["upload_s"] < 3.0
    assert r["hung"].status_code == 422 and "did not open within 1 s" in r["hung"].json()["detail"]
    assert r["hung_s"] < 3.0
    assert r["source"]["kind"] == "shapes"  # the old source kept running

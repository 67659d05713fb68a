"""REST errors say what to do: 422 for unknown tasks, 404 for frames not (yet) here, 413 for big bodies."""

from __future__ import annotations

import threading
import time

import pytest

pytestmark = pytest.mark.timeout(20)


def test_unknown_task_is_422_naming_the_known_tasks(rx, make_frame, fid):
    rx.send(make_frame(7000))
    response = rx.ask(fid(7000), "<MAKE_COFFEE>")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "<MAKE_COFFEE>" in detail and "<CAPTION>" in detail and "<OD>" in detail


def test_a_task_missing_its_text_is_422(rx, make_frame, fid):
    rx.send(make_frame(7001))
    response = rx.ask(fid(7001), "<CAPTION_TO_PHRASE_GROUNDING>")
    assert response.status_code == 422 and "text" in response.json()["detail"]
    grounded = rx.ask(fid(7001), "<CAPTION_TO_PHRASE_GROUNDING>", text="a red circle")
    assert grounded.status_code == 200, grounded.text


def test_bad_bodies_are_422(rx, fid):
    assert rx.ask(fid(7002), wait_ms=10_001).status_code == 422
    assert rx.ask(fid(7002), wait_ms=-1).status_code == 422
    assert rx.http.post("/v1/frames/not-a-number/tasks", json={"task": "<CAPTION>"}).status_code == 422


def test_unknown_frame_is_404_saying_so(rx, fid):
    started = time.monotonic()
    response = rx.ask(fid(7100), wait_ms=200)
    assert response.status_code == 404
    assert f"frame {fid(7100)} has not arrived (waited 200 ms)" in response.json()["detail"]
    assert 0.2 <= time.monotonic() - started < 5
    assert rx.http.get(f"/v1/frames/{fid(7100)}").status_code == 404


def test_a_request_waits_for_a_frame_still_on_its_way(rx, make_frame, fid):
    sender = threading.Timer(0.3, lambda: rx.send(make_frame(7200)))
    sender.start()
    try:
        response = rx.ask(fid(7200), wait_ms=5000)
    finally:
        sender.join()
    assert response.status_code == 200, response.text
    assert response.json()["frame_id"] == fid(7200)


def test_oversized_bodies_are_413(rx):
    huge = {"task": "<CAPTION>", "text": "x" * (rx.receiver.settings.max_request_bytes + 10)}
    response = rx.http.post("/v1/frames/1/tasks", json=huge)
    assert response.status_code == 413
    assert "SEMLINK_RX_MAX_REQUEST_BYTES" in response.json()["detail"]

    def chunks():  # no Content-Length: the limit is enforced while reading
        yield b'{"task": "<CAPTION>", "text": "'
        for _ in range(100):
            yield b"y" * 1024
        yield b'"}'

    streamed = rx.http.post("/v1/frames/1/tasks", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert rx.http.get("/health/live").status_code == 200

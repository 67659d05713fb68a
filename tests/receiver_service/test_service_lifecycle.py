"""Launching, configuring, failing to start, auto tasks and the reassembly deadline of a real receiver."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from receiver_service.settings import ReceiverSettings

pytestmark = pytest.mark.timeout(20)


def test_help_teaches_flags_and_environment():
    done = subprocess.run([sys.executable, "-m", "receiver_service", "--help"], capture_output=True, text=True,
                          timeout=15)
    assert done.returncode == 0, done.stderr
    for needle in ("SEMLINK_RX_", "--http-port", "--grpc-port", "--frame-deadline-ms", "--auto-task", "--max-batch"):
        assert needle in done.stdout


def test_bad_flags_exit_2_with_a_message():
    done = subprocess.run([sys.executable, "-m", "receiver_service", "--http-port", "-5"], capture_output=True,
                          text=True, timeout=15)
    assert done.returncode == 2 and "http_port" in done.stderr


def test_flags_override_the_environment(monkeypatch):
    monkeypatch.setenv("SEMLINK_RX_HTTP_PORT", "9100")
    monkeypatch.setenv("SEMLINK_RX_MAX_BATCH", "3")
    assert ReceiverSettings().http_port == 9100
    settings = ReceiverSettings(_cli_parse_args=["--http-port", "9200"])
    assert (settings.http_port, settings.max_batch) == (9200, 3)


def test_a_receiver_that_cannot_start_says_why(start_receiver):
    with start_receiver(codec="no-such-codec") as rx:
        live, ready = rx.http.get("/health/live"), rx.http.get("/health/ready")
        assert live.status_code == ready.status_code == 503
        assert "no-such-codec" in ready.json()["detail"]
        assert rx.ask(1).status_code == 503


def test_auto_task_captions_every_frame_on_arrival(start_receiver, make_frame, fid):
    with start_receiver(auto_task="<CAPTION>") as rx:
        rx.send(make_frame(800))
        deadline = time.monotonic() + 10
        while (auto := rx.http.get(f"/v1/frames/{fid(800)}").json()["auto_result"]) is None:
            assert time.monotonic() < deadline, "no auto caption within 10 s"
            time.sleep(0.05)
        assert auto == rx.ask(fid(800)).json()["result"]


def test_an_incomplete_frame_is_finished_at_its_deadline_and_parts_are_merged(start_receiver, make_frame, fid):
    with start_receiver(frame_deadline_ms=300) as rx:
        frame = make_frame(900)
        started = time.monotonic()
        ack = rx.send(frame.with_packets(frame.packets[:3]))
        waited = time.monotonic() - started
        assert ack.status == "partial" and 0.3 <= waited < 3

        # Two parts of one frame in two messages: one ack, when the second completes it.
        frame = make_frame(901)
        part_one, part_two = frame.with_packets(frame.packets[:2]), frame.with_packets(frame.packets[2:])
        with rx.open(make_frame.session) as link:
            link.send(part_one)
            time.sleep(0.05)
            link.send(part_two)
            assert link.ack(fid(901)).status == "ok" and len(link.wait_acks(1)) == 1
        detail = rx.http.get(f"/v1/frames/{fid(901)}").json()
        assert (detail["messages"], detail["packets_lost"]) == (2, 0)

"""The real services as real subprocesses: ``semlink demo`` end to end, and ``semlink up`` stopped by SIGINT."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from launch_helpers import Lines, caption, gone, interrupt, listed_services, reap

from semlink.samples import sample_images

SEMLINK = [sys.executable, "-m", "semlink.cli.main"]
FAST = ["--model", "tiny-random", "--codec", "q8", "--device", "cpu"]
REQUIRED = {"frame_id", "task", "result", "payload_bytes", "packets_lost", "latency_ms", "wire_bytes", "datagrams",
            "datagram_overhead", "datagram_bytes", "wire_bytes_sent"}
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_command(start: str) -> list[str]:
    """The README's command line that starts with ``start``, as arguments after ``semlink``."""
    line = next(line for line in README.read_text().splitlines() if line.startswith(start))
    return shlex.split(line.split("#")[0])[1:]


@pytest.mark.timeout(150)
def test_demo_prints_one_json_line_per_frame():
    command = readme_command("semlink demo --datagram-overhead 40")
    done = subprocess.run([*SEMLINK, *command, "--frames", "2", *FAST], capture_output=True, text=True, timeout=140)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 2, done.stdout
    for row in rows:
        assert REQUIRED <= set(row), row
        assert row["task"] == "<CAPTION>" and isinstance(row["result"], str)
        assert row["packets_lost"] == 0 and row["payload_bytes"] > 0
        # q8: each datagram is its payload, a 3-byte header and a CRC-32, and now 40 B of RTP/UDP/IPv4 on top:
        # counted the same by the transmitter (its upload answer) and the receiver (its answer)
        assert row["datagram_overhead"] == 40 and row["datagrams"] == row["packets"] > 0
        assert row["datagram_bytes"] == row["payload_bytes"] + 7 * row["datagrams"]
        assert row["wire_bytes"] == row["wire_bytes_sent"] == row["datagram_bytes"] + 40 * row["datagrams"]
    assert len({row["frame_id"] for row in rows}) == 2


@pytest.mark.timeout(150)
def test_a_spread_demo_through_bursty_loss_answers_every_frame():
    """--spread 1 through 20% loss in bursts of 4: each frame's datagrams go one message each, a slot apart, and
    every frame is still answered (or said lost), counted the same at both ends."""
    command = readme_command("semlink demo --loss 0.2 --burst 4 --spread 1")
    done = subprocess.run([*SEMLINK, *command, "--frames", "4", "--seed", "2", *FAST], capture_output=True, text=True,
                          timeout=140)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 4 and len({row["frame_id"] for row in rows}) == 4, done.stdout
    for row in rows:  # answered, or said lost and why
        assert (row["packets"] > 1 and row["packets_lost"] < row["packets"]) if "result" in row else (
            row["lost"] is True and row["reason"] and row["wire_bytes_sent"] > 0), row


@pytest.mark.timeout(150)
def test_up_serves_caption_then_stops_every_service_on_sigint(tmp_path, capsys):
    proc = subprocess.Popen([*SEMLINK, "up", "--free-ports", *FAST], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    pids: list[int] = []
    try:
        output = Lines(proc)
        lines = output.until(r"^ready:", timeout=120)
        listed = listed_services(lines)
        pids = [pid for _, pid in listed.values()]
        assert len(pids) == 3, lines
        assert not any(gone(pid) for pid in pids)
        image = tmp_path / "scene.png"
        sample_images(1)[0].save(image)
        answer = caption(image, {name: url for name, (url, _) in listed.items()}, capsys)
        assert answer["task"] == "<CAPTION>" and answer["packets_lost"] == 0
        out = interrupt(proc, output)
    finally:
        reap(proc, pids)
    assert proc.returncode == 0, out[-3000:]
    assert "stopped:" in out
    assert all(gone(pid) for pid in pids), out[-3000:]


@pytest.mark.timeout(150)
def test_a_packed_demo_sends_its_frames_in_one_group_each_paying_its_share_of_the_headers():
    """--pack 4 with 40 B a datagram: the four frames go as one group (one message, datagram j holding slice j of
    each), each answered, each counted with a quarter of the group's datagrams and transport bytes."""
    command = readme_command("semlink demo --datagram-overhead 40 --pack 4")
    done = subprocess.run([*SEMLINK, *command, "--frames", "4", *FAST], capture_output=True, text=True, timeout=140)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 4 and all(row["packets_lost"] == 0 for row in rows), done.stdout
    datagrams = {row["datagrams"] for row in rows}
    assert datagrams == {rows[0]["packets"] / 4}, rows  # q8 here: 5 packets a frame, 5 datagrams for the group
    for row in rows:
        assert row["wire_bytes"] == row["datagram_bytes"] + 40 * row["datagrams"]
        assert row["wire_bytes_sent"] == pytest.approx(row["wire_bytes"])

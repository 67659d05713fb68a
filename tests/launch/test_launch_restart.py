"""``semlink up`` with the real services: kill -9 each in turn; it comes back on its ports and frames are answered."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from launch_helpers import Lines, caption, gone, interrupt, listed_services, reap

from semlink.launch import SERVICES
from semlink.samples import sample_images

SEMLINK = [sys.executable, "-m", "semlink.cli.main"]
FAST = ["--model", "tiny-random", "--codec", "q8", "--device", "cpu"]
BACK = re.compile(r" back at (?P<url>\S+) pid (?P<pid>\d+)")
WAIT_MS = 10000  # the most the receiver waits; a sender reconnects within 5 s (its backoff cap)


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_up_restarts_each_killed_service_and_frames_are_answered_again(tmp_path, capsys):
    proc = subprocess.Popen([*SEMLINK, "up", "--free-ports", "--max-restarts", "2", *FAST], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    every_pid: set[int] = set()
    timings: dict[str, tuple[float, float]] = {}
    try:
        output = Lines(proc)
        listed = listed_services(output.until(r"^ready:", timeout=120))
        urls = {name: url for name, (url, _) in listed.items()}
        pids = {name: pid for name, (_, pid) in listed.items()}
        every_pid.update(pids.values())
        image = tmp_path / "scene.png"
        sample_images(1)[0].save(image)
        assert caption(image, urls, capsys)["packets_lost"] == 0
        for name in SERVICES:
            killed = time.monotonic()
            os.kill(pids[name], signal.SIGKILL)
            back = BACK.search(output.until(rf"^semlink up: {name} back at ", timeout=120)[-1])
            back_s = time.monotonic() - killed
            assert back["url"] == urls[name]  # the same ports: the others still point at them
            every_pid.add(int(back["pid"]))
            others = {other: p for other, p in pids.items() if other != name}
            assert not any(gone(p) for p in others.values()), f"killing {name} took others down"
            answer = caption(image, urls, capsys, wait_ms=WAIT_MS)
            assert answer["task"] == "<CAPTION>" and answer["packets_lost"] == 0
            timings[name] = (back_s, time.monotonic() - killed)
            pids[name] = int(back["pid"])
        out = interrupt(proc, output)
    finally:
        reap(proc, every_pid)
    with capsys.disabled():
        for name, (back_s, answered_s) in timings.items():
            print(f"\n{name}: kill -9 -> ready again {back_s:.1f}s, -> frame answered {answered_s:.1f}s", end="")
    assert proc.returncode == 0, out[-3000:]
    stopped = next(line for line in out.splitlines() if line.startswith("stopped:"))
    assert all(f"{name} (restarted 1x)" in stopped for name in SERVICES), stopped
    assert all(gone(pid) for pid in every_pid), out[-3000:]

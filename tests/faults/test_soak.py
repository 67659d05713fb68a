"""``semlink soak`` for one minute on the real services (CI's short soak): every frame accounted, memory sampled,
the JSON and the plot written; and the pieces it counts with."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from semlink.soak import FrameLedger, RssSeries, pid_listening_on, rss_kib

SERVICES = ("receiver_service", "channel_sim", "transmitter_service")


@pytest.mark.timeout(300)
def test_a_one_minute_soak_accounts_for_every_frame(tmp_path, capsys):
    out = tmp_path / "soak"
    started = time.monotonic()
    # --max-growth is generous here: a minute on a shared CI runner is too short to judge memory growth by 5%.
    proc = subprocess.run([sys.executable, "-m", "semlink.cli.main", "soak", "--minutes", "1", "--fps", "4",
                           "--loss", "0.05", "--sample-s", "4", "--max-growth", "50", "--out", str(out)],
                          capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "soak passed" in proc.stdout
    report = json.loads((out / "soak.json").read_text())
    frames = report["frames"]
    assert frames["accepted"] > 10 and frames["open"] == 0 and frames["stuck"] == []
    assert frames["delivered"] + frames["lost"] == frames["accepted"]
    assert frames["status_changes"] == {} and report["receiver_events"]["answered_twice"] == 0
    tx = report["transmitter"]["frames"]
    assert tx["acked"] + tx["partial"] + tx["lost"] == tx["accepted"] == frames["accepted"]
    assert report["tasks"].get("ok", 0) > 0 and report["errors"] == [] and report["problems"] == []
    for name in SERVICES:
        memory = report["memory"][name]
        assert len(memory["samples"]) >= 10 and memory["warmup_kib"] > 10_000, (name, memory)
        assert memory["growth_pct"] is not None
    assert (out / "soak.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with capsys.disabled():
        print(f"\nsoak 1 min ({time.monotonic() - started:.0f}s in all): " + proc.stdout.strip().splitlines()[-7])


def test_rss_growth_is_measured_after_warm_up():
    series = RssSeries()
    for t in range(0, 100, 5):
        series.add(float(t), 1000 if t < 20 else 2000 if t < 60 else 2100)  # warm-up jump, then 5% creep
    base, final, growth = series.growth(warmup_s=20, window_s=10)
    assert base == 2000 and final == 2100 and growth == pytest.approx(5.0)
    assert RssSeries().growth(20, 10) == (None, None, None)


def test_ledger_finds_stuck_frames_and_a_changed_final_status():
    ledger = FrameLedger()
    ledger.accepted(1, "sent")
    ledger.accepted(2, "sent")
    ledger.update(1, "acked")
    ledger.update(1, "lost", "no ack within 30 s")  # a second, different answer for a frame that ended
    summary = ledger.summary(bound_s=0.0, now=time.monotonic() + 1)
    assert summary["acked"] == 1 and summary["open"] == 1 and summary["stuck"] == [2]
    assert summary["status_changes"] == {"acked -> lost": 1}


def test_rss_and_the_pid_behind_a_port_come_from_proc():
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs Linux /proc")
    assert rss_kib(os.getpid()) > 1000
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert pid_listening_on(server.getsockname()[1]) == os.getpid()

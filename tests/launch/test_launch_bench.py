"""``semlink bench link`` runs and reports every stage (a smoke test: timings are not asserted)."""

from __future__ import annotations

import json

import pytest

from semlink.bench.stages import STAGES
from semlink.cli.main import main


@pytest.mark.timeout(120)
def test_bench_link_smoke(capsys):
    code = main(["bench", "link", "--model", "tiny-random", "--codec", "q8", "--device", "cpu",
                 "--frames", "3", "--images", "1", "--json", "--datagram-overhead", "rtp-ipv4"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["stages_ms"]) == set(STAGES)
    assert all(v["p50"] > 0 and v["p99"] >= v["p50"] for v in report["stages_ms"].values())
    assert report["proxy"].startswith("gRPC loopback")
    assert report["proxy_frames_per_s"] > 0 and report["proxy_packets_per_s"] > 0
    assert 0 < report["link_share"] < 1
    assert report["datagram_overhead"] == 40 and report["datagrams"] == report["packets_per_frame"] > 0
    assert report["wire_bytes"] == round(report["datagram_bytes"] + 40 * report["datagrams"])
    assert report["datagram_bytes"] > report["payload_bytes"]  # headers and checks: semlink's own framing

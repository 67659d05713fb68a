"""The transmitter and channel_sim as real processes: image in over HTTP, frame out at a test receiver."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from semlink.launch.ports import free_port
from semlink.launch.process import ServiceProcess
from tests.helpers.link import ThreadedReceiver

REPO = Path(__file__).resolve().parents[2]
READY_S = 60.0


@pytest.mark.parametrize("service, prefix", [("transmitter_service", "SEMLINK_TX_"), ("channel_sim", "SEMLINK_CH_")])
def test_help_teaches(service, prefix):
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", service, "--help"], cwd=REPO, capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert "--http-port" in result.stdout and f"{prefix}HTTP_PORT" in result.stdout and "Example" in result.stdout
    assert time.monotonic() - started < 15  # --help does not load the model stack


def test_bad_flag_exits_2_naming_it():
    result = subprocess.run([sys.executable, "-m", "transmitter_service", "--max-batch", "0"], cwd=REPO,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2 and "max_batch" in result.stderr


def service(module: str, env: dict[str, str], url: str) -> ServiceProcess:
    process = ServiceProcess(module, module, env, url)
    process.start()
    return process


@pytest.mark.slow  # two processes importing torch: ~15 s on an idle machine, a minute on a busy one
def test_transmitter_to_channel_sim_to_receiver(image_bytes):
    receiver = ThreadedReceiver().start()
    ch_grpc, ch_http, tx_http = free_port(), free_port(), free_port()
    tx_url, ch_url = f"http://127.0.0.1:{tx_http}", f"http://127.0.0.1:{ch_http}"
    channel = service("channel_sim", {
        "SEMLINK_CH_GRPC_PORT": str(ch_grpc), "SEMLINK_CH_HTTP_PORT": str(ch_http), "SEMLINK_CH_LOSS": "0.5",
        "SEMLINK_CH_SEED": "2", "SEMLINK_CH_LOG_LEVEL": "warning", "SEMLINK_CH_UPSTREAM": receiver.target,
        "SEMLINK_CH_DATAGRAM_OVERHEAD": "40"}, ch_url)
    transmitter = service("transmitter_service", {
        "SEMLINK_TX_HTTP_PORT": str(tx_http), "SEMLINK_TX_LOG_LEVEL": "warning", "SEMLINK_TX_MODEL": "tiny-random",
        "SEMLINK_TX_CODEC": "fp16", "SEMLINK_TX_DEVICE": "cpu", "SEMLINK_TX_TARGET": f"127.0.0.1:{ch_grpc}"}, tx_url)
    try:
        with httpx.Client() as client:
            channel.wait_ready(time.monotonic() + READY_S, client)
            transmitter.wait_ready(time.monotonic() + READY_S, client)
        ids = []
        for _ in range(4):
            response = httpx.post(f"{tx_url}/v1/frames", files={"file": ("a.png", image_bytes(), "image/png")})
            assert response.status_code == 202, response.text
            ids.append(response.json()["frame_id"])
        frames = receiver.wait_for(4)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            statuses = [httpx.get(f"{tx_url}/v1/frames/{i}").json() for i in ids]
            if all(s["status"] in ("acked", "partial") for s in statuses):
                break
            time.sleep(0.05)
        ch_stats = httpx.get(f"{ch_url}/v1/stats").json()
        tx_metrics = httpx.get(f"{tx_url}/metrics").text
    finally:
        transmitter.stop(10)
        channel.stop(10)
        receiver.stop()

    assert [f.header.frame_id for f in frames] == ids
    assert {(f.header.codec, f.header.dtype) for f in frames} == {("fp16", "float16")}
    lost = sum(len(f.lost_indices()) for f in frames)
    assert lost == ch_stats["packets"]["dropped"] and ch_stats["frames"]["in"] == 4
    assert [s["status"] for s in statuses] == ["partial" if f.lost_indices() else "acked" for f in frames]
    # the transmitter counts 0 B per datagram (its setting), channel_sim 40: the acks bring the link's figure, so
    # the transmitter's records and metrics say what channel_sim counted
    assert {s["datagram_overhead"] for s in statuses} == {40}
    assert sum(s["wire_bytes"] for s in statuses) == ch_stats["wire_bytes"]["in"]
    assert sum(s["datagrams"] for s in statuses) == ch_stats["datagrams"]["in"] == sum(f.total_packets for f in frames)
    assert f"semlink_tx_wire_bytes_total {float(ch_stats['wire_bytes']['in'])}" in tx_metrics

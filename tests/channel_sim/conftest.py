"""Fixtures for channel_sim: a recording receiver on its own thread, and channel_sim as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.link import ThreadedReceiver, free_port, wait_ready

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def receiver():
    rx = ThreadedReceiver().start()
    yield rx
    rx.stop()


@pytest.fixture(scope="module")
def channel_sim_process(receiver, tmp_path_factory):
    """``python -m channel_sim`` forwarding to ``receiver``; yields (REST url, gRPC target, Popen)."""
    grpc_port, http_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("channel_sim") / "channel_sim.log"
    env = {**os.environ, "SEMLINK_CH_UPSTREAM": receiver.target, "SEMLINK_CH_SEED": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "channel_sim", "--grpc-port", str(grpc_port), "--http-port", str(http_port),
             "--log-level", "warning"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{http_port}"
    try:
        wait_ready(url, proc, log)
        yield url, f"127.0.0.1:{grpc_port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

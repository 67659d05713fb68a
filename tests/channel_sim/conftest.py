"""Fixtures for channel_sim: a recording receiver on its own thread, and channel_sim as a real process."""

from __future__ import annotations

import time

import httpx
import pytest

from semlink.launch.ports import free_port
from semlink.launch.process import ServiceProcess
from tests.helpers.link import ThreadedReceiver

READY_S = 60.0


@pytest.fixture(scope="module")
def receiver():
    rx = ThreadedReceiver().start()
    yield rx
    rx.stop()


@pytest.fixture(scope="module")
def channel_sim_process(receiver):
    """``python -m channel_sim`` forwarding to ``receiver``; yields (REST url, gRPC target, Popen)."""
    grpc_port, http_port = free_port(), free_port()
    url = f"http://127.0.0.1:{http_port}"
    service = ServiceProcess("channel_sim", "channel_sim", {
        "SEMLINK_CH_UPSTREAM": receiver.target, "SEMLINK_CH_SEED": "1", "SEMLINK_CH_GRPC_PORT": str(grpc_port),
        "SEMLINK_CH_HTTP_PORT": str(http_port), "SEMLINK_CH_LOG_LEVEL": "warning"}, url)
    service.start()
    try:
        with httpx.Client() as client:
            service.wait_ready(time.monotonic() + READY_S, client)
        yield url, f"127.0.0.1:{grpc_port}", service.proc
    finally:
        service.stop(10)

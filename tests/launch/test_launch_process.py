"""One service process: ready, stopped cleanly, failures reported with the service's own words."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
import pytest
from launch_helpers import fake, gone

from semlink.launch.ports import free_ports
from semlink.launch.process import ServiceFailed


def test_waits_for_ready_then_stops_with_sigterm(fake_service):
    lines = []
    service = fake(fake_service, sink=lambda name, line: lines.append((name, line)), READY_AFTER_S="0.5")
    service.start()
    with httpx.Client() as client:
        service.wait_ready(time.monotonic() + 20, client)
    assert service.running()
    assert service.stop(grace=5) == 0
    assert gone(service.pid)
    assert ("fake", "fake: stopped cleanly") in lines


def test_a_service_that_exits_is_reported_with_its_log(fake_service):
    service = fake(fake_service, FAKE_FAIL="no model here")
    service.start()
    with httpx.Client() as client, pytest.raises(ServiceFailed, match="exited with code 3(.|\n)*no model here"):
        service.wait_ready(time.monotonic() + 20, client)


def test_a_service_never_ready_times_out(fake_service):
    service = fake(fake_service, READY_AFTER_S="999")
    service.start()
    try:
        with httpx.Client() as client, pytest.raises(ServiceFailed, match="not ready"):
            service.wait_ready(time.monotonic() + 1, client)
    finally:
        service.stop(grace=5)
    assert gone(service.pid)


def test_link_stops_the_others_when_one_fails_to_start(fake_service):
    from semlink.launch import LinkConfig, LocalLink

    link = LocalLink(LinkConfig(), ready_timeout=20)
    link.services = {"first": fake(fake_service), "broken": fake(fake_service, FAKE_FAIL="bad setting"),
                     "last": fake(fake_service, READY_AFTER_S="999")}
    with pytest.raises(ServiceFailed, match="bad setting"):
        link.start()
    assert all(gone(pid) for pid in link.pids.values())


def test_link_stops_in_reverse_order(fake_service):
    from semlink.launch import LinkConfig, LocalLink

    stopped = []
    sink = lambda name, line: stopped.append(name) if "stopped cleanly" in line else None  # noqa: E731
    link = LocalLink(LinkConfig(), ready_timeout=20)
    link.services = {name: fake(fake_service, sink) for name in ("receiver", "channel", "transmitter")}
    for name, service in link.services.items():
        service.name = name
    with link:
        assert link.failed() is None
    assert stopped == ["transmitter", "channel", "receiver"]
    assert all(gone(pid) for pid in link.pids.values())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_children_die_with_a_killed_launcher(fake_service):
    module, env = fake_service
    port = free_ports(1)[0]
    script = (
        "import sys, time; from semlink.launch.process import ServiceProcess\n"
        f"s = ServiceProcess('fake', {module!r}, {{**{env!r}, 'FAKE_HTTP_PORT': '{port}'}}, 'http://127.0.0.1:{port}')\n"
        "s.start(); print(s.pid, flush=True); time.sleep(60)\n"
    )
    launcher = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(launcher.stdout.readline())
    assert not gone(child)
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    deadline = time.monotonic() + 10
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone(child)

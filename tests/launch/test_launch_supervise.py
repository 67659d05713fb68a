"""Restart policy (pure: delays and the cap) and the supervisor on fake services (kill -9, back on its port)."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from launch_helpers import fake, gone

from semlink.launch import LinkConfig, LocalLink, RestartPolicy, ServiceFailed, Supervisor
from semlink.launch.supervise import RestartHistory
from semlink.link import Backoff


def test_delays_double_from_half_a_second_and_stop_growing_at_the_cap():
    history = RestartHistory(RestartPolicy(max_per_minute=8))
    delays = []
    for t in range(7):
        delays.append(history.next_delay(float(t)))
        history.record(float(t))
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]


def test_gives_up_past_the_cap_within_a_minute_and_forgets_after_one():
    history = RestartHistory(RestartPolicy(max_per_minute=3))
    for t in (0.0, 1.0, 2.0):
        assert history.next_delay(t) is not None
        history.record(t)
    assert history.next_delay(59.0) is None  # three restarts in the last minute: the cap
    assert history.next_delay(60.5) == 2.0  # the first left the window; two remain, so the third delay
    assert history.next_delay(200.0) == 0.5  # a quiet minute: back to the first delay
    assert history.total == 3


def test_zero_restarts_means_never():
    assert RestartHistory(RestartPolicy(max_per_minute=0)).next_delay(0.0) is None


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_a_bad_cap_names_the_field(bad):
    with pytest.raises(ValueError, match="max_per_minute"):
        RestartPolicy(max_per_minute=bad)


FAST = Backoff(initial_s=0.05, max_s=0.1, multiplier=2.0, jitter=0.0)


def fake_link(fake_service, lines) -> LocalLink:
    link = LocalLink(LinkConfig(), ready_timeout=20)
    sink = lambda name, line: lines.append((name, line))  # noqa: E731
    link.services = {name: fake(fake_service, sink) for name in ("upstream", "downstream")}
    for name, service in link.services.items():
        service.name = name
    return link


def supervise_until(supervisor: Supervisor, done, timeout: float = 20.0) -> ServiceFailed | None:
    """Step ``supervisor`` until ``done()`` or it gives up (its failure is returned)."""
    deadline = time.monotonic() + timeout
    with httpx.Client() as client:
        while not done():
            if (failure := supervisor.step(client)) is not None:
                return failure
            assert time.monotonic() < deadline, "the supervisor did not get there in time"
            time.sleep(0.05)
    return None


@pytest.mark.timeout(60)
def test_a_killed_service_comes_back_on_its_port_and_the_other_keeps_running(fake_service):
    lines, reports = [], []
    link = fake_link(fake_service, lines)
    supervisor = Supervisor(link, RestartPolicy(max_per_minute=2, backoff=FAST), report=reports.append)
    with link:
        up, down = link.services["upstream"], link.services["downstream"]
        first, other = up.pid, down.pid
        os.kill(first, signal.SIGKILL)
        assert supervise_until(supervisor, lambda: any("back at" in r for r in reports)) is None
        assert up.pid != first and down.pid == other
        assert httpx.get(up.url + "/health/ready").status_code == 200  # same URL, same port
        assert supervisor.restarts == {"upstream": 1, "downstream": 0}
        assert f"upstream exited with code {-signal.SIGKILL}; restarting it in 0.1s" in reports[0]
        assert lines.count(("upstream", f"fake: listening on {up.url.rsplit(':', 1)[1]}")) == 2
        pids = dict(link.pids)
    assert all(gone(pid) for pid in pids.values())


@pytest.mark.timeout(60)
def test_past_the_cap_it_gives_up_and_says_why(fake_service):
    link = fake_link(fake_service, [])
    supervisor = Supervisor(link, RestartPolicy(max_per_minute=1, backoff=FAST), report=lambda line: None)
    with link:
        service = link.services["downstream"]
        os.kill(service.pid, signal.SIGKILL)
        assert supervise_until(supervisor, lambda: supervisor.restarts["downstream"] == 1 and service.running()) is None
        os.kill(service.pid, signal.SIGKILL)
        failure = supervise_until(supervisor, lambda: False)
    assert isinstance(failure, ServiceFailed)
    assert "downstream exited with code -9" in str(failure)
    assert "1 restarts in the last 60s, the most allowed (--max-restarts 1); giving up" in str(failure)
    assert "fake: listening on" in str(failure)  # its last log lines


@pytest.mark.timeout(60)
def test_no_restart_reports_the_exit_at_once(fake_service):
    link = fake_link(fake_service, [])
    supervisor = Supervisor(link, RestartPolicy(max_per_minute=0), report=lambda line: None)
    with link:
        os.kill(link.services["upstream"].pid, signal.SIGKILL)
        failure = supervise_until(supervisor, lambda: False)
    assert "upstream exited with code -9 (restarts are off)" in str(failure)

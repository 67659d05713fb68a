"""``semlink up`` and ``semlink demo --page`` print the live page's URL, and the page there knows the other two."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "launch"))
from launch_helpers import Lines, interrupt, listed_services, reap  # noqa: E402

SEMLINK = [sys.executable, "-m", "semlink.cli.main"]
FAST = ["--model", "tiny-random", "--codec", "q8", "--device", "cpu"]


def page_url(lines: list[str]) -> str:
    found = [m.group(1) for line in lines if (m := re.search(r"live page: (http://\S+/)", line))]
    assert found, "\n".join(lines[-20:])
    return found[0]


@pytest.mark.timeout(150)
def test_up_prints_the_page_which_points_at_the_transmitter_and_channel():
    proc = subprocess.Popen([*SEMLINK, "up", "--free-ports", *FAST], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    pids: list[int] = []
    try:
        output = Lines(proc)
        lines = output.until(r"^ready:", timeout=120)
        listed = listed_services(lines)
        pids = [pid for _, pid in listed.values()]
        url = page_url(lines)
        assert url == listed["receiver_service"][0] + "/"
        page = httpx.get(url)
        assert page.status_code == 200 and "<title>semlink live</title>" in page.text
        config = httpx.get(url + "v1/page-config").json()
        assert config["transmitter_url"] == listed["transmitter_service"][0]
        assert config["channel_url"] == listed["channel_sim"][0]
        origin = url.rstrip("/")
        for service in ("transmitter_service", "channel_sim"):  # the page, from its origin, may call both
            answer = httpx.get(listed[service][0] + "/v1/stats", headers={"Origin": origin})
            assert answer.headers["access-control-allow-origin"] == origin
        interrupt(proc, output)
    finally:
        reap(proc, pids)


@pytest.mark.timeout(150)
def test_demo_page_keeps_the_page_up_with_the_shapes_stream_until_ctrl_c():
    proc = subprocess.Popen([*SEMLINK, "demo", "--frames", "1", "--page", *FAST], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        output = Lines(proc)
        lines = output.until(r"live page: .*Ctrl-C stops", timeout=120)
        url = page_url(lines)
        assert any(line.startswith("frame ") for line in lines), lines
        config = httpx.get(url + "v1/page-config").json()
        source = httpx.get(config["transmitter_url"] + "/v1/source").json()
        assert source["kind"] == "shapes" and not source["paused"]
        out = interrupt(proc, output)
    finally:
        reap(proc, [])
    assert proc.returncode == 0, out[-2000:]

"""Helpers for the launcher tests: the services' settings classes, a fake service, process checks, `semlink up`'s
output and a caption through running services."""

from __future__ import annotations

import importlib
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time

from pydantic_settings import BaseSettings

from semlink.launch.ports import free_ports
from semlink.launch.process import LogSink, ServiceProcess

FAKE_SERVICE = '''
"""A stand-in service: answers /health/ready with 200 after READY_AFTER_S, logs, handles SIGTERM."""
import http.server, os, signal, sys, threading, time

port = int(os.environ["FAKE_HTTP_PORT"])
if os.environ.get("FAKE_FAIL"):
    print("fake: cannot start: " + os.environ["FAKE_FAIL"], flush=True)
    sys.exit(3)
born = time.monotonic()
ready_after = float(os.environ.get("READY_AFTER_S", "0"))

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/health/ready" and time.monotonic() - born >= ready_after
        self.send_response(200 if ok else 503)
        self.end_headers()
    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", port), Handler)
signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
print(f"fake: listening on {port}", flush=True)
server.serve_forever()
print("fake: stopped cleanly", flush=True)
'''


def fake(fake_service: tuple[str, dict], sink: LogSink | None = None, **env: str) -> ServiceProcess:
    """A :class:`ServiceProcess` of the fake service on a free port (``env``: ``READY_AFTER_S``, ``FAKE_FAIL``)."""
    module, base = fake_service
    port = free_ports(1)[0]
    env = {**base, "FAKE_HTTP_PORT": str(port), **env}
    return ServiceProcess("fake", module, env, f"http://127.0.0.1:{port}", sink)


def settings_class(service: str) -> type[BaseSettings]:
    """The one ``BaseSettings`` subclass in ``<service>.settings``."""
    module = importlib.import_module(f"{service}.settings")
    found = [v for v in vars(module).values()
             if isinstance(v, type) and issubclass(v, BaseSettings) and v is not BaseSettings
             and v.__module__ == module.__name__]
    assert len(found) == 1, f"{service}.settings should define exactly one BaseSettings, found {found}"
    return found[0]


def gone(pid: int) -> bool:
    """No such process, or a zombie (it runs nothing; its reaper is init once its parent died)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" in f.read()
    except FileNotFoundError:
        return True


class Lines:
    """``proc``'s stdout lines, read by a thread so that every wait is bounded."""

    def __init__(self, proc: subprocess.Popen):
        self.seen: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def until(self, pattern: str, timeout: float) -> list[str]:
        """Lines up to the first one matching ``pattern`` (``None``: up to the end of the output)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1.0)
            except queue.Empty:
                continue
            if line is None:
                if pattern is None:
                    return self.seen
                break
            self.seen.append(line)
            if pattern is not None and re.search(pattern, line):
                return self.seen
        raise AssertionError(f"no line matching {pattern!r}; output so far:\n" + "\n".join(self.seen[-40:]))


def interrupt(proc: subprocess.Popen, output: "Lines") -> str:
    """Ctrl-C ``semlink up`` as a user would and return everything it printed."""
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    return "\n".join(output.until(None, timeout=5))


def reap(proc: subprocess.Popen, pids) -> None:
    """Leave nothing behind, even when a test failed: ``semlink up`` and every service process it started."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for pid in pids:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)


def listed_services(lines: list[str]) -> dict[str, tuple[str, int]]:
    """``semlink up``'s table: service name → (URL, pid)."""
    rows = [m.groups() for line in lines if (m := re.search(r"^(\w+)\s+(http://\S+)\s+pid (\d+)$", line))]
    return {name: (url, int(pid)) for name, url, pid in rows}


def caption(image, urls: dict[str, str], capsys, wait_ms: int | None = None) -> dict:
    """``semlink caption IMAGE --json`` against running services (in this process: the client is all it is)."""
    from semlink.cli.main import main

    capsys.readouterr()
    wait = ["--wait-ms", str(wait_ms)] if wait_ms is not None else []
    code = main(["caption", str(image), "--transmitter", urls["transmitter_service"],
                 "--receiver", urls["receiver_service"], "--json", *wait])
    assert code == 0
    return json.loads(capsys.readouterr().out)

"""One service as a child process: start (or restart) it, pump its log lines, wait until it is ready, stop it.

Each child runs in its own session, so a Ctrl-C in the terminal reaches only the
launcher, which stops the children in order; on Linux each child also gets
SIGTERM if the launcher dies without stopping it (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

import httpx

log = logging.getLogger(__name__)

LogSink = Callable[[str, str], None]
"""Called with ``(service name, log line without its newline)`` from a pump thread."""

READY_ROUTE = "/health/ready"
LOG_TAIL_LINES = 40
PR_SET_PDEATHSIG = 1


class ServiceFailed(RuntimeError):
    """A service exited or never became ready; the message holds its last log lines."""


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its parent dies; ``None`` elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork: the child only calls it
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class ServiceProcess:
    """``python -m <module>`` with extra environment; its output goes line by line to ``sink``."""

    def __init__(self, name: str, module: str, env: Mapping[str, str], url: str, sink: LogSink | None = None):
        self.name = name
        self.module = module
        self.env = dict(env)
        self.url = url
        self.sink = sink
        self.tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self.proc: subprocess.Popen | None = None
        self._pump: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Start the process; after it exited, start it again with the same environment (so the same ports)."""
        if self.running():
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self._drain()
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
        self._pump = threading.Thread(target=self._pump_lines, name=f"log-{self.name}", daemon=True)
        self._pump.start()
        log.debug("started %s (pid %d): python -m %s", self.name, self.proc.pid, self.module)

    def _pump_lines(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.tail.append(line)
            if self.sink is not None:
                self.sink(self.name, line)

    def wait_ready(self, deadline: float, client: httpx.Client) -> None:
        """Poll ``GET {url}/health/ready`` until 200; raise :class:`ServiceFailed` on exit or at ``deadline``."""
        while True:
            if not self.running():
                raise self.failure(f"exited with code {self.returncode} before it was ready")
            if (last := self.not_ready(client)) is None:
                return
            if time.monotonic() > deadline:
                raise self.failure(f"was not ready at {self.url + READY_ROUTE} in time (last answer: {last})")
            time.sleep(0.5)

    def not_ready(self, client: httpx.Client) -> str | None:
        """One ``GET {url}/health/ready``: ``None`` if it answered 200, else what it answered."""
        try:
            response = client.get(self.url + READY_ROUTE, timeout=2.0)
        except httpx.HTTPError as err:
            return f"{type(err).__name__}: {err}"
        return None if response.status_code == 200 else f"{response.status_code} {response.text[:200]}"

    def failure(self, what: str) -> ServiceFailed:
        self._drain()
        lines = "\n".join(f"  {line}" for line in self.tail) or "  (no output)"
        return ServiceFailed(f"{self.name} {what}; its last log lines:\n{lines}")

    def terminate(self) -> None:
        """Ask the process to stop (SIGTERM: uvicorn drains, the lifespan stops gRPC gracefully)."""
        if self.running():
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, grace: float) -> int | None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit code (``None`` if never started)."""
        if self.proc is None:
            return None
        self.terminate()
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0fs of SIGTERM; killing it", self.name, grace)
            self.kill()
        self._drain()
        return self.proc.returncode

    def kill(self) -> None:
        if self.running():
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()

    def _drain(self, timeout: float = 2.0) -> None:
        """Let the pump thread read what the process wrote before it exited."""
        if self._pump is not None and self.proc is not None and self.proc.poll() is not None:
            self._pump.join(timeout)

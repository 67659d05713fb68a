"""The three services as local processes with one configuration: start, wait ready, stop.

    with LocalLink(LinkConfig(model="tiny-random", codec="q8", ports=LinkPorts.free())) as link:
        print(link.urls)          # {"receiver_service": "http://127.0.0.1:...", ...}

All three start at once (model loading overlaps); readiness is awaited in
dependency order (receiver, channel_sim, transmitter), and they stop in the
reverse order, so the transmitter drains into a link that is still up.
While it runs, :class:`~semlink.launch.supervise.Supervisor` restarts a service that exits.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from semlink.launch.client import bearer_headers
from semlink.launch.config import SERVICES, LinkConfig
from semlink.launch.process import LogSink, ServiceProcess

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 300.0
STOP_GRACE_S = 10.0
NAME_WIDTH = max(len(s) for s in SERVICES)


def prefixed_sink(stream=None) -> LogSink:
    """A sink writing ``"receiver_service    | <line>"`` to ``stream`` (default stderr), one whole line at a time."""
    lock = threading.Lock()

    def sink(name: str, line: str) -> None:
        out = stream if stream is not None else sys.stderr
        with lock:
            out.write(f"{name:<{NAME_WIDTH}} | {line}\n")
            out.flush()

    return sink


class LocalLink:
    """receiver_service, channel_sim and transmitter_service as child processes of this one."""

    def __init__(self, config: LinkConfig, sink: LogSink | None = None, ready_timeout: float = READY_TIMEOUT_S,
                 stop_grace: float = STOP_GRACE_S):
        self.config = config
        self.ready_timeout = ready_timeout
        self.stop_grace = stop_grace
        self.services = {
            name: ServiceProcess(name, name, config.environment(name), config.url(name), sink) for name in SERVICES
        }

    @property
    def urls(self) -> dict[str, str]:
        return {name: s.url for name, s in self.services.items()}

    @property
    def pids(self) -> dict[str, int | None]:
        return {name: s.pid for name, s in self.services.items()}

    def start(self) -> None:
        """Start all three and return once each answers ``/health/ready``; on any failure, stop them all."""
        started = time.monotonic()
        try:
            for service in self.services.values():
                service.start()
            deadline = started + self.ready_timeout
            with httpx.Client(headers=bearer_headers(self.config.api_token)) as client:  # PROTECT_HEALTH too
                for service in self.services.values():
                    service.wait_ready(deadline, client)
                    log.info("%s ready at %s (%.1fs)", service.name, service.url, time.monotonic() - started)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> dict[str, int | None]:
        """Stop every service, transmitter first; a second Ctrl-C while stopping kills the rest at once."""
        codes: dict[str, int | None] = {}
        remaining = list(reversed(self.services.values()))
        try:
            while remaining:
                service = remaining[0]
                codes[service.name] = service.stop(self.stop_grace)
                remaining.pop(0)
        except KeyboardInterrupt:
            log.warning("interrupted while stopping: killing %s", ", ".join(s.name for s in remaining))
            for service in remaining:
                service.kill()
                codes[service.name] = service.returncode
        return codes

    def failed(self) -> ServiceProcess | None:
        """The first service that has exited on its own, if any."""
        return next((s for s in self.services.values() if s.proc is not None and not s.running()), None)

    def __enter__(self) -> "LocalLink":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextmanager
def interrupt_on_stop_signals() -> Iterator[None]:
    """Inside the block, SIGTERM and SIGINT raise ``KeyboardInterrupt`` in the main thread.

    SIGINT too, because a process started in the background by a shell inherits it ignored.
    """
    previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stopped_cleanly(code: int | None) -> bool:
    """Exit 0, or ended by the SIGTERM the launcher sent (uvicorn re-raises it after a graceful shutdown)."""
    return code in (0, -signal.SIGTERM, None)

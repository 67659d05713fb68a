"""Helpers for the fault tests: the three services as real processes on free ports, steady traffic at them, kill -9
and restart one, and the accounting of every frame."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from semlink.launch import RECEIVER, TRANSMITTER, LinkConfig, LinkPorts, LocalLink
from semlink.samples import sample_images
from semlink.soak import FrameLedger, ReceiverAnswers, Traffic

FPS = 4.0
LOSS = 0.05  # some frames partial, the path still busy
DELAY_MS = 1000  # frames spend this long in channel_sim's delay line: some are in flight when a service dies
END_BOUND_S = 45.0  # every accepted frame ends within: the transmitter's ack timeout (30 s), wire timeout, slack
READY_S = 120.0
STOP_LINE = re.compile(r"transmitter stopped: session (?P<session>\d+) frames (?P<frames>\{.*?\}) "
                       r"lost_reasons (?P<reasons>\{.*\})")


@dataclass
class Scenario:
    """A running link, the traffic at it, the receiver's answers and what the services logged."""

    link: LocalLink
    traffic: Traffic
    answers: ReceiverAnswers
    lines: list[tuple[float, str, str]] = field(default_factory=list)  # (monotonic time, service, line)
    events: dict[str, float] = field(default_factory=dict)  # "killed", "back": monotonic times
    attempts: list[float] = field(default_factory=list)  # connection attempts at a dead service's gRPC port

    @property
    def urls(self) -> dict[str, str]:
        return self.link.urls

    def stats(self, service: str) -> dict:
        return httpx.get(self.urls[service] + "/v1/stats", timeout=10).json()

    def stream_for(self, seconds: float) -> None:
        time.sleep(seconds)

    def kill_and_restart(self, service: str, down_s: float = 1.0, grpc_port: int | None = None) -> float:
        """``kill -9`` ``service``, start it again after ``down_s`` on the same ports; seconds until ready again.

        With ``grpc_port`` (the dead service's), a stand-in listens there while it is down and records when
        each connection attempt came (``self.attempts``): a sender's reconnects, seen from the far end."""
        process = self.link.services[service]
        os.kill(process.pid, signal.SIGKILL)
        process.proc.wait(timeout=10)
        self.events["killed"] = time.monotonic()
        if grpc_port is not None:
            self.attempts = count_connections(grpc_port, down_s)
            down_s = 0.0
        return self._restart(process, down_s)

    def stop_and_restart(self, service: str, down_s: float = 1.0) -> float:
        """Stop ``service`` gracefully (SIGTERM, as a deploy would), start it again; seconds until ready again."""
        process = self.link.services[service]
        process.stop(grace=15.0)
        self.events["killed"] = time.monotonic()
        return self._restart(process, down_s)

    def _restart(self, process, down_s: float) -> float:
        time.sleep(down_s)
        process.start()
        with httpx.Client() as client:
            process.wait_ready(time.monotonic() + READY_S, client)
        self.events["back"] = time.monotonic()
        return self.events["back"] - self.events["killed"]

    def finish(self) -> dict:
        """Stop uploading, wait for every frame to end; the ledger's summary (stuck frames listed)."""
        self.traffic.stop_sending()
        self.traffic.wait_ended(END_BOUND_S)
        time.sleep(1.0)  # the receiver's last events on their way
        return self.traffic.ledger.summary(END_BOUND_S)

    def delivered_after(self, event: str) -> int:
        """Frames accepted after ``event`` (``"back"``) that were delivered: the link carries frames again."""
        at = self.events[event]
        return sum(1 for e in self.traffic.ledger.entries() if e.accepted_at > at and e.status in ("acked", "partial"))

    def logged(self, service: str, pattern: str) -> list[str]:
        return [line for _, name, line in self.lines if name == service and re.search(pattern, line)]

    def stop_line(self) -> dict:
        """The stopped transmitter's last word: its session and how each of its frames ended."""
        found = [m for line in self.logged(TRANSMITTER, "transmitter stopped") if (m := STOP_LINE.search(line))]
        assert found, "the transmitter did not log its final accounting when it stopped"
        m = found[-1]
        return {"session": int(m["session"]), "frames": json.loads(m["frames"]),
                "lost_reasons": json.loads(m["reasons"])}


def count_connections(port: int, seconds: float) -> list[float]:
    """Listen on ``port`` for ``seconds``, closing each connection at once; when each one came (from now)."""
    started = time.monotonic()
    attempts = []
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        listener.settimeout(0.05)
        while time.monotonic() - started < seconds:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            attempts.append(time.monotonic() - started)
            connection.close()
    return attempts


def assert_backoff(attempts: list[float], seconds: float) -> None:
    """Reconnect attempts came, spaced out (gRPC's reconnect backoff, 0.1 s growing x1.6 to 5 s), not a hot loop."""
    assert attempts, f"no reconnect attempt in {seconds:g} s"
    assert len(attempts) <= 5 * seconds, f"{len(attempts)} connection attempts in {seconds:g} s: a hot loop"
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    assert all(gap >= 0.05 for gap in gaps), f"attempts {attempts}"
    if len(gaps) >= 3:  # the spacing grows
        assert gaps[-1] > 2 * gaps[0], f"attempts {attempts}: the gaps between them do not grow"


@contextmanager
def scenario(fps: float = FPS, loss: float = LOSS):
    """The three services (tiny-random, q8, CPU) on free ports, traffic at ``fps`` through ``loss`` packet loss."""
    config = LinkConfig(model="tiny-random", codec="q8", device="cpu", ports=LinkPorts.free(), log_level="info",
                        channel={"loss": loss, "seed": 3, "delay_ms": DELAY_MS})
    lines: list[tuple[float, str, str]] = []
    link = LocalLink(config, sink=lambda name, line: lines.append((time.monotonic(), name, line)),
                     ready_timeout=READY_S)
    link.start()
    answers = ReceiverAnswers(link.urls[RECEIVER])
    traffic = Traffic(link.urls[TRANSMITTER], link.urls[RECEIVER], sample_images(4), fps, FrameLedger(),
                      ask_every=4)
    try:
        answers.start()
        traffic.start()
        yield Scenario(link, traffic, answers, lines)
    finally:
        traffic.stop()
        answers.stop()
        link.stop()


def assert_accounted(s: Scenario, summary: dict) -> None:
    """Every frame ended once, within the bound; the receiver answered none twice; no ack went unmatched."""
    assert summary["accepted"] > 0, "no frame was accepted"
    assert summary["stuck"] == [] and summary["open"] == 0, f"frames not ended within {END_BOUND_S:g} s: {summary}"
    assert summary["status_changes"] == {}, f"a frame's final status changed: {summary['status_changes']}"
    assert s.answers.answered_twice == {}, f"the receiver answered frames twice: {s.answers.answered_twice}"
    assert s.answers.subscriptions >= 1
    tx = s.stats(TRANSMITTER)
    frames = tx["frames"]
    assert frames["acked"] + frames["partial"] + frames["lost"] == frames["accepted"], frames
    # An ack with no frame waiting for it is a second answer, unless its frame had already timed out (a frame held
    # in channel_sim while the receiver restarts for longer than the transmitter's ack timeout).
    timed_out = tx["link"]["losses"].get("ack timeout", 0)
    assert tx["link"]["stray_acks"] <= timed_out, f"acks for frames not waiting for one: {tx['link']}"
    assert s.traffic.errors == [], s.traffic.errors


def report(name: str, s: Scenario, summary: dict, **figures) -> str:
    """One printable paragraph: the scenario's accounting (delivered / lost by reason) and its figures."""
    extra = ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items())
    return (f"\n{name}: accepted {summary['accepted']}, delivered {summary['delivered']} "
            f"(acked {summary['acked']}, partial {summary['partial']}), lost {summary['lost']} "
            f"{summary['lost_reasons']}, orphaned {summary['orphaned']}; uploads {dict(s.traffic.uploads)}, "
            f"tasks {dict(s.traffic.tasks)}; receiver events {dict(s.answers.by_type)}"
            + (f"; {extra}" if extra else ""))

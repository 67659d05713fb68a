"""A soak run: frames at a fixed rate through a lossy channel for minutes, tasks asked, memory and accounting.

    report = run_soak(SoakConfig(minutes=10, fps=5, loss=0.05, out=Path("runs/soak")))

Starts the three services (or uses running ones, ``targets``), drives
:class:`~semlink.soak.traffic.Traffic` at them, samples each service's RSS every
``sample_s`` seconds, then stops uploading, waits for every frame to end and
checks the accounting. ``report["passed"]`` is False when a frame got stuck or was
answered twice, a service died, or a service's RSS grew more than ``max_growth_pct``
after warm-up. ``soak.json`` and ``soak.png`` (RSS over time, frames) go to ``out``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

from semlink.launch import CHANNEL, RECEIVER, SERVICES, TRANSMITTER, LinkConfig, LinkPorts, LocalLink
from semlink.packets.outcome import LossReason
from semlink.samples import sample_images
from semlink.soak.answers import ReceiverAnswers
from semlink.soak.rss import RssSeries, pid_listening_on, rss_kib
from semlink.soak.traffic import Traffic

log = logging.getLogger(__name__)

END_BOUND_S = 45.0
"""Every accepted frame ends within this: the transmitter's ack timeout (30 s), its wire timeout (10 s), slack."""


@dataclass(frozen=True)
class SoakConfig:
    """What to run, for how long, and what counts as passing."""

    minutes: float = 10.0
    fps: float = 5.0
    loss: float = 0.05
    out: Path = Path("runs/soak")
    max_growth_pct: float = 5.0
    sample_s: float = 5.0
    warmup_fraction: float = 0.2  # the first part of the run is warm-up: RSS growth is measured after it
    ask_every: int = 5
    model: str = "tiny-random"
    codec: str = "q8"
    device: str = "cpu"
    seed: int = 0
    targets: dict[str, str] | None = None  # service -> URL of already running services
    end_bound_s: float = END_BOUND_S

    def __post_init__(self) -> None:
        if not self.minutes > 0:
            raise ValueError(f"minutes must be > 0, got {self.minutes}")
        if not self.fps > 0:
            raise ValueError(f"fps must be > 0, got {self.fps}")
        if not 0 <= self.loss < 1:
            raise ValueError(f"loss must be in [0, 1), got {self.loss}")
        if not self.sample_s > 0:
            raise ValueError(f"sample_s must be > 0, got {self.sample_s}")
        if not 0 <= self.warmup_fraction < 1:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}")


@dataclass
class Timeline:
    """What was sampled every ``sample_s``: RSS per service and the frame counts."""

    rss: dict[str, RssSeries] = field(default_factory=lambda: {name: RssSeries() for name in SERVICES})
    frames: list[dict] = field(default_factory=list)  # {"t", "accepted", "delivered", "lost", "open"}


def run_soak(config: SoakConfig, progress: Callable[[str], None] = print) -> dict:
    """Run the soak described by ``config``; returns the report (also written to ``config.out/soak.json``)."""
    config.out.mkdir(parents=True, exist_ok=True)
    link = None
    if config.targets is None:
        link_config = LinkConfig(model=config.model, codec=config.codec, device=config.device,
                                 ports=LinkPorts.free(), log_level="warning",
                                 channel={"loss": config.loss, "seed": config.seed})
        log_file = (config.out / "services.log").open("w")
        link = LocalLink(link_config, sink=lambda name, line: log_file.write(f"{name:<20} | {line}\n"))
        progress(f"starting the services (model {config.model}, codec {config.codec}); logs in {log_file.name}")
        link.start()
        urls, pids = link.urls, lambda: link.pids
    else:
        urls = config.targets
        httpx.put(urls[CHANNEL] + "/v1/channel", json={"loss": config.loss}, timeout=10).raise_for_status()
        found = {name: pid_listening_on(urlparse(url).port) for name, url in urls.items()}
        pids = lambda: found  # noqa: E731
    try:
        report = _drive(config, urls, pids, link, progress)
    finally:
        if link is not None:
            link.stop()
            log_file.close()
    (config.out / "soak.json").write_text(json.dumps(report, indent=2))
    plot(report, config.out / "soak.png")
    return report


def _drive(config: SoakConfig, urls: dict[str, str], pids: Callable[[], dict], link: LocalLink | None,
           progress: Callable[[str], None]) -> dict:
    answers = ReceiverAnswers(urls[RECEIVER])
    answers.start()
    traffic = Traffic(urls[TRANSMITTER], urls[RECEIVER], sample_images(4), config.fps, ask_every=config.ask_every)
    timeline = Timeline()
    errors: list[str] = []
    started = time.monotonic()
    duration = 60.0 * config.minutes
    traffic.start()
    try:
        while (t := time.monotonic() - started) < duration:
            time.sleep(min(config.sample_s, max(0.0, duration - t)))
            t = time.monotonic() - started
            _sample(timeline, t, pids(), traffic)
            progress(_progress_line(timeline, t, traffic))
            if link is not None and (dead := link.failed()) is not None:
                errors.append(f"{dead.name} exited with code {dead.returncode} during the soak")
                break
        traffic.stop_sending()
        ended = traffic.wait_ended(config.end_bound_s)
        time.sleep(1.0)  # the receiver's last events on their way
    finally:
        traffic.stop()
        answers.stop()
    summary = traffic.ledger.summary(config.end_bound_s)
    transmitter = _stats(urls[TRANSMITTER], errors)
    return _report(config, timeline, summary, traffic, answers, transmitter, errors, ended,
                   time.monotonic() - started)


def _sample(timeline: Timeline, t: float, pids: dict, traffic: Traffic) -> None:
    for name, pid in pids.items():
        if pid is not None and (kib := rss_kib(pid)) is not None:
            timeline.rss[name].add(t, kib)
    s = traffic.ledger.summary()
    timeline.frames.append({"t": t, **{k: s[k] for k in ("accepted", "delivered", "lost", "open")}})


def _progress_line(timeline: Timeline, t: float, traffic: Traffic) -> str:
    rss = " ".join(f"{name.split('_')[0][:4]}={series.samples[-1][1] / 1024:.0f}MiB"
                   for name, series in timeline.rss.items() if series.samples)
    f = timeline.frames[-1]
    return (f"t={t:5.0f}s rss {rss}  frames accepted {f['accepted']} delivered {f['delivered']} lost {f['lost']} "
            f"open {f['open']}  tasks ok {traffic.tasks['ok']}  errors {len(traffic.errors)}")


def _stats(url: str, errors: list[str]) -> dict | None:
    try:
        return httpx.get(url + "/v1/stats", timeout=10).json()
    except (httpx.HTTPError, ValueError) as err:
        errors.append(f"transmitter stats unreadable: {err}")
        return None


def _report(config: SoakConfig, timeline: Timeline, summary: dict, traffic: Traffic, answers: ReceiverAnswers,
            transmitter: dict | None, errors: list[str], ended: bool, elapsed_s: float) -> dict:
    duration = 60.0 * config.minutes
    warmup_s = config.warmup_fraction * duration
    window_s = max(config.sample_s * 3, 0.1 * duration)
    memory = {}
    for name, series in timeline.rss.items():
        base, final, growth = series.growth(warmup_s, window_s)
        memory[name] = {"warmup_kib": base, "final_kib": final, "growth_pct": growth,
                        "samples": series.samples}
    problems = list(errors) + traffic.errors[:10]
    if not ended or summary["open"] or summary["stuck"]:
        problems.append(f"{summary['open']} frame(s) had not ended {config.end_bound_s:g} s after the last upload: "
                        f"{summary['stuck'][:10]}")
    if summary["status_changes"]:
        problems.append(f"frames whose final status changed (answered twice): {summary['status_changes']}")
    if answers.answered_twice:
        problems.append(f"the receiver answered frames twice: {dict(list(answers.answered_twice.items())[:10])}")
    if transmitter is not None:
        frames, link = transmitter["frames"], transmitter["link"]
        finals = frames["acked"] + frames["partial"] + frames["lost"]
        if config.targets is None and finals != frames["accepted"]:  # running services may have other senders
            problems.append(f"the transmitter ended {finals} frames of {frames['accepted']} accepted: {frames}")
        timed_out = link["losses"].get(LossReason.ACK_TIMEOUT.value, 0)
        if link["stray_acks"] > timed_out:  # a late ack for a frame that had timed out is not a second answer
            problems.append(f"the transmitter got {link['stray_acks']} ack(s) for frames not waiting for one")
    for name, m in memory.items():
        if m["growth_pct"] is not None and m["growth_pct"] > config.max_growth_pct:
            problems.append(f"{name} RSS grew {m['growth_pct']:.1f}% after warm-up "
                            f"(more than --max-growth {config.max_growth_pct:g}%)")
    return {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "elapsed_s": elapsed_s,
        "achieved_fps": summary["accepted"] / duration,
        "warmup_s": warmup_s,
        "frames": summary,
        "uploads": dict(traffic.uploads),
        "upload_seconds": _quantiles(traffic.upload_s),
        "tasks": dict(traffic.tasks),
        "receiver_events": {"by_type": dict(answers.by_type), "answered_twice": len(answers.answered_twice),
                            "subscriptions": answers.subscriptions},
        "transmitter": None if transmitter is None else {"frames": transmitter["frames"],
                                                         "lost_reasons": transmitter["lost_reasons"],
                                                         "reconnects": transmitter["link"]["reconnects"],
                                                         "stray_acks": transmitter["link"]["stray_acks"]},
        "memory": memory,
        "timeline": timeline.frames,
        "errors": errors + traffic.errors,
        "problems": problems,
        "passed": not problems,
    }


def _quantiles(values: list[float]) -> dict:
    """p50/p90/max of ``values`` (empty: ``{}``)."""
    if not values:
        return {}
    ordered = sorted(values)
    return {"p50": ordered[len(ordered) // 2], "p90": ordered[int(0.9 * (len(ordered) - 1))], "max": ordered[-1]}


def plot(report: dict, path: Path) -> None:
    """RSS of each service over time (top) and frames accepted / delivered / lost (bottom), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    for name, m in report["memory"].items():
        if m["samples"]:
            t, kib = zip(*m["samples"])
            growth = f" ({m['growth_pct']:+.1f}% after warm-up)" if m["growth_pct"] is not None else ""
            top.plot(t, [k / 1024 for k in kib], label=name + growth)
    top.axvline(report["warmup_s"], color="grey", linestyle=":", label="end of warm-up")
    top.set_ylabel("RSS (MiB)")
    top.legend(fontsize=8)
    top.set_title(f"semlink soak: {report['config']['fps']:g} fps, loss {report['config']['loss']:g}, "
                  f"{'passed' if report['passed'] else 'FAILED'}")
    if report["timeline"]:
        t = [row["t"] for row in report["timeline"]]
        for key in ("accepted", "delivered", "lost"):
            bottom.plot(t, [row[key] for row in report["timeline"]], label=key)
    bottom.set_xlabel("seconds")
    bottom.set_ylabel("frames")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

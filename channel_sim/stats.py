"""What the proxy did, twice over: resettable counts for ``GET /v1/stats`` and monotonic Prometheus metrics."""

from __future__ import annotations

import bisect
from collections import Counter

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client import Counter as PromCounter

from semlink.channel import ChannelReport

DELAY_BUCKETS_MS = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)


class DelayHistogram:
    """Counts of added delays in fixed buckets (``le`` in ms) plus mean and max."""

    def __init__(self) -> None:
        self.counts = [0] * (len(DELAY_BUCKETS_MS) + 1)
        self.total_ms = 0.0
        self.max_ms = 0.0

    def add(self, ms: float) -> None:
        self.counts[bisect.bisect_left(DELAY_BUCKETS_MS, ms)] += 1
        self.total_ms += ms
        self.max_ms = max(self.max_ms, ms)

    def to_dict(self) -> dict:
        n = sum(self.counts)
        labels = [f"le_{b:g}ms" for b in DELAY_BUCKETS_MS] + ["gt_5000ms"]
        return {
            "count": n,
            "mean_ms": self.total_ms / n if n else 0.0,
            "max_ms": self.max_ms,
            "buckets": dict(zip(labels, self.counts)),
        }


class ProxyStats:
    """Counts since start or the last ``POST /v1/channel/reset``."""

    def __init__(self) -> None:
        self.report = ChannelReport()
        self.frames: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()  # {wire_bytes,datagram_bytes,datagrams}_{in,out}; wire: with overhead
        self.acks: Counter[str] = Counter()
        self.delay = DelayHistogram()

    def to_dict(self) -> dict:
        r = self.report
        return {
            "frames": {k: self.frames[k] for k in ("in", "rejected", "forwarded", "erased", "duplicated",
                                                    "reordered", "lost_upstream", "lost_delay_line")},
            **{name: {d: self.bytes[f"{name}_{d}"] for d in ("in", "out")}
               for name in ("wire_bytes", "datagram_bytes", "datagrams")},
            "packets": {
                "in": r.packets_in,
                "out": r.packets_delivered,
                "dropped": r.packets_dropped,
                "corrupted": r.packets_corrupted,
            },
            "bits": {"total": r.bits_total, "flipped": r.bits_flipped},
            "realised_loss_rate": r.realised_loss_rate,
            "realised_ber": r.realised_ber,
            "delay": self.delay.to_dict(),
            "acks": dict(self.acks),
        }


class ProxyMetrics:
    """Prometheus instruments in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.frames = PromCounter("semlink_ch_frames", "Frames by event (each frame of a packed group)", ["event"], registry=r)
        self.packets = PromCounter("semlink_ch_packets", "Packets by event", ["event"], registry=r)
        self.bits = PromCounter("semlink_ch_bits", "Payload bits exposed and flipped", ["event"], registry=r)
        self.acks = PromCounter("semlink_ch_acks", "Acks relayed to transmitters, by status", ["status"], registry=r)
        self.wire_bytes = PromCounter("semlink_ch_wire_bytes", "Frame bytes in and out (forwarded), each datagram's "
                                      "and its transport overhead (datagram_overhead)", ["direction"], registry=r)
        self.datagrams = PromCounter("semlink_ch_datagrams", "Datagrams in and out (forwarded)", ["direction"],
                                     registry=r)
        self.datagram_overhead = Gauge("semlink_ch_datagram_overhead", "Transport bytes counted per datagram now",
                                       registry=r)
        self.delay = Histogram("semlink_ch_delay_seconds", "Delay the proxy added per frame message",
                               buckets=[b / 1000 for b in DELAY_BUCKETS_MS[1:]], registry=r)
        self.upstream_connected = Gauge("semlink_ch_upstream_connected", "1 while the upstream channel is ready",
                                        registry=r)
        self.upstream_queue = Gauge("semlink_ch_upstream_queue", "Frames waiting for upstream", registry=r)

    def observe_report(self, report: ChannelReport) -> None:
        self.packets.labels("in").inc(report.packets_in)
        self.packets.labels("dropped").inc(report.packets_dropped)
        self.packets.labels("corrupted").inc(report.packets_corrupted)
        self.bits.labels("total").inc(report.bits_total)
        self.bits.labels("flipped").inc(report.bits_flipped)

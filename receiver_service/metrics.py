"""Prometheus metrics of one receiver, in their own registry (several receivers can share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from semlink.receiver import AckOutcome, BatchTiming, ReceivedFrame

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class ReceiverMetrics:
    """Frames by outcome, packets lost, task queue/compute time, batch sizes, store size."""

    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.frames = Counter("semlink_rx_frames", "Frames finished, by ack status (ok, partial, rejected) "
                              "and reason", ["outcome", "reason"], registry=r)
        self.sessions = Counter("semlink_rx_sessions", "Stream sessions opened, by outcome (accepted or the "
                                "refusal's reason)", ["outcome"], registry=r)
        self.packets = Counter("semlink_rx_packets", "Packets of stored frames, by fate (received, missing, "
                               "corrupted)", ["fate"], registry=r)
        self.wire_bytes = Counter("semlink_rx_wire_bytes", "Bytes of the packets that arrived for stored frames "
                                  "(headers, payloads and checks) and the transport overhead of each datagram",
                                  registry=r)
        self.datagrams = Counter("semlink_rx_datagrams", "Datagrams that arrived for stored frames", registry=r)
        self.payload_bytes = Counter("semlink_rx_payload_bytes", "Packet payload bytes of stored frames", registry=r)
        self.decode_seconds = Histogram("semlink_rx_decode_seconds", "Decompression time per frame",
                                        buckets=LATENCY_BUCKETS, registry=r)
        self.queue_seconds = Histogram("semlink_rx_task_queue_seconds", "Time a task request waited for its batch",
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.compute_seconds = Histogram("semlink_rx_task_compute_seconds", "Model time per batch (generate + "
                                         "post-processing)", buckets=LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("semlink_rx_batch_size", "Task requests per model call", buckets=BATCH_BUCKETS,
                                    registry=r)
        self.tasks = Counter("semlink_rx_tasks", "Task requests, by task and outcome", ["task", "outcome"],
                             registry=r)
        self.store_frames = Gauge("semlink_rx_store_frames", "Frames in the feature store", registry=r)
        self.store_evictions = Counter("semlink_rx_store_evictions", "Frames evicted from the store", registry=r)
        self.pending_frames = Gauge("semlink_rx_pending_frames", "Frames still reassembling", registry=r)
        self.event_subscribers = Gauge("semlink_rx_event_subscribers", "Subscribers of GET /v1/events", registry=r)
        self.events_dropped = Gauge("semlink_rx_events_dropped", "Events dropped for subscribers that read too slowly "
                                    "(each keeps its newest), since start", registry=r)

    def frame_finished(self, outcome: AckOutcome, frame: ReceivedFrame | None) -> None:
        self.frames.labels(outcome.status, outcome.reason or "none").inc()
        if frame is not None:
            self.packets.labels("received").inc(frame.packets - frame.packets_lost)
            self.packets.labels("missing").inc(frame.packets_missing)
            self.packets.labels("corrupted").inc(frame.packets_corrupted)
            self.wire_bytes.inc(frame.wire_bytes)
            self.datagrams.inc(frame.datagrams)
            self.payload_bytes.inc(frame.payload_bytes)
            self.decode_seconds.observe(frame.decode_ms / 1000)

    def batch_done(self, timings: list[BatchTiming]) -> None:
        self.batch_size.observe(len(timings))
        self.compute_seconds.observe(timings[0].compute_s)
        for t in timings:
            self.queue_seconds.observe(t.queue_s)

"""The transmitter's Prometheus instruments, in a registry of their own (one per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class TransmitterMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.frames = Counter("semlink_tx_frames", "Frames by what happened to them", ["event"], registry=r)
        self.uploads_refused = Counter(
            "semlink_tx_uploads_refused", "Uploads refused, by reason", ["reason"], registry=r
        )
        self.payload_bytes = Counter("semlink_tx_payload_bytes", "Coded payload bytes of frames put on the wire",
                                     registry=r)
        self.wire_bytes = Counter("semlink_tx_wire_bytes", "Every byte of every packet put on the wire (headers, "
                                  "payloads and checks) and each datagram's transport overhead, counted when the "
                                  "frame's ack (or loss) says which overhead the link counted", registry=r)
        self.datagrams = Counter("semlink_tx_datagrams", "Datagrams put on the wire, counted with wire_bytes",
                                 registry=r)
        self.batch_size = Histogram(
            "semlink_tx_batch_size", "Images per encoder batch", buckets=(1, 2, 4, 8, 16, 32, 64), registry=r
        )
        self.encode_seconds = Histogram("semlink_tx_encode_seconds", "Vision tower + codec time per batch", registry=r)
        self.ack_seconds = Histogram("semlink_tx_ack_seconds", "Time from the wire to the ack", registry=r)
        self.queue_depth = Gauge("semlink_tx_queue_depth", "Images waiting for the encoder", registry=r)
        self.link_connected = Gauge("semlink_tx_link_connected", "1 while the gRPC channel is ready", registry=r)
        self.reconnects = Gauge("semlink_tx_reconnects", "Stream reconnects since start", registry=r)
        self.ready = Gauge("semlink_tx_ready", "1 once the model and codec are loaded", registry=r)

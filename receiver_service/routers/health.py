"""``/health/live``, ``/health/ready`` and ``/metrics`` (Prometheus): the receiver's probes on the shared routes."""

from __future__ import annotations

from fastapi import Request

from receiver_service.deps import get_receiver
from receiver_service.schemas import Health
from semlink.http.health import health_routes


def live(request: Request) -> tuple[bool, dict]:
    """200 while the process works (also while loading); 503 once startup has failed: restart it."""
    receiver = get_receiver(request)
    if receiver.failed:
        return False, {"status": "failed", "detail": receiver.failed}
    return True, {"status": "live", "detail": ""}


def ready(request: Request) -> tuple[bool, dict]:
    """200 once the model is loaded and gRPC ingest is up."""
    receiver = get_receiver(request)
    if receiver.ready:
        return True, {"status": "ready", "detail": f"gRPC on port {receiver.grpc_port}"}
    return False, {"status": "not ready", "detail": receiver.failed or "loading the model"}


router = health_routes(ready, lambda request: get_receiver(request).metrics.registry, live=live, model=Health,
                       tags=["health"])

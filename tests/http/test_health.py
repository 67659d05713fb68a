"""The shared health routes answer each probe's body with 200 or 503, and serve the service's registry."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Counter

from semlink.http.health import health_routes


def test_probes_decide_the_status_and_metrics_serve_the_registry():
    registry = CollectorRegistry()
    Counter("probe_calls", "calls", registry=registry).inc(3)
    state = {"ready": False}
    app = FastAPI()
    app.include_router(health_routes(lambda request: (state["ready"], {"ready": state["ready"]}),
                                     lambda request: registry))
    with TestClient(app) as client:
        assert client.get("/health/live").json() == {"status": "live"}
        not_ready = client.get("/health/ready")
        assert (not_ready.status_code, not_ready.json()) == (503, {"ready": False})
        state["ready"] = True
        assert client.get("/health/ready").status_code == 200
        assert "probe_calls_total 3.0" in client.get("/metrics").text
        assert "/metrics" not in app.openapi()["paths"]

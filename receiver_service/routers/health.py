"""``/health/live``, ``/health/ready`` and ``/metrics`` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from receiver_service.deps import ReceiverDep
from receiver_service.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health/live", response_model=Health, responses={503: {"model": Health}})
async def live(receiver: ReceiverDep):
    """200 while the process works (also while loading); 503 once startup has failed: restart it."""
    if receiver.failed:
        return JSONResponse({"status": "failed", "detail": receiver.failed}, status_code=503)
    return Health(status="live")


@router.get("/health/ready", response_model=Health, responses={503: {"model": Health}})
async def ready(receiver: ReceiverDep):
    """200 once the model is loaded and gRPC ingest is up."""
    if receiver.ready:
        return Health(status="ready", detail=f"gRPC on port {receiver.grpc_port}")
    detail = receiver.failed or "loading the model"
    return JSONResponse({"status": "not ready", "detail": detail}, status_code=503)


@router.get("/metrics", include_in_schema=False)
async def metrics(receiver: ReceiverDep) -> Response:
    return Response(generate_latest(receiver.metrics.registry), media_type=CONTENT_TYPE_LATEST)

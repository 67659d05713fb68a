"""channel_sim's REST control, in Toxiproxy's manner: read and change the channel live, reset, stats (``router``);
health and metrics (``health_router``), which stay open when an API token guards the rest."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import ValidationError

from channel_sim.proxy import Proxy
from channel_sim.spec import ChannelChange, ChannelSpec
from semlink.http.errors import error_responses
from semlink.http.health import health_routes
from semlink.http.serve import validation_detail

router = APIRouter()


def get_proxy(request: Request) -> Proxy:
    return request.app.state.proxy


ProxyDep = Annotated[Proxy, Depends(get_proxy)]


@router.get("/v1/channel")
async def get_channel(proxy: ProxyDep):
    """The channel now: every ChannelSpec field, plus the expected loss rate and effective BER it implies."""
    return proxy.describe()


@router.put("/v1/channel", responses=error_responses(
    400, 409, 422, e409="the change is fine by itself but makes no channel with the fields it keeps (e.g. loss "
                        "while loss_model is gilbert_elliott, ber while snr_db is set); send those fields too",
    e422="an unknown field, a value of the wrong type or out of range, or fields that make no channel together "
         "(e.g. loss with loss_model gilbert_elliott); the detail names the field"))
async def put_channel(proxy: ProxyDep, changes: ChannelChange):
    """Change the fields given (the rest keep their values); the whole result is validated first."""
    try:
        spec = ChannelSpec(**{**proxy.spec.spec_dict(), **changes.model_dump(exclude_unset=True)})
    except ValidationError as err:  # the change alone was valid: it clashes with the fields it keeps
        raise HTTPException(409, f"{validation_detail(err)}; the channel now: GET /v1/channel") from None
    proxy.configure(spec)
    return proxy.describe()


@router.post("/v1/channel/reset")
async def reset_channel(proxy: ProxyDep):
    """Back to the channel the service started with, random streams rewound, stats zeroed."""
    proxy.reset()
    return proxy.describe()


@router.get("/v1/stats")
async def stats(proxy: ProxyDep):
    return proxy.stats_dict()


def ready(request: Request) -> tuple[bool, dict]:
    """200 once the gRPC proxy serves; the body says whether the upstream is connected."""
    proxy = get_proxy(request)
    body = {"grpc_port": request.app.state.grpc_port, "upstream": proxy.upstream,
            "upstream_connected": proxy.upstream_connected}
    if not request.app.state.serving:
        return False, {**body, "ready": False, "detail": "gRPC server not started"}
    return True, {**body, "ready": True}


health_router = health_routes(ready, lambda request: get_proxy(request).metrics.registry)

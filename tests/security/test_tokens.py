"""Bearer tokens on the REST APIs of real services (in this process, on loopback): /v1 routes need the token
(401 with WWW-Authenticate otherwise), health and metrics stay open unless PROTECT_HEALTH, an unset or empty
token leaves a service open, tokens are compared in constant time, and the OpenAPI shows the scheme."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import SecretStr

from channel_sim.main import create_app as channel_app
from channel_sim.settings import ChannelSimSettings
from receiver_service.settings import ReceiverSettings
from semlink.http.serve import parse_settings
from semlink.launch.ports import free_port
from tests.helpers.link import serving
from semlink.http import tokens
from transmitter_service.settings import TransmitterSettings

pytestmark = pytest.mark.timeout(60)

TOKEN = "tok-3f9a"


def channel_settings(**overrides) -> ChannelSimSettings:
    return ChannelSimSettings(host="127.0.0.1", grpc_port=0, upstream=f"127.0.0.1:{free_port()}", **overrides)


def calls(settings: ChannelSimSettings, *requests: tuple) -> list[httpx.Response]:
    """``requests`` (method, path, headers[, json]) answered by a real channel_sim started with ``settings``."""
    async def main():
        async with serving(channel_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
            return [await client.request(method, path, headers=headers, json=body[0] if body else None)
                    for method, path, headers, *body in requests]

    return asyncio.run(asyncio.wait_for(main(), 30))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_control_api_needs_the_token_and_says_how():
    missing, wrong, basic, right, put = calls(
        channel_settings(api_token=TOKEN),
        ("GET", "/v1/channel", {}),
        ("GET", "/v1/channel", bearer(TOKEN + "x")),
        ("GET", "/v1/channel", {"Authorization": f"Basic {TOKEN}"}),
        ("GET", "/v1/channel", bearer(TOKEN)),
        ("PUT", "/v1/channel", bearer(TOKEN), {"loss": 0.25}),
    )
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert "missing bearer token" in missing.json()["detail"]
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert basic.status_code == 401
    assert right.status_code == 200 and put.status_code == 200 and put.json()["loss"] == 0.25


def test_a_refused_change_is_not_applied():
    refused, after = calls(channel_settings(api_token=TOKEN),
                           ("PUT", "/v1/channel", {}, {"loss": 0.5}), ("GET", "/v1/channel", bearer(TOKEN)))
    assert refused.status_code == 401 and after.json()["loss"] == 0.0


def test_health_and_metrics_stay_open_unless_protected():
    live, ready, metrics, stats = calls(channel_settings(api_token=TOKEN), ("GET", "/health/live", {}),
                                        ("GET", "/health/ready", {}), ("GET", "/metrics", {}),
                                        ("GET", "/v1/stats", {}))
    assert (live.status_code, ready.status_code, metrics.status_code, stats.status_code) == (200, 200, 200, 401)
    live, metrics, live_ok = calls(channel_settings(api_token=TOKEN, protect_health=True),
                                   ("GET", "/health/live", {}), ("GET", "/metrics", {}),
                                   ("GET", "/health/live", bearer(TOKEN)))
    assert (live.status_code, metrics.status_code, live_ok.status_code) == (401, 401, 200)


@pytest.mark.parametrize("token", [None, ""])
def test_no_token_leaves_the_service_open(token):
    (channel,) = calls(channel_settings(api_token=token), ("GET", "/v1/channel", {}))
    assert channel.status_code == 200
    assert "securitySchemes" not in channel_app(channel_settings(api_token=token)).openapi().get("components", {})


def test_openapi_shows_the_bearer_scheme_on_guarded_routes_only():
    schema = channel_app(channel_settings(api_token=TOKEN)).openapi()
    assert schema["components"]["securitySchemes"][tokens.SCHEME_NAME] == {
        "type": "http", "scheme": "bearer", "description": tokens.bearer_scheme.model.description}
    assert schema["paths"]["/v1/channel"]["put"]["security"] == [{tokens.SCHEME_NAME: []}]
    assert "401" in schema["paths"]["/v1/channel"]["put"]["responses"]
    assert "security" not in schema["paths"]["/health/live"]["get"]


def test_tokens_are_compared_in_constant_time(monkeypatch):
    compared = []

    def compare_digest(a, b):
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(tokens.hmac, "compare_digest", compare_digest)
    wrong, right = calls(channel_settings(api_token=TOKEN), ("GET", "/v1/stats", bearer("nope")),
                         ("GET", "/v1/stats", bearer(TOKEN)))
    assert (wrong.status_code, right.status_code) == (401, 200)
    assert compared == [(b"nope", TOKEN.encode()), (TOKEN.encode(), TOKEN.encode())]


@pytest.mark.parametrize("settings_cls, prefix", [
    (ReceiverSettings, "SEMLINK_RX_"), (TransmitterSettings, "SEMLINK_TX_"), (ChannelSimSettings, "SEMLINK_CH_")])
def test_each_service_reads_its_token_from_env_and_flags_without_showing_it(settings_cls, prefix, monkeypatch):
    monkeypatch.setenv(f"{prefix}API_TOKEN", "from-env")
    from_env = settings_cls()
    assert tokens.token_value(from_env.api_token) == "from-env" and "from-env" not in repr(from_env)
    from_flag = parse_settings(settings_cls, ["--api-token", "from-flag", "--protect-health"], "svc", "")
    assert tokens.token_value(from_flag.api_token) == "from-flag" and from_flag.protect_health
    monkeypatch.setenv(f"{prefix}API_TOKEN", "")
    assert tokens.token_value(settings_cls().api_token) is None


def test_a_guard_needs_a_token():
    assert tokens.guarded(None) == {} and tokens.guarded(SecretStr("")) == {}
    with pytest.raises(ValueError, match="non-empty token"):
        tokens.BearerToken("")

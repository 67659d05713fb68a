"""schemathesis against the three services' real apps: every answer is one the OpenAPI documents (status, body
schema, headers), invalid requests are refused, valid ones accepted, unserved methods get 405 with the true
``Allow``, and the bearer token is enforced where the schema says so. Zero failures across its checks."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from contract_apps import AUTH, CHANNEL, RECEIVER, TRANSMITTER, openapi_schema
from receiver_service.schemas import MAX_WAIT_MS

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
# a task request waits up to wait_ms for its (never arriving) frame; valid waits are cut so the run stays short
SHORT_WAIT_MS = 20
# the event feed never ends: its call reads for this long, then checks what came
EVENTS_TIMEOUT_S = 0.3

receiver = openapi_schema(RECEIVER)
transmitter = openapi_schema(TRANSMITTER)
channel = openapi_schema(CHANNEL)


def shorten_wait(case) -> None:
    body = case.body
    if isinstance(body, dict) and type(body.get("wait_ms")) is int and 0 <= body["wait_ms"] <= MAX_WAIT_MS:
        body["wait_ms"] = min(body["wait_ms"], SHORT_WAIT_MS)


@receiver.parametrize()
@SETTINGS
def test_receiver_contract(case, receiver_url):
    shorten_wait(case)
    timeout = EVENTS_TIMEOUT_S if case.path == "/v1/events" else 20
    case.call_and_validate(base_url=receiver_url, headers=AUTH, timeout=timeout)


@transmitter.parametrize()
@SETTINGS
def test_transmitter_contract(case, transmitter_url):
    case.call_and_validate(base_url=transmitter_url, headers=AUTH, timeout=20)


@channel.parametrize()
@SETTINGS
def test_channel_sim_contract(case, channel_url):
    case.call_and_validate(base_url=channel_url, headers=AUTH, timeout=20)

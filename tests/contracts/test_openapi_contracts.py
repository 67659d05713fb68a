"""schemathesis against the three services' real apps: every answer is one the OpenAPI documents (status, body
schema, headers), invalid requests are refused, valid ones accepted, unserved methods get 405 with the true
``Allow``, and the bearer token is enforced where the schema says so. Every check runs (``--checks all``); zero
failures across them."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks

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


# what positive-data acceptance takes everywhere (auth, a frame not there, a clash with the state, a full queue) and
# the few operations that may refuse schema-valid data for what no schema can say (contract_apps.CONFIG says why)
ACCEPTED = {"2xx", "401", "404", "409", "429"}
BEYOND_A_SCHEMA = {"POST /v1/frames": {"415", "422"}, "POST /v1/frames/{frame_id}/tasks": {"422"},
                   "PUT /v1/source": {"422"}}


def test_every_check_runs_and_only_what_no_schema_can_say_is_excused():
    load_all_checks()
    excused = {}
    for schema in (receiver, transmitter, channel):
        for result in schema.get_all_operations():
            operation = result.ok()
            config = schema.config.checks_config_for(operation=operation)
            assert [check for check in CHECKS.get_all() if not config.get_by_name(name=check.__name__).enabled] == []
            statuses = set(config.positive_data_acceptance.expected_statuses)
            assert statuses >= ACCEPTED, operation.label
            if statuses - ACCEPTED:
                excused[operation.label] = statuses - ACCEPTED
    assert excused == BEYOND_A_SCHEMA


def shorten_wait(case) -> None:
    body = case.body
    wait = body.get("wait_ms") if isinstance(body, dict) else None
    if type(wait) in (int, float) and float(wait).is_integer() and 0 <= wait <= MAX_WAIT_MS:  # 20.0 is 20 in JSON
        body["wait_ms"] = min(wait, SHORT_WAIT_MS)


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

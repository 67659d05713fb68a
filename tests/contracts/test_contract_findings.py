"""What an earlier schemathesis run found, each held by a direct test: 422 bodies whose ``detail`` is a string
while the schema said an array; unknown fields refused where the schema allowed them; ``"wait_ms": false`` taken
as a number; 400/415/422 answers the OpenAPI did not list; ``OPTIONS /v1/channel`` answering ``Allow: GET``."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from contract_apps import AUTH, CHANNEL, RECEIVER, TRANSMITTER
from semlink.http.errors import ERROR_SCHEMA, add_error_handlers

pytestmark = pytest.mark.timeout(60)


def call(app, method: str, path: str, **kw) -> httpx.Response:
    """One request to ``app`` in process, without starting it (validation and routing answer before any handler)."""
    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client:
            return await client.request(method, path, **kw)

    return asyncio.run(main())


def resolve(schema: dict, node: dict) -> dict:
    ref = node.get("$ref")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else node


@pytest.mark.parametrize("app", [RECEIVER, TRANSMITTER, CHANNEL], ids=["receiver", "transmitter", "channel_sim"])
def test_every_documented_error_is_the_one_error_body(app):
    schema = app.openapi()
    errors = [(path, method, status, response) for path, ops in schema["paths"].items()
              for method, op in ops.items() for status, response in op["responses"].items() if status >= "400"]
    assert errors
    for path, method, status, response in errors:
        if path.startswith("/health"):
            continue  # health answers its own status body, 503 included
        body = resolve(schema, response["content"]["application/json"]["schema"])
        assert body["title"] == "ErrorBody", (method, path, status)
        assert body["properties"]["detail"]["type"] == "string" and body["required"] == ["detail"]
    assert "HTTPValidationError" not in schema.get("components", {}).get("schemas", {})


def test_a_422_sends_the_documented_string_detail():
    response = call(RECEIVER, "POST", "/v1/frames/1/tasks", json={"task": "<CAPTION>", "wait_ms": False},
                    headers=AUTH)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str) and "wait_ms" in response.json()["detail"]


@pytest.mark.parametrize("app, path, component", [
    (RECEIVER, "/v1/frames/{frame_id}/tasks", "post"), (CHANNEL, "/v1/channel", "put")])
def test_request_bodies_document_that_unknown_fields_are_refused(app, path, component):
    schema = app.openapi()
    body = resolve(schema, schema["paths"][path][component]["requestBody"]["content"]["application/json"]["schema"])
    assert body["additionalProperties"] is False


@pytest.mark.parametrize("body, field", [({"loss": False}, "loss"), ({"seed": "3"}, "seed"),
                                         ({"loss": 0.1, "lost": 0.2}, "lost")])
def test_channel_changes_are_as_strict_as_documented(body, field, channel_url):
    response = httpx.put(f"{channel_url}/v1/channel", json=body, headers=AUTH)
    assert response.status_code == 422 and field in response.json()["detail"]


@pytest.mark.parametrize("method", ["OPTIONS", "DELETE", "PATCH"])
def test_unserved_methods_get_405_with_every_method_the_path_serves(method):
    response = call(CHANNEL, method, "/v1/channel")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "PUT"}


@pytest.mark.parametrize("app, path, method, statuses", [
    (TRANSMITTER, "/v1/frames", "post", {"400", "401", "413", "415", "422", "429", "503"}),
    (RECEIVER, "/v1/frames/{frame_id}/tasks", "post", {"400", "401", "404", "413", "422", "500", "503"}),
    (CHANNEL, "/v1/channel", "put", {"400", "401", "422"}),
])
def test_the_statuses_a_route_answers_are_documented(app, path, method, statuses):
    assert statuses <= set(app.openapi()["paths"][path][method]["responses"])


def test_a_route_that_lists_no_error_bodies_still_documents_the_one_error_body():
    app = FastAPI()
    add_error_handlers(app)

    @app.get("/items/{number}", responses={404: {"description": "no such item"}})
    async def item(number: int) -> dict:
        return {"number": number}

    schema = app.openapi()
    for status in ("404", "422"):  # listed without a body; not listed (FastAPI's own)
        documented = schema["paths"]["/items/{number}"]["get"]["responses"][status]["content"]["application/json"]
        assert documented["schema"] == ERROR_SCHEMA, status
    assert "HTTPValidationError" not in schema.get("components", {}).get("schemas", {})
    sent = call(app, "GET", "/items/seven")
    assert sent.status_code == 422 and isinstance(sent.json()["detail"], str)


JSON_BODY_ROUTES = [(app, path, method) for app in (RECEIVER, TRANSMITTER, CHANNEL)
                    for path, ops in app.openapi()["paths"].items() for method, op in ops.items()
                    if "application/json" in op.get("requestBody", {}).get("content", {})]


@pytest.mark.parametrize("app, path, method", JSON_BODY_ROUTES,
                         ids=[f"{method.upper()} {path}" for _, path, method in JSON_BODY_ROUTES])
def test_every_json_body_route_documents_what_a_broken_body_gets(app, path, method):
    # a fresh CI run found PUT /v1/source and PUT /v1/comparison answering an unparseable body 400 undocumented
    assert {"400", "422"} <= set(app.openapi()["paths"][path][method]["responses"]), (method, path)


def test_json_body_routes_exist_in_every_app():
    assert {id(app) for app, _, _ in JSON_BODY_ROUTES} == {id(RECEIVER), id(TRANSMITTER), id(CHANNEL)}


@pytest.mark.parametrize("path", ["/v1/comparison", "/v1/source"])
def test_a_body_that_is_not_json_is_the_documented_400(path):
    response = call(TRANSMITTER, "PUT", path, content=b"\x81EeWZ;\x9f", headers={**AUTH,
                                                                            "content-type": "application/json"})
    assert response.status_code == 400 and isinstance(response.json()["detail"], str)

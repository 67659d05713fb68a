"""What earlier schemathesis runs found, each held by a direct test: 422 bodies whose ``detail`` is a string
while the schema said an array; unknown fields refused where the schema allowed them; ``"wait_ms": false`` taken
as a number; 400/415/422 answers the OpenAPI did not list; ``OPTIONS /v1/channel`` answering ``Allow: GET``;
schema-valid requests refused (a multipart upload without its file, a video source with an empty path, a form of
many fields, ``ber`` with ``snr_db``, ``<CAPTION>`` with a text): each rule is now in the schema, and the server
refuses exactly what the schema forbids."""

from __future__ import annotations

import asyncio
import re

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


def shapes(schema: dict, node: dict) -> list[dict]:
    """The object schemas a body may take: ``node`` itself, or each ``oneOf`` variant."""
    body = resolve(schema, node)
    return [resolve(schema, variant) for variant in body["oneOf"]] if "oneOf" in body else [body]


def request_shapes(app, path: str, method: str) -> list[dict]:
    schema = app.openapi()
    return shapes(schema, schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"])


@pytest.mark.parametrize("app, path, component", [
    (RECEIVER, "/v1/frames/{frame_id}/tasks", "post"), (CHANNEL, "/v1/channel", "put"),
    (TRANSMITTER, "/v1/source", "put"), (TRANSMITTER, "/v1/comparison", "put")])
def test_request_bodies_document_that_unknown_fields_are_refused(app, path, component):
    for body in request_shapes(app, path, component):
        assert body["additionalProperties"] is False, body["title"]


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
    (CHANNEL, "/v1/channel", "put", {"400", "401", "409", "422"}),
    (TRANSMITTER, "/v1/source", "put", {"400", "401", "409", "422", "503"}),
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


# --- each rule a server holds a body to by itself is in its schema, and refused as the schema says ---------------

def test_task_bodies_take_one_shape_per_kind_of_task():
    without, with_text = request_shapes(RECEIVER, "/v1/frames/{frame_id}/tasks", "post")
    assert "<CAPTION>" in without["properties"]["task"]["enum"] and "task" not in without.get("required", [])
    assert {"type": "string", "maxLength": 0} in without["properties"]["text"]["anyOf"]
    assert "<CAPTION_TO_PHRASE_GROUNDING>" in with_text["properties"]["task"]["enum"]
    assert set(with_text["required"]) == {"task", "text"} and with_text["properties"]["text"]["minLength"] == 1
    assert not set(without["properties"]["task"]["enum"]) & set(with_text["properties"]["task"]["enum"])


@pytest.mark.parametrize("body, words", [
    ({"task": "<CAPTION>", "text": "a cat"}, "takes no text"),
    ({"task": "<CAPTION_TO_PHRASE_GROUNDING>"}, "needs a text"),
    ({"task": "<CAPTION_TO_PHRASE_GROUNDING>", "text": ""}, "needs a text"),
    ({"task": "<MAKE_COFFEE>"}, "<CAPTION>"),
])
def test_a_task_body_of_the_wrong_shape_is_422_saying_why(body, words):
    response = call(RECEIVER, "POST", "/v1/frames/1/tasks", json=body, headers=AUTH)
    assert response.status_code == 422 and words in response.json()["detail"]


@pytest.mark.parametrize("body", [{}, {"task": "<OD>", "text": None}, {"task": "<OD>", "text": ""},
                                  {"task": "<REGION_TO_OCR>", "text": "<loc_1><loc_2><loc_3><loc_4>"}])
def test_task_bodies_the_page_and_clients_send_pass_validation(body):
    # the receiver is not started here: a body that passes validation meets the 503 of a receiver still loading
    assert call(RECEIVER, "POST", "/v1/frames/1/tasks", json=body, headers=AUTH).status_code == 503


def test_source_bodies_take_one_shape_per_kind():
    kinds = {body["properties"]["kind"]["const"] if "const" in body["properties"]["kind"]
             else body["properties"]["kind"]["enum"][0]: body
             for body in request_shapes(TRANSMITTER, "/v1/source", "put")}
    assert set(kinds) == {"shapes", "folder", "video", "none"}
    for kind in ("folder", "video"):
        assert "path" in kinds[kind]["required"] and kinds[kind]["properties"]["path"]["minLength"] == 1


@pytest.mark.parametrize("body", [{"kind": "video", "path": ""}, {"kind": "folder"}, {"kind": "video", "path": None}])
def test_a_folder_or_video_source_without_a_path_is_422_saying_so(body, transmitter_url):
    response = httpx.put(f"{transmitter_url}/v1/source", json=body, headers=AUTH)
    assert response.status_code == 422 and "needs a path" in response.json()["detail"]


def test_a_source_switch_keeps_working(transmitter_url):
    for body in ({"kind": "shapes", "fps": 2.0, "paused": True}, {}):
        response = httpx.put(f"{transmitter_url}/v1/source", json=body, headers=AUTH)
        assert response.status_code == 200, response.text
        assert response.json()["kind"] == body.get("kind", "none")


def test_an_upload_documents_its_one_required_file_part():
    form = TRANSMITTER.openapi()["paths"]["/v1/frames"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert form["schema"]["required"] == ["file"] and form["schema"]["additionalProperties"] is False


@pytest.mark.parametrize("files, data, words", [
    ({"note": (None, b"x")}, None, "no file field 'file'"),
    ({"file": ("a.png", b"\x89PNG")}, {"note": "x"}, "drop note"),
    ({"file": ("a.png", b"\x89PNG")}, {f"f{i}": "x" for i in range(9)}, "Too many fields"),
])
def test_an_upload_of_other_parts_is_refused_saying_why(files, data, words, transmitter_url):
    response = httpx.post(f"{transmitter_url}/v1/frames", files=files, data=data, headers=AUTH)
    assert response.status_code in (400, 422) and words in response.json()["detail"], response.text


def test_a_comparison_reference_is_documented_by_its_pattern(transmitter_url):
    body = request_shapes(TRANSMITTER, "/v1/comparison", "put")[0]
    pattern = re.compile(body["properties"]["reference"]["anyOf"][0]["pattern"])
    assert all(pattern.fullmatch(ref) for ref in ("fp16", "avif:20", "webp@32:60", "avif-s0:20", "jpeg:100"))
    assert not any(pattern.fullmatch(ref) for ref in ("pixels-avif", "webp-s0:20", "avif:101", "jpeg@7:50", "fp32"))
    response = httpx.put(f"{transmitter_url}/v1/comparison", json={"enabled": False, "reference": "avif:101"},
                         headers=AUTH)
    assert response.status_code == 422 and "reference" in response.json()["detail"]


def test_channel_changes_document_the_fields_that_go_together():
    change = request_shapes(CHANNEL, "/v1/channel", "put")[0]
    forbidden = [rule["not"]["required"] for rule in change["allOf"]]
    assert ["ber", "snr_db"] in forbidden and ["loss", "loss_model"] in forbidden
    assert {"const": 0} in change["properties"]["rate_kbps"]["anyOf"]


@pytest.mark.parametrize("body, words", [
    ({"ber": 1e-5, "snr_db": 3.0}, "not both"),
    ({"loss": 0.1, "loss_model": "gilbert_elliott"}, "Bernoulli"),
    ({"loss_model": "gilbert_elliott", "ge_p": 0, "ge_r": 0}, "never changes state"),
    ({"rate_kbps": 0.5}, "rate_kbps"),
])
def test_a_channel_change_that_contradicts_itself_is_422(body, words, channel_url):
    before = httpx.get(f"{channel_url}/v1/channel", headers=AUTH).json()
    response = httpx.put(f"{channel_url}/v1/channel", json=body, headers=AUTH)
    assert response.status_code == 422 and words in response.json()["detail"], response.text
    assert httpx.get(f"{channel_url}/v1/channel", headers=AUTH).json() == before


def test_a_channel_change_that_clashes_with_the_channel_now_is_409(channel_url):
    put = lambda body: httpx.put(f"{channel_url}/v1/channel", json=body, headers=AUTH)  # noqa: E731
    try:
        assert put({"snr_db": 5.0, "ber": None}).status_code == 200
        clash = put({"ber": 1e-4})
        assert clash.status_code == 409 and "not both" in clash.json()["detail"], clash.text
        assert httpx.get(f"{channel_url}/v1/channel", headers=AUTH).json()["snr_db"] == 5.0
        assert put({"ber": 1e-4, "snr_db": None}).status_code == 200  # the page's way: both fields, one null
        assert put({"loss_model": "gilbert_elliott", "ge_p": 0.1, "ge_r": 0.5, "loss": 0}).status_code == 200
        assert put({"loss": 0.2}).status_code == 409
    finally:
        httpx.post(f"{channel_url}/v1/channel/reset", headers=AUTH)

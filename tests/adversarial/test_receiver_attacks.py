"""Hostile REST requests to a real receiver: one bad request fails alone, and every error is a 4xx in JSON."""

from __future__ import annotations

import asyncio
import time

import pytest
from attack_helpers import run, strict_json

pytestmark = pytest.mark.timeout(60)

GROUNDING = "<CAPTION_TO_PHRASE_GROUNDING>"
# within the 2,048-character limit, over the tiny model's 256 positions (the "<loc_999>" x 227 overflows
# the 65 image tokens of shapes-tiny; tiny-random has 17)
HOSTILE_TEXTS = ["</s><pad>" * 200, "<loc_1>" * 250]


def test_a_prompt_over_the_token_limit_is_422_and_the_requests_beside_it_are_answered(running_receiver,
                                                                                      frame_message):
    async def main():
        async with running_receiver(max_batch=8, max_delay_ms=200) as (client, app, stub):
            await stub.Send(frame_message(1), timeout=10)
            url = f"/v1/frames/{frame_message.session.frame_id(1)}/tasks"
            ask = lambda **body: client.post(url, json=body)  # noqa: E731
            hostile = [ask(task=GROUNDING, text=text) for text in HOSTILE_TEXTS]
            ordinary = [ask(task="<CAPTION>") for _ in range(6)]
            responses = await asyncio.gather(*hostile, *ordinary)
            return responses[:2], responses[2:], app.state.receiver.bundle

    hostile, ordinary, bundle = run(main())
    limit = bundle.model.config.text_config.max_position_embeddings
    for response in hostile:
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert f"limit of {limit} tokens" in detail and "text" in detail, detail
    assert [r.status_code for r in ordinary] == [200] * 6, [r.text for r in ordinary]


def test_a_request_that_fails_inside_the_model_fails_alone(running_receiver, frame_message):
    """Past the checks (bypassed here), a request that breaks the model call is retried alone and fails alone."""

    async def main():
        async with running_receiver(max_batch=8, max_delay_ms=200) as (client, app, stub):
            await stub.Send(frame_message(2), timeout=10)
            app.state.receiver.runner.check = lambda task, text: None  # let the hostile text reach the batch
            url = f"/v1/frames/{frame_message.session.frame_id(2)}/tasks"
            ask = lambda **body: client.post(url, json=body)  # noqa: E731
            started = time.perf_counter()
            responses = await asyncio.gather(ask(task=GROUNDING, text=HOSTILE_TEXTS[0]),
                                             *(ask(task="<CAPTION>") for _ in range(6)))
            return responses, time.perf_counter() - started, app.state.receiver.batcher

    responses, elapsed, batcher = run(main())
    bad, ordinary = responses[0], responses[1:]
    assert bad.status_code == 500 and "IndexError" in bad.json()["detail"], bad.text
    assert [r.status_code for r in ordinary] == [200] * 6, [r.text for r in ordinary]
    assert {r.json()["batch_size"] for r in ordinary} == {1}  # answered one by one after the batch failed
    assert batcher.largest_batch <= 8 and elapsed < 30
    print(f"isolation: 1 × {bad.status_code}, 6 × 200 in {elapsed:.2f} s")


@pytest.mark.parametrize("body, field", [
    (b'{"task": "<CAPTION>", "wait_ms": 1e400}', "wait_ms"),
    (b'{"task": "<CAPTION>", "wait_ms": NaN}', "wait_ms"),
    (b'{"task": "<CAPTION>", "wait_ms": -Infinity}', "wait_ms"),
    (b'{"task": "\\ud800"}', "task"),
    (b'{"task": "<CAPTION_TO_PHRASE_GROUNDING>", "text": "a \\udfff b"}', "text"),
    (b'[1e400, NaN]', "body"),
])
def test_hostile_bodies_are_422_in_valid_json(running_receiver, body, field):
    async def main():
        async with running_receiver() as (client, _, _):
            response = await client.post("/v1/frames/3/tasks", content=body,
                                         headers={"content-type": "application/json"})
            live = await client.get("/health/live")
            return response, live

    response, live = run(main())
    assert response.status_code == 422, response.text
    detail = strict_json(response.text)["detail"]
    assert isinstance(detail, str) and field in detail, detail
    assert live.status_code == 200


def test_the_batcher_fails_only_the_item_that_breaks_its_batch():
    from semlink.receiver import DynamicBatcher

    def run_batch(items):
        if "poison" in items:
            raise IndexError("index out of range in self")
        return [item.upper() for item in items]

    async def main():
        batcher = DynamicBatcher(run_batch, max_batch=8, max_delay_s=0.05, queue_size=16)
        batcher.start()
        results = await asyncio.gather(*(batcher.submit(i) for i in ["a", "poison", "b", "c"]),
                                       return_exceptions=True)
        after, _ = await batcher.submit("d")
        await batcher.stop()
        return results, after

    results, after = run(main())
    assert isinstance(results[1], IndexError)
    assert [(r[0], r[1].batch_size) for r in results[:1] + results[2:]] == [("A", 1), ("B", 1), ("C", 1)]
    assert after == "D"

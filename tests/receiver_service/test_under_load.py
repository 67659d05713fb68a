"""Under load: concurrent requests share a model call, a full queue answers 503 at once, the store evicts LRU."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

pytestmark = pytest.mark.timeout(20)


def concurrently(rx, frame_ids, task="<CAPTION>") -> list[tuple[httpx.Response, float]]:
    def ask(fid):
        started = time.monotonic()
        with httpx.Client(base_url=rx.base_url, timeout=15) as client:
            response = client.post(f"/v1/frames/{fid}/tasks", json={"task": task})
        return response, time.monotonic() - started

    with ThreadPoolExecutor(len(frame_ids)) as pool:
        return list(pool.map(ask, frame_ids))


def test_concurrent_requests_are_batched(start_receiver, make_frame, fid):
    with start_receiver(max_batch=8, max_delay_ms=400) as rx:
        for i in range(4):
            rx.send(make_frame(100 + i, image=i))
        batches_before = rx.metric("semlink_rx_batch_size_count")

        answers = concurrently(rx, [fid(100 + i) for i in range(4)])
        assert all(r.status_code == 200 for r, _ in answers)
        assert max(r.json()["batch_size"] for r, _ in answers) > 1
        assert rx.metric("semlink_rx_batch_size_count") - batches_before < 4  # fewer model calls than requests
        assert rx.metric("semlink_rx_batch_size_bucket", le="1.0") < rx.metric("semlink_rx_batch_size_count")
        # Each answer is its own frame's (batched answers are not compared with unbatched ones: on some CPUs a
        # batch of four and a batch of one differ in the last bits, and a tiny random model's words can flip).
        assert sorted(r.json()["frame_id"] for r, _ in answers) == [fid(100 + i) for i in range(4)]


def test_a_full_queue_answers_503_quickly(start_receiver, make_frame, fid):
    with start_receiver(max_batch=1, max_delay_ms=0, queue_size=1) as rx:
        rx.send(make_frame(200))
        batcher = rx.receiver.batcher
        run_batch = batcher.run_batch

        def slow_model(jobs):  # every model call takes >= 1.5 s, so the queue surely fills
            time.sleep(1.5)
            return run_batch(jobs)

        batcher.run_batch = slow_model
        answers = concurrently(rx, [fid(200)] * 6)
        refused = [(r, t) for r, t in answers if r.status_code == 503]
        served = [(r, t) for r, t in answers if r.status_code == 200]
        assert refused and served and len(refused) + len(served) == 6
        # Refusals do not wait for the model: each comes back before any served request could.
        assert max(t for _, t in refused) < min(t for _, t in served), answers
        assert refused[0][0].headers["retry-after"] == "1"
        assert "overloaded" in refused[0][0].json()["detail"]
        assert rx.metric("semlink_rx_tasks_total", task="<CAPTION>", outcome="overloaded") == len(refused)


def test_the_store_evicts_the_least_recently_used_frame(start_receiver, make_frame, fid):
    with start_receiver(store_size=2) as rx:
        rx.send(make_frame(300))
        rx.send(make_frame(301))
        assert rx.ask(fid(300)).status_code == 200  # 300 is now more recently used than 301
        rx.send(make_frame(302))
        assert [f["frame_id"] for f in rx.http.get("/v1/frames").json()] == [fid(302), fid(300)]
        evicted = rx.ask(fid(301))
        assert evicted.status_code == 404 and "evicted" in evicted.json()["detail"]
        assert rx.metric("semlink_rx_store_evictions_total") == 1
        assert rx.metric("semlink_rx_store_frames") == 2

"""Hostile channel settings and floods through a real channel_sim (in this process, on loopback): settings past
sane maxima are 422, the delay line is bounded, and a reset flushes it, acking each held frame lost."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from attack_helpers import run, strict_json

from channel_sim.main import create_app
from channel_sim.settings import ChannelSimSettings
from semlink.link import FrameSender
from semlink.launch.ports import free_port
from tests.helpers.link import RecordingReceiver, make_frame, make_session, serving

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("body, field", [
    (b'{"snr_db": 4000}', "snr_db"),
    (b'{"snr_db": 1e400}', "snr_db"),
    (b'{"snr_db": NaN}', "snr_db"),
    (b'{"delay_ms": 1e12}', "delay_ms"),
    (b'{"jitter_ms": 60001}', "jitter_ms"),
    (b'{"rate_kbps": 0.001}', "rate_kbps"),
    (b'{"duplicate": 1.5}', "duplicate"),
    (b'[1e400, "\\ud800"]', "body"),
])
def test_settings_past_sane_maxima_are_422_naming_the_field(body, field):
    async def main():
        settings = ChannelSimSettings(upstream=f"127.0.0.1:{free_port()}", grpc_port=free_port())
        async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
            response = await client.put("/v1/channel", content=body, headers={"content-type": "application/json"})
            return response, (await client.get("/v1/channel")).json()

    response, channel = run(main())
    assert response.status_code == 422, response.text
    detail = strict_json(response.text)["detail"]
    assert isinstance(detail, str) and field in detail, detail
    assert (channel["delay_ms"], channel["snr_db"]) == (0.0, None)  # unchanged


@pytest.mark.parametrize("bound", [{"delay_line_frames": 5}, {"delay_line_bytes": 5 * 4 * (40 + 7)}])  # 4 datagrams of 47 B
def test_a_full_delay_line_answers_new_frames_lost_at_once_and_reset_flushes_it(bound):
    async def main():
        rx = await RecordingReceiver().start()
        grpc_port = free_port()
        settings = ChannelSimSettings(upstream=rx.target, grpc_port=grpc_port, **bound)
        try:
            async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
                assert (await client.put("/v1/channel", json={"delay_ms": 60_000})).status_code == 200
                async with FrameSender(f"127.0.0.1:{grpc_port}", session=make_session()) as sender:
                    frames = [make_frame(i, packets=4, payload_bytes=40) for i in range(12)]
                    started = time.perf_counter()
                    deliveries = [await sender.submit(f) for f in frames]
                    await asyncio.wait([d.outcome for d in deliveries[5:]], timeout=5)
                    refused_s = time.perf_counter() - started
                    held = (await client.get("/v1/stats")).json()["in_delay_line"]
                    await client.post("/v1/channel/reset")
                    outcomes = await asyncio.wait_for(asyncio.gather(*(d.outcome for d in deliveries)), 5)
                    after = (await client.get("/v1/stats")).json()["in_delay_line"]
                    fresh = await asyncio.wait_for((await sender.submit(make_frame(99))).outcome, 5)
        finally:
            await rx.stop()
        return refused_s, held, outcomes, after, fresh, len(rx.frames)

    refused_s, held, outcomes, after, fresh, received = run(main())
    assert held == 5 and after == 0
    assert all(o.status == "lost" and o.detail == "channel_sim reset" for o in outcomes[:5]), outcomes[:5]
    for o in outcomes[5:]:
        assert o.status == "lost" and o.detail.startswith("channel_sim: delay line full ("), o.detail
    assert refused_s < 2  # refused at once, not after the 60 s delay
    assert fresh.status == "ok" and received == 1  # the channel works again; nothing held leaked upstream
    print(f"delay line {bound}: 7 refused within {refused_s * 1000:.0f} ms, 5 flushed by reset")

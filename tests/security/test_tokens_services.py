"""The receiver's task, frame and event APIs and the transmitter's uploads need the bearer token when one is set
(real services, tiny-random on CPU, in this process on loopback); their health stays open."""

from __future__ import annotations

import asyncio
import io

import httpx
import pytest
import torch

from receiver_service.main import create_app as receiver_app
from receiver_service.settings import ReceiverSettings
from semlink.launch.client import LinkClient
from semlink.launch.ports import free_port
from tests.helpers.link import serving
from semlink.runtime import load_model
from semlink.samples import sample_images
from transmitter_service.main import create_app as transmitter_app
from transmitter_service.settings import TransmitterSettings

pytestmark = pytest.mark.timeout(120)

MODEL, CODEC, TOKEN = "tiny-random", "q8", "svc-token-7"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def until(predicate, what: str, timeout_s: float = 60) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what} within {timeout_s} s")


def test_receiver_task_frame_and_event_apis_need_the_token():
    torch.set_num_threads(1)
    settings = ReceiverSettings(model=MODEL, codec=CODEC, device="cpu", host="127.0.0.1", grpc_port=0, grace_s=1,
                                api_token=TOKEN)
    app = receiver_app(settings, bundle=load_model(MODEL, "cpu"))

    async def main():
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=20) as client:
            await until(lambda: app.state.receiver.ready or app.state.receiver.failed, "receiver ready")
            refused = [await client.post("/v1/frames/1/tasks", json={"task": "<CAPTION>"}),
                       await client.get("/v1/frames"), await client.get("/v1/frames/1"),
                       await client.get("/v1/events")]
            allowed = [await client.post("/v1/frames/1/tasks", json={"task": "<CAPTION>"}, headers=AUTH),
                       await client.get("/v1/frames", headers=AUTH), await client.get("/health/ready")]
            return refused, allowed

    refused, allowed = asyncio.run(asyncio.wait_for(main(), 90))
    assert [r.status_code for r in refused] == [401] * 4
    assert all(r.headers["www-authenticate"].startswith("Bearer") for r in refused)
    assert [r.status_code for r in allowed] == [404, 200, 200]  # frame 1 never arrived: past the token, a 404


def test_transmitter_uploads_need_the_token():
    torch.set_num_threads(1)
    settings = TransmitterSettings(model=MODEL, codec=CODEC, device="cpu", dtype="float32", api_token=TOKEN,
                                   target=f"127.0.0.1:{free_port()}", wire_timeout_s=0.2)
    app = transmitter_app(settings)
    png = io.BytesIO()
    sample_images(1)[0].save(png, format="PNG")

    async def main():
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            await until(lambda: app.state.transmitter.ready or app.state.transmitter.load_error, "transmitter ready")
            files = {"file": ("a.png", png.getvalue(), "image/png")}
            responses = (await client.post("/v1/frames", files=files),
                         await client.post("/v1/frames", files=files, headers=AUTH),
                         await client.get("/v1/stats"), await client.get("/health/live"))
            with LinkClient(url, url, token=TOKEN) as with_token, LinkClient(url, url) as without:
                sent = await asyncio.to_thread(with_token.send, png.getvalue())
                with pytest.raises(RuntimeError, match="--token or set SEMLINK_API_TOKEN"):
                    await asyncio.to_thread(without.send, png.getvalue())
            return responses, sent

    (anonymous, authorised, stats, live), sent = asyncio.run(asyncio.wait_for(main(), 90))
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    assert authorised.status_code == 202, authorised.text
    assert stats.status_code == 401 and live.status_code == 200
    assert isinstance(sent["frame_id"], int)  # the CLI's client (semlink caption, demo) sent the token

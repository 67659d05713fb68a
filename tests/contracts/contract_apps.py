"""The three services' real apps for the contract tests (tiny-random, q8, CPU, an API token set), their OpenAPI
schemas for schemathesis, and :func:`served`: an app under uvicorn on loopback in a thread of its own. Building
the apps starts nothing (schemathesis's in-process ASGI transport would restart an app for every operation, and
a transmitter reloads its model when it starts; real servers started once are closer to the truth anyway)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import schemathesis
from schemathesis.config import SchemathesisConfig

from channel_sim.main import create_app as channel_app
from channel_sim.settings import ChannelSimSettings
from receiver_service.main import create_app as receiver_app
from receiver_service.settings import ReceiverSettings
from semlink.launch.ports import free_port
from tests.helpers.link import serving
from transmitter_service.main import create_app as transmitter_app
from transmitter_service.settings import TransmitterSettings

MODEL, CODEC = "tiny-random", "q8"
TOKEN = "contract-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STARTUP_TIMEOUT_S = 60

# Every check schemathesis has (``--checks all``). A schema-valid request is answered 2xx, or 401/404/409/429 (auth,
# a frame not there, a clash with the current state, a full queue): the schemas state every rule the servers hold a
# body to by itself (tasks with and without text, sources by kind, one file part, channel fields that go together).
# Left, per operation and status, is what no schema can say (each documented on its operation's 415/422):
# - POST /v1/frames 415/422: whether the uploaded bytes are an image (415 none at all, 422 corrupt or truncated);
# - POST /v1/frames/{frame_id}/tasks 422: whether a text's tokens fit the loaded model's input (its
#   max_position_embeddings, known once the model has loaded);
# - PUT /v1/source 422: whether a folder or video path opens on the transmitter's host.
CONFIG = """
[checks]
enabled = true

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "404", "409", "429"]

[[operations]]
include-name = "POST /v1/frames"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "404", "409", "415", "422", "429"]

[[operations]]
include-name = "POST /v1/frames/{frame_id}/tasks"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "404", "409", "422", "429"]

[[operations]]
include-name = "PUT /v1/source"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "404", "409", "422", "429"]
"""

RECEIVER = receiver_app(ReceiverSettings(model=MODEL, codec=CODEC, device="cpu", host="127.0.0.1", grpc_port=0,
                                         grace_s=1, api_token=TOKEN, max_batch=1, max_delay_ms=0))
TRANSMITTER = transmitter_app(TransmitterSettings(model=MODEL, codec=CODEC, device="cpu", dtype="float32",
                                                  api_token=TOKEN, target=f"127.0.0.1:{free_port()}",
                                                  wire_timeout_s=0.2))
CHANNEL = channel_app(ChannelSimSettings(host="127.0.0.1", grpc_port=0, upstream=f"127.0.0.1:{free_port()}",
                                         api_token=TOKEN))


def openapi_schema(app):
    """``app``'s published OpenAPI as schemathesis sees it (calls name the server's URL)."""
    return schemathesis.openapi.from_dict(app.openapi(), config=SchemathesisConfig.from_str(CONFIG))


@contextmanager
def served(app, ready: Callable[[], bool]) -> Iterator[str]:
    """``app`` under uvicorn on loopback, in an event loop of its own thread; yields its URL once ``ready()``
    and ``/health/ready`` answers 200; stops it (lifespan shutdown included) afterwards."""
    loop = asyncio.new_event_loop()
    up = threading.Event()
    url: list[str] = []
    stop = asyncio.Event()

    async def run() -> None:
        async with serving(app) as base_url:
            url.append(base_url)
            up.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    try:
        assert up.wait(STARTUP_TIMEOUT_S), f"{app.title} did not start within {STARTUP_TIMEOUT_S} s"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not (ready() and httpx.get(f"{url[0]}/health/ready").status_code == 200):
            assert time.monotonic() < deadline, f"{app.title} was not ready within {STARTUP_TIMEOUT_S} s"
            time.sleep(0.05)
        yield url[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=15)
        assert not thread.is_alive(), f"{app.title} did not stop within 15 s"

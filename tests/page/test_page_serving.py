"""The page's serving, without a browser: ``/`` and ``/static`` from the package, ``/v1/page-config``, CORS.

The receiver is built with an in-process tiny model; the other two apps are only asked for CORS headers.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from receiver_service.main import create_app as receiver_app
from receiver_service.routers.page import PAGE_DIR
from receiver_service.settings import ReceiverSettings
from semlink.launch.config import LinkConfig
from semlink.launch.ports import LinkPorts
from semlink.codecs import fp16_frame_cost
from semlink.http.cors import origins


@pytest.fixture(scope="module")
def receiver():
    settings = ReceiverSettings(model="tiny-random", codec="q8", grpc_port=0, auto_task="<CAPTION>",
                                transmitter_url="http://tx.example:8001/", channel_url="http://ch.example:8002")
    with TestClient(receiver_app(settings)) as client:
        yield client


def test_the_page_and_every_file_it_loads_are_served(receiver):
    page = receiver.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    scripts = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert "/static/page.js" in scripts and "/static/page.css" in scripts
    modules = {"/static/page.js"}
    for path in list(modules):
        body = receiver.get(path).text
        modules |= {f"/static/{name}" for name in re.findall(r'from "\./([\w.]+)"', body)}
    for path in set(scripts) | modules:
        response = receiver.get(path)
        assert response.status_code == 200, path
        assert response.text == (PAGE_DIR / path.rsplit("/", 1)[1]).read_text()
    assert receiver.get("/static/page.js").headers["content-type"].startswith("text/javascript")


def test_nothing_is_fetched_from_elsewhere():
    """No CDN: every script, style and image the page names is its own (offline deployments)."""
    for path in PAGE_DIR.iterdir():
        text = path.read_text()
        assert not re.search(r"""(src|href)=["']https?://""", text), path.name
        assert not re.search(r"""(import|from)\s*\(?["']https?://""", text), path.name
        assert "@import" not in text, path.name


def test_only_the_page_files_are_served(receiver):
    assert receiver.get("/static/..%2Fsettings.py").status_code == 404
    assert receiver.get("/static/nope.js").json()["detail"].startswith("no page file 'nope.js'")


def test_page_config_comes_from_the_receiver_settings(receiver):
    deadline = time.monotonic() + 60
    while (config := receiver.get("/v1/page-config").json())["feature_shape"] is None:  # null while the model loads
        assert time.monotonic() < deadline, "the receiver's model never loaded"
        time.sleep(0.1)
    shape = config.pop("feature_shape")
    cost = fp16_frame_cost(shape)
    assert config == {"transmitter_url": "http://tx.example:8001", "channel_url": "http://ch.example:8002",
                      "auto_task": "<CAPTION>", "model": "tiny-random", "codec": "q8", "token_required": False,
                      "fp16_frame_bytes": cost.datagram_bytes, "fp16_frame_datagrams": cost.datagrams}
    assert len(shape) == 3 and cost.datagram_bytes > 2 * shape[0] * shape[1] * shape[2]


def test_launch_points_the_page_at_the_other_two_and_lets_it_call_them():
    config = LinkConfig(ports=LinkPorts.free())
    rx = config.environment("receiver_service")
    assert rx["SEMLINK_RX_TRANSMITTER_URL"] == config.url("transmitter_service")
    assert rx["SEMLINK_RX_CHANNEL_URL"] == config.url("channel_sim")
    page_origin = config.url("receiver_service")
    for service, prefix in (("transmitter_service", "SEMLINK_TX_"), ("channel_sim", "SEMLINK_CH_")):
        allowed = origins(config.environment(service)[prefix + "CORS_ORIGINS"])
        assert page_origin in allowed and page_origin.replace("127.0.0.1", "localhost") in allowed


@pytest.mark.parametrize("service", ["transmitter_service", "channel_sim"])
def test_cors_allows_the_page_origin_only(service):
    import importlib

    settings_cls = {"transmitter_service": "TransmitterSettings", "channel_sim": "ChannelSimSettings"}[service]
    settings = getattr(importlib.import_module(f"{service}.settings"), settings_cls)(
        cors_origins="http://page.example:8000")
    app = importlib.import_module(f"{service}.main").create_app(settings)
    preflight = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization,content-type"}
    transport = httpx.ASGITransport(app=app)  # no lifespan: CORS answers before any route runs

    async def ask(origin: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.options("/v1/stats", headers={"Origin": origin, **preflight})

    import asyncio

    allowed = asyncio.run(ask("http://page.example:8000"))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://page.example:8000"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    refused = asyncio.run(ask("http://evil.example"))
    assert "access-control-allow-origin" not in refused.headers


def test_compose_points_the_page_at_the_published_ports():
    """docker compose up: the page (receiver :8000) reaches the transmitter and channel_sim where compose publishes
    them, and both let the page's origin call them."""
    from pathlib import Path

    import yaml

    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())["services"]

    def default(value: str) -> str:
        return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)

    rx = compose["receiver_service"]["environment"]
    assert compose["receiver_service"]["ports"] == ["8000:8000"]
    for service, variable, prefix in (("transmitter_service", "SEMLINK_RX_TRANSMITTER_URL", "SEMLINK_TX_"),
                                      ("channel_sim", "SEMLINK_RX_CHANNEL_URL", "SEMLINK_CH_")):
        port = default(compose[service]["environment"][prefix + "HTTP_PORT"])
        assert f"{port}:{port}" in compose[service]["ports"]
        assert default(rx[variable]) == f"http://localhost:{port}"
        assert "http://localhost:8000" in origins(default(compose[service]["environment"][prefix + "CORS_ORIGINS"]))


def test_every_control_has_a_label():
    """Inputs, selects and buttons of the page (and of the frame cards frames.js builds) are labelled."""
    from html.parser import HTMLParser

    class Controls(HTMLParser):
        def __init__(self):
            super().__init__()
            self.controls, self.label_for, self.open_labels, self.buttons = [], set(), 0, []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "label":
                self.open_labels += 1
                if "for" in attrs:
                    self.label_for.add(attrs["for"])
            elif tag in ("input", "select") and attrs.get("type") != "file":
                self.controls.append((attrs.get("id"), self.open_labels > 0))
            elif tag == "button":
                self.buttons.append(attrs.get("id"))

        def handle_endtag(self, tag):
            if tag == "label":
                self.open_labels -= 1

    page = Controls()
    page.feed((PAGE_DIR / "index.html").read_text())
    assert len(page.controls) >= 12
    unlabelled = [id_ for id_, wrapped in page.controls if not wrapped and id_ not in page.label_for]
    assert unlabelled == []
    cards = (PAGE_DIR / "frames.js").read_text()  # the ask-again form: its controls get ids and labels
    assert 'label for="${id}"' in cards and 'label for="${id}-text"' in cards


def test_a_missing_browser_is_named_with_what_to_install(monkeypatch):
    import browser

    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    assert browser.missing_browser() == ("/nonexistent/chromium not installed: apt-get install chromium (Debian) "
                                         "to run the page tests")
    monkeypatch.setattr(browser, "CHROMIUM", "/bin/sh")
    monkeypatch.setattr(browser, "CHROMEDRIVER", "/nonexistent/chromedriver")
    assert "apt-get install chromium-driver" in browser.missing_browser()

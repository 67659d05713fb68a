"""With API tokens on all three services, the page opened as ``/?token=...`` sends the token; without, it says so."""

from __future__ import annotations

import time

import pytest
from browser import answered_cards, console_errors, start_chromium, wait_for
from selenium.webdriver.common.by import By

from semlink.launch import LinkConfig, LinkPorts, LocalLink
from semlink.launch.config import RECEIVER

TOKEN = "page-test-token"


@pytest.fixture
def guarded_link(chromium, monkeypatch):
    for prefix in ("SEMLINK_RX_", "SEMLINK_TX_", "SEMLINK_CH_"):
        monkeypatch.setenv(prefix + "API_TOKEN", TOKEN)  # the services inherit this process's environment
    config = LinkConfig(model="shapes-tiny", codec="learned", ports=LinkPorts.free(), source="shapes", source_fps=2)
    with LocalLink(config, ready_timeout=120) as link:
        yield link


def test_the_token_in_the_address_is_sent_to_every_service(guarded_link):
    driver = start_chromium()
    try:
        page = guarded_link.urls[RECEIVER] + "/"
        driver.get(page)
        banner = wait_for("the page to say it needs a token", lambda: (
            "?token=" in (text := driver.find_element(By.ID, "banner").text) and text))
        assert "refused the page (HTTP 401)" in banner
        assert answered_cards(driver) == []

        driver.get(page + "?token=" + TOKEN)
        wait_for("a caption with the token", lambda: any(c["answered"] for c in answered_cards(driver)), timeout=30)
        assert "token=" not in driver.current_url  # kept in sessionStorage, not left in the address bar
        for name in ("receiver", "transmitter", "channel"):
            wait_for(f"{name} reachable", lambda: driver.find_element(By.ID, f"svc-{name}").get_attribute(
                "data-state") == "up")
        wait_for("the channel's stats", lambda: (text := driver.find_element(By.ID, "realised-packets").text)[0].isdigit()
                 and int(text.split(" / ")[0]) > 0)
        time.sleep(0.5)
        errors = [e for e in console_errors(driver) if "401" not in e["message"]]
        assert errors == []
    finally:
        driver.quit()

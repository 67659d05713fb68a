"""With API tokens on all three services: the page opened as ``/?token=...`` sends the token; opened without, it
shows one banner with a field for it, says which services need it and asks nothing until it has one (no 401 every
second); a token typed in makes frames flow without a reload."""

from __future__ import annotations

import time

import pytest
from browser import answered_cards, console_errors, start_chromium, wait_for
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from semlink.launch import LinkConfig, LinkPorts, LocalLink
from semlink.launch.config import RECEIVER

TOKEN = "page-test-token"
SERVICES = ("receiver", "transmitter", "channel")


@pytest.fixture(scope="module")
def guarded_link(chromium):
    with pytest.MonkeyPatch.context() as env:
        for prefix in ("SEMLINK_RX_", "SEMLINK_TX_", "SEMLINK_CH_"):
            env.setenv(prefix + "API_TOKEN", TOKEN)  # the services inherit this process's environment
        config = LinkConfig(model="shapes-tiny", codec="learned", ports=LinkPorts.free(), source="shapes",
                            source_fps=2)
        with LocalLink(config, ready_timeout=120) as link:
            yield link


def guarded_requests(driver) -> int:
    """Requests the page has sent to the services' guarded routes (all but its own files and /v1/page-config)."""
    return driver.execute_script("""return performance.getEntriesByType('resource')
        .filter(e => /\\/v1\\//.test(e.name) && !e.name.endsWith('/v1/page-config')).length;""")


def pills(driver) -> dict:
    return {name: (pill := driver.find_element(By.ID, f"svc-{name}")).get_attribute("data-state") + ":" + pill.text
            for name in SERVICES}


def test_the_token_in_the_address_is_sent_to_every_service(guarded_link):
    driver = start_chromium()
    try:
        driver.get(guarded_link.urls[RECEIVER] + "/?token=" + TOKEN)
        wait_for("a caption with the token", lambda: any(c["answered"] for c in answered_cards(driver)), timeout=30)
        assert "token=" not in driver.current_url  # kept in sessionStorage, not left in the address bar
        for name in SERVICES:
            wait_for(f"{name} reachable", lambda: driver.find_element(By.ID, f"svc-{name}").get_attribute(
                "data-state") == "up")
        wait_for("the channel's stats", lambda: (text := driver.find_element(By.ID, "realised-packets").text)[0].isdigit()
                 and int(text.split(" / ")[0]) > 0)
        assert driver.find_element(By.ID, "banner").get_attribute("hidden") is not None
        time.sleep(0.5)
        assert console_errors(driver) == []
    finally:
        driver.quit()


def test_without_a_token_one_banner_asks_for_it_and_nothing_is_asked_until_it_is_typed(guarded_link):
    driver = start_chromium()
    try:
        driver.get(guarded_link.urls[RECEIVER] + "/")
        banner = wait_for("the banner asking for the token", lambda: (
            (b := driver.find_element(By.ID, "banner")).is_displayed() and "API token" in b.text and b))
        assert banner.text.count("API token") == 2  # the sentence and the field's label: said once
        assert "?token=" in banner.text
        field = driver.find_element(By.ID, "token-input")
        assert field.is_displayed() and field.get_attribute("type") == "password"
        shown = pills(driver)
        assert shown["receiver"] == "token:receiver: needs token"
        assert not any(state.startswith("down") for state in shown.values()), shown
        before = guarded_requests(driver)
        time.sleep(4)  # the page polls every second when it may
        assert guarded_requests(driver) == before == 0
        assert console_errors(driver) == []
        assert answered_cards(driver) == []

        driver.execute_script("window.notReloaded = true")
        field.send_keys("not-the-token", Keys.ENTER)
        wait_for("the wrong token refused", lambda: "refused that token" in banner.text, timeout=10)
        assert driver.find_element(By.ID, "token-input").is_displayed()
        time.sleep(1)  # what the wrong token was tried on has answered
        tried = guarded_requests(driver)
        assert 1 <= tried <= 8
        time.sleep(3)
        assert guarded_requests(driver) == tried  # refused once, not again every second
        errors = console_errors(driver)
        assert errors and len(errors) <= tried and all("401" in e["message"] for e in errors), errors

        driver.find_element(By.ID, "token-input").send_keys(TOKEN, Keys.ENTER)
        wait_for("frames flowing with the typed token",
                 lambda: any(c["answered"] for c in answered_cards(driver)), timeout=30)
        assert driver.execute_script("return window.notReloaded") is True
        assert driver.execute_script("return sessionStorage.getItem('semlink-token')") == TOKEN
        for name in SERVICES:
            wait_for(f"{name} up", lambda: pills(driver)[name] == f"up:{'channel_sim' if name == 'channel' else name}")
        assert driver.find_element(By.ID, "banner").get_attribute("hidden") is not None
        assert console_errors(driver) == []
    finally:
        driver.quit()

"""The page says how the transmitter puts frames on the link (alone, packed in groups, spread), and a packed
stream's cards show each frame's share of its group's bytes (headless chromium, services packing 2 frames a group)."""

from __future__ import annotations

import httpx
import pytest
from browser import answered_cards, console_errors, page_on_shapes_stream, wait_for
from selenium.webdriver.common.by import By

from semlink.launch.config import RECEIVER


@pytest.fixture(scope="module")
def page(chromium):
    """(driver, link): the page on services that pack 2 frames a group, the shapes stream at 4 frames/s."""
    with page_on_shapes_stream(fps=4, pack=2) as opened:
        yield opened


def test_the_page_says_frames_go_in_groups_and_cards_show_each_frames_share(page):
    driver, link = page
    sending = wait_for("the sending line", lambda: driver.find_element(By.ID, "sending").text or None)
    assert sending.startswith("sending: 2 frames a group of datagrams") and "at most 500 ms" in sending
    wait_for("two answered cards", lambda: len(answered_cards(driver)) >= 2 or None, timeout=60)
    frames = httpx.get(link.urls[RECEIVER] + "/v1/frames", timeout=10).json()
    shares = [f["datagrams"] / f["packets"] for f in frames if f["status"] == "ok" and f["packets_lost"] == 0]
    assert shares and all(s in (0.5, 1.0) for s in shares) and 0.5 in shares  # groups of 2 (one alone, on the clock)
    assert not console_errors(driver)


def test_the_sending_line_for_frames_alone_and_spread(page):
    driver, _ = page
    texts = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        import('/static/sources.js').then((m) => done([
          m.sendingText({size: 1}, {slots: 0}), m.sendingText(undefined, {slots: 2, slot_ms: 50})]));
    """)
    assert texts[0] == "sending: each frame's datagrams back to back"
    assert texts[1].startswith("sending: each frame's datagram j 2·j frames after its first")

"""The live page's controls and counts as issue 25 asked (headless chromium, one set of services for the module):
Reset restores every control, the slider never jumps to its midpoint, recent-window channel figures beside the
totals, and the frame count that does not stop at the cap of kept frames."""

from __future__ import annotations

import pytest
from browser import console_errors, page_on_shapes_stream, wait_for
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select
from test_page_browser import rest

from semlink.launch.config import CHANNEL


@pytest.fixture(scope="module")
def page(chromium):
    """(driver, link): the page open on the three services, the shapes stream at 2 frames/s."""
    with page_on_shapes_stream(fps=2) as opened:
        yield opened


def value(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).get_attribute("value")


def test_reset_puts_every_control_back_and_the_slider_never_jumps_to_its_midpoint(page):
    driver, link = page
    with rest(link, CHANNEL) as ch:
        wait_for("the channel loaded into the form", lambda: driver.find_element(By.ID, "asked-loss").text != "–")
        Select(driver.find_element(By.ID, "loss-model")).select_by_value("gilbert_elliott")
        burst = driver.find_element(By.ID, "burst")
        burst.clear()
        burst.send_keys("8", Keys.TAB)
        driver.find_element(By.ID, "loss-rate").send_keys(*[Keys.ARROW_RIGHT] * 30)
        wait_for("the bursty channel PUT", lambda: ch.get("/v1/channel").json()["loss_model"] == "gilbert_elliott"
                 and ch.get("/v1/channel").json()["ge_r"] == pytest.approx(1 / 8))
        driver.find_element(By.ID, "channel-reset").click()
        wait_for("the reset channel", lambda: ch.get("/v1/channel").json()["loss_model"] == "none")
        wait_for("the form back at its defaults", lambda: value(driver, "burst") == "3"
                 and value(driver, "loss-rate") == "0" and value(driver, "loss-model") == "none")
        # a click on the slider's thumb where it sits (its left end at 0) keeps it at 0, not 0.45
        driver.execute_script("""const s = document.getElementById('loss-rate'); const r = s.getBoundingClientRect();
            s.scrollIntoView({block: 'center'});""")
        slider = driver.find_element(By.ID, "loss-rate")
        from selenium.webdriver import ActionChains
        ActionChains(driver).move_to_element_with_offset(slider, -slider.size["width"] // 2 + 2, 0).click().perform()
        assert float(value(driver, "loss-rate")) < 0.05
        assert driver.find_element(By.ID, "loss-rate-out").text in ("0.00", "0.01", "0.02", "0.03", "0.04")
    assert console_errors(driver) == []


def test_realised_figures_over_the_last_10_s_beside_the_totals(page):
    driver, link = page
    with rest(link, CHANNEL) as ch:
        ch.put("/v1/channel", json={"loss_model": "bernoulli", "loss": 0.5}).raise_for_status()
        try:
            # one read of the three figures: the page redraws them each poll (and starts the window over when
            # the channel's totals are reset), so two reads may straddle a redraw
            shown, title, packets = wait_for("a recent loss shown", lambda: (r := driver.execute_script(
                "return ['recent-loss', 'recent-title', 'recent-packets']"
                ".map(id => document.getElementById(id).textContent)")) and r[0].endswith("%") and r, timeout=30)
            assert title.startswith("last ")
            packets = packets.split(" / ")
            assert int(packets[0]) > 0 and int(packets[1]) <= int(packets[0])
            assert 0 <= float(shown.split()[0]) <= 100
        finally:
            ch.post("/v1/channel/reset")


def test_the_frame_count_counts_past_the_cap_of_kept_frames(page):
    driver, _ = page
    counts = driver.execute_async_script("""const done = arguments[arguments.length - 1];
        import('/static/frames.js').then(({FrameBoard}) => {
          const board = new FrameBoard(document.createElement('div'), {receiver: null, transmitter: null,
            autoTask: '<CAPTION>', onChange: () => {}});
          for (let id = 1; id <= 450; id += 1) board.record(id);
          done([board.receivedCount, board.order.length]);
        });""")
    assert counts == [450, 400]
    wait_for("the page's own count", lambda: "received" in driver.find_element(By.ID, "frame-count").text)

"""The live page as people watch it (issue 25), in headless chromium against one set of services: charts with
axes and units, both codecs' bytes in comparison mode, the headline of what the stream saves (its figures from the
same frames the API reports), and a phone's layout with the channel's controls on top of the frames."""

from __future__ import annotations

import pytest
from browser import comparison_on, console_errors, start_chromium, wait_for
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from test_page_browser import rest

from semlink.launch import LinkConfig, LinkPorts, LocalLink
from semlink.launch.config import CHANNEL, RECEIVER, TRANSMITTER

PHONE = (390, 844)
UNITS = {"wire bytes per frame": "B", "packet loss": "%", "answer right": "%", "latency": "ms"}


@pytest.fixture(scope="module")
def link(chromium):
    config = LinkConfig(model="shapes-tiny", codec="learned", ports=LinkPorts.free(), source="shapes", source_fps=2)
    with LocalLink(config, ready_timeout=120) as running:
        yield running


@pytest.fixture(scope="module")
def page(link):
    """(driver, link): the page open at laptop width."""
    driver = start_chromium()
    try:
        driver.get(link.urls[RECEIVER] + "/")
        yield driver, link
    finally:
        driver.quit()


def charts(driver) -> list[dict]:
    """Each chart's title, its axes' tick labels and positions, its unit, its lines and legend."""
    return driver.execute_script("""
        return [...document.querySelectorAll('#charts figure.chart')].map(f => {
          const ticks = (cls) => [...f.querySelectorAll('text.' + cls)].map(t => ({text: t.textContent,
            x: Number(t.getAttribute('x')), y: Number(t.getAttribute('y'))}));
          return {title: f.querySelector('figcaption span').textContent, y: ticks('y-tick'), x: ticks('x-tick'),
            unit: f.querySelector('text.y-unit')?.textContent, xTitle: f.querySelector('text.x-unit')?.textContent,
            scale: f.querySelector('svg').dataset.scale,
            lines: [...f.querySelectorAll('polyline.series')].map(l => l.getAttribute('points').trim().split(/\\s+/)
              .filter(Boolean).length),
            legend: f.querySelector('.chart-legend').hidden ? [] :
              [...f.querySelectorAll('.chart-legend .key')].map(k => k.textContent)};
        });""")


def number(tick: str) -> float:
    """A tick label as a number: "1.5k" → 1500."""
    return float(tick[:-1]) * 1000 if tick.endswith("k") else float(tick)


def headline(driver) -> dict:
    return driver.execute_script("""const h = document.getElementById('headline');
        return {hidden: h.hidden, text: h.textContent, ...h.dataset};""")


def test_every_chart_has_a_y_axis_with_ticks_and_a_unit_and_an_x_axis_of_frames(page):
    driver, _ = page
    shown = wait_for("the charts drawn over a few frames", lambda: (c := charts(driver)) and all(
        len(chart["x"]) == 3 for chart in c) and c, timeout=30)
    assert len(shown) == 4
    for chart in shown:
        unit = next(u for prefix, u in UNITS.items() if chart["title"].startswith(prefix))
        assert chart["unit"] == unit, chart
        values = [number(t["text"]) for t in chart["y"]]
        assert len(values) >= 3 and values == sorted(values) and values[0] == 0, chart
        heights = [t["y"] for t in chart["y"]]
        assert heights == sorted(heights, reverse=True), chart  # larger values higher up
        assert chart["xTitle"] == "frame #"
        frames = [int(t["text"]) for t in chart["x"]]
        assert frames == sorted(frames) and frames[0] < frames[-1], chart
    percent = [c for c in shown if c["unit"] == "%"]
    assert all(number(c["y"][-1]["text"]) == 100 for c in percent)
    bytes_chart = shown[0]
    assert bytes_chart["scale"] == "linear" and bytes_chart["legend"] == []  # one codec, no legend
    # the top tick is above the largest value shown
    top = driver.execute_script("""return Math.max(...window.semlink.board.recent(60)
        .map(f => f.wire_bytes).filter(Number.isFinite));""")
    assert number(bytes_chart["y"][-1]["text"]) >= top
    loss = shown[1]
    assert loss["legend"] == ["this frame's packets", "channel's realised"]
    assert console_errors(driver) == []


def test_the_headline_says_what_a_frame_costs_against_fp16_from_the_apis_figures(page):
    driver, link = page
    shown = wait_for("the headline", lambda: (h := headline(driver)) and not h["hidden"] and "fp16" in h
                     and h.get("comparison") == "off" and h, timeout=30)
    with rest(link, RECEIVER) as rx:
        config = rx.get("/v1/page-config").json()
        frames = [f for f in rx.get("/v1/frames", params={"limit": 200}).json()
                  if f["codec"] == "learned" and f["packets_lost"] == 0]
    assert config["fp16_frame_bytes"] > 0 and int(shown["fp16"]) == config["fp16_frame_bytes"]  # no transport here
    sent = [f["wire_bytes"] for f in frames]
    assert min(sent) <= int(shown["bytes"]) <= max(sent)
    text = shown["text"]
    assert text.startswith(f"learned: {int(shown['bytes'])} B a frame")
    assert f"of fp16 features ({config['fp16_frame_bytes']:,} B)" in text
    ratio = int(text.split(" of fp16")[0].rsplit("1/", 1)[1])
    # the page divides the unrounded mean: its ratio is within the rounding of the bytes shown
    assert ratio == pytest.approx(config["fp16_frame_bytes"] / int(shown["bytes"]), rel=1 / int(shown["bytes"]))
    assert f"mean of the last {shown['frames']} frames that arrived whole" in text
    assert "turn Comparison on" in text and "reference" not in shown  # nothing claimed of a codec not measured


def test_with_comparison_on_and_no_pair_yet_whole_the_headline_says_it_waits_for_one(page):
    """fp16 twins of many datagrams on a channel losing 60 % of the packets: none arrives whole (the learned
    frames, of few datagrams, do), so the headline waits for a pair instead of asking to turn comparison on."""
    driver, link = page
    with rest(link, TRANSMITTER) as tx, rest(link, CHANNEL) as ch, rest(link, RECEIVER) as rx:
        assert rx.get("/v1/page-config").json()["fp16_frame_datagrams"] >= 8  # 0.4 ** 8: whole once in 1,500
        ch.put("/v1/channel", json={"loss_model": "bernoulli", "loss": 0.6}).raise_for_status()
        try:
            with comparison_on(tx, "fp16"):
                shown = wait_for("the headline with comparison on", lambda: (h := headline(driver)).get("comparison")
                                 == "on" and not h["hidden"] and h, timeout=20)
                wait_for("an fp16 twin lost or cut", lambda: driver.execute_script(
                    "return [...window.semlink.board.frames.values()].some(f => f.pair_id !== undefined"
                    " && (f.txCodec || f.codec) === 'fp16' && (f.status !== 'ok' || f.packets_lost > 0))"), timeout=20)
                shown = headline(driver)
                assert "comparison with fp16 on: waiting for the first pair that arrived whole" in shown["text"]
                assert "turn Comparison on" not in shown["text"] and "reference" not in shown
        finally:
            ch.post("/v1/channel/reset").raise_for_status()
    assert console_errors(driver) == []


def test_comparison_mode_plots_both_codecs_bytes_with_a_legend_and_the_headline_compares_them(page):
    driver, link = page
    with rest(link, TRANSMITTER) as tx, rest(link, RECEIVER) as rx:
        with comparison_on(tx, "avif:20"):
            chart = wait_for("both codecs on the bytes chart", lambda: (c := charts(driver)[0])["legend"] == [
                "learned", "avif:20"] and all(n >= 2 for n in c["lines"]) and c, timeout=40)
            assert len(chart["lines"]) == 2 and len(chart["y"]) >= 3 and chart["unit"] == "B"
            shown = wait_for("the headline's comparison", lambda: (h := headline(driver)).get("reference") and h)
            assert shown["reference"] == "avif:20" and int(shown["pairs"]) >= 1
            references = [f["wire_bytes"] for f in rx.get("/v1/frames", params={"limit": 400}).json()
                          if f["codec"] == "pixels-avif" and f["packets_lost"] == 0]
            assert min(references) <= int(shown["referenceBytes"]) <= max(references)
            # the learned codec's bytes first, as the share before them reads ("0.6x of avif:20 (74 B against its 119 B)")
            assert (f"of avif:20 on the same frames ({int(shown['pairedBytes']):,} B against its "
                    f"{int(shown['referenceBytes']):,} B)") in shown["text"]
            # fp16 beside learned: a line each, on a log scale (its ticks powers of ten), the headline on fp16 alone
            tx.put("/v1/comparison", json={"enabled": True, "reference": "fp16"}).raise_for_status()
            chart = wait_for("fp16 on the bytes chart", lambda: "fp16" in (c := charts(driver)[0])["legend"] and c,
                             timeout=40)
            assert chart["scale"] == "log" and chart["unit"] == "B, log"
            assert [number(t["text"]) for t in chart["y"]] == [10 ** i for i in range(1, len(chart["y"]) + 1)]
            shown = wait_for("the headline on fp16", lambda: (h := headline(driver)).get("reference") == "fp16" and h)
            assert " of fp16 on the same frames (" in shown["text"]
    assert console_errors(driver) == []


def whole_pairs(driver) -> int:
    """Comparison pairs on the board whose two halves both arrived whole."""
    return driver.execute_script("""const frames = [...window.semlink.board.frames.values()];
        const whole = f => f.status === 'ok' && f.packets_lost === 0 && Number.isFinite(f.wire_bytes);
        return frames.filter(f => f.pair_id === f.id && whole(f) && frames.some(r => r !== f
          && r.pair_id === f.id && whole(r))).length;""")


def test_with_comparison_turned_off_the_headline_compares_no_more_though_pairs_remain_and_after_a_reload(page):
    driver, link = page
    with rest(link, TRANSMITTER) as tx:
        with comparison_on(tx, "avif:20"):
            wait_for("the headline's comparison", lambda: headline(driver).get("reference") == "avif:20"
                     and whole_pairs(driver) >= 3, timeout=40)
        shown = wait_for("the headline with comparison off", lambda: (h := headline(driver)).get("comparison")
                         == "off" and h, timeout=10)
        assert whole_pairs(driver) >= 3  # still among the frames it averages
        assert "reference" not in shown and "of avif:20" not in shown["text"]
        assert "turn Comparison on to measure a pixel codec" in shown["text"] and "of fp16 features" in shown["text"]
        # a reload reads the last frames back from /v1/frames, pairs among them
        driver.refresh()
        shown = wait_for("the reloaded headline with comparison off and a pair read back", lambda: (
            h := headline(driver)).get("comparison") == "off" and whole_pairs(driver) >= 1 and h, timeout=30)
        assert "reference" not in shown and "of avif:20" not in shown["text"]
        assert "turn Comparison on" in shown["text"]
    assert console_errors(driver) == []


def test_on_a_phone_the_loss_control_sits_above_the_frames_and_stays_in_view(link):
    driver = start_chromium(*PHONE)
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {  # headless windows are at least 500 px wide
            "width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True})
        driver.get(link.urls[RECEIVER] + "/")
        wait_for("a frame", lambda: driver.find_elements(By.CSS_SELECTOR, "#frames .card"), timeout=30)
        top = lambda selector: driver.execute_script(  # noqa: E731
            "return document.querySelector(arguments[0]).getBoundingClientRect().top", selector)
        assert driver.execute_script("return innerWidth") == PHONE[0]
        assert 0 <= top("#loss-rate") < PHONE[1] - 40
        assert top("#frames .card") < 1.5 * PHONE[1]
        with rest(link, TRANSMITTER) as tx:  # a comparison pair's card fits the screen too: no sideways scroll
            with comparison_on(tx, "avif:20"):
                wait_for("a comparison pair", lambda: driver.find_elements(By.CSS_SELECTOR, "#frames .card.pair"),
                         timeout=30)
        assert driver.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
        # scrolled down to the frames, the slider is still on screen, above them
        driver.execute_script("document.querySelector('#frames .card').scrollIntoView({block: 'center'})")
        slider = driver.execute_script("return document.getElementById('loss-rate').getBoundingClientRect().toJSON()")
        assert 0 <= slider["top"] and slider["bottom"] <= PHONE[1]
        card = top("#frames .card")
        assert slider["bottom"] < card < PHONE[1]
        with rest(link, CHANNEL) as ch:
            driver.find_element(By.ID, "loss-rate").send_keys(*[Keys.ARROW_RIGHT] * 20)
            try:
                wait_for("the loss asked from the phone", lambda: ch.get("/v1/channel").json()["loss"] > 0.1)
            finally:
                ch.post("/v1/channel/reset")
        assert console_errors(driver) == []
    finally:
        driver.quit()

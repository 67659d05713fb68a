"""The live page in a real browser (headless chromium via Selenium) against the three services on free ports.

One set of services and one browser serve the whole module (two CPU cores): the
tests run in file order, the restart test last. The transmitter runs its shapes
stream at 2 frames/s (as the offline demo does).
"""

from __future__ import annotations

import base64
import os
import re
import time
from contextlib import contextmanager

import httpx
import pytest
from browser import answered_cards, console_errors, png_bytes, start_chromium, wait_for
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from semlink.launch import LinkConfig, LinkPorts, LocalLink
from semlink.launch.config import CHANNEL, RECEIVER, TRANSMITTER
from semlink.samples import sample_images

TIMINGS: dict[str, float] = {}
LOAD_AT_START = [0.0]


@pytest.fixture(scope="module")
def live(chromium):
    """(driver, link, ready_at): the browser started first, then the services; ``ready_at`` when all three
    answered ``/health/ready`` (the clock the issue's 3 s budget runs on)."""
    LOAD_AT_START[:] = [os.getloadavg()[0]]  # what else runs on these cores before ours start
    driver = start_chromium()
    config = LinkConfig(model="shapes-tiny", codec="learned", ports=LinkPorts.free(), source="shapes", source_fps=2)
    link = LocalLink(config, ready_timeout=120)
    try:
        link.start()
    except BaseException:
        driver.quit()
        raise
    ready_at = time.monotonic()
    try:
        # the transmitter's session through channel_sim opens a moment after every service is ready: measured (it
        # was 2-3 s while channel_sim's upstream channel backed off up to 5 s before the receiver listened), and
        # inside the first caption's budget, which runs from ready
        with rest(link, TRANSMITTER) as tx:
            wait_for("the transmitter's session open", lambda: tx.get("/health/ready").json()["session_open"],
                     timeout=30, every=0.02)
        TIMINGS["services_ready_to_link_open_s"] = time.monotonic() - ready_at
        yield driver, link, ready_at
    finally:
        driver.quit()
        link.stop()
        print("\npage timings:", {k: round(v, 3) for k, v in TIMINGS.items()})


def rest(link, service: str) -> httpx.Client:
    return httpx.Client(base_url=link.urls[service], timeout=10)


def on_page(live):
    """(driver, link): the page open (the first test opens it, timed; a test run alone opens it here)."""
    driver, link, _ = live
    if not driver.current_url.startswith(link.urls[RECEIVER]):
        driver.get(link.urls[RECEIVER] + "/")
    return driver, link


@contextmanager
def stream_paused(link):
    """The shapes stream paused (so this test's own frames stay among the newest cards), then running again."""
    with rest(link, TRANSMITTER) as tx:
        tx.put("/v1/source", json={"kind": "shapes", "fps": 2, "paused": True}).raise_for_status()
        try:
            yield
        finally:
            tx.put("/v1/source", json={"kind": "shapes", "fps": 2, "paused": False}).raise_for_status()


def test_first_caption_within_3_s_of_ready_with_no_console_errors(live):
    driver, link, ready_at = live
    driver.get(link.urls[RECEIVER] + "/")
    TIMINGS["page_loaded_s"] = time.monotonic() - ready_at
    wait_for("a caption on the page", lambda: any(c["answered"] for c in answered_cards(driver)), timeout=30, every=0.05)
    TIMINGS["first_caption_s"] = time.monotonic() - ready_at
    board = driver.execute_script("const b = window.semlink.board;"
                                  "return [performance.now(), b.firstFrameAt, b.firstCaptionAt]")
    TIMINGS["first_frame_to_caption_s"] = (board[2] - board[1]) / 1000
    TIMINGS["load_average_before"] = LOAD_AT_START[0]
    for name in ("receiver", "transmitter", "channel"):
        wait_for(f"{name} shown reachable",
                 lambda: driver.find_element(By.ID, f"svc-{name}").get_attribute("data-state") == "up")
    assert driver.find_element(By.ID, "banner").get_attribute("hidden") is not None
    assert console_errors(driver) == []
    # 3 s on this CPU when it is ours; other work on the same cores (the suite, other builds) stretches every stage,
    # so the budget stretches by how oversubscribed they already were before our services started
    contention = max(1.0, LOAD_AT_START[0] / (os.cpu_count() or 1))
    budget = 3.0 * contention
    assert TIMINGS["first_caption_s"] < budget, (
        f"first caption {TIMINGS['first_caption_s']:.2f}s after ready (budget {budget:.1f}s: 3 s x {contention:.1f} "
        f"load per core); timings {TIMINGS}")


def test_frames_show_thumbnail_caption_truth_and_boxes(live):
    driver, link = on_page(live)
    card = wait_for("a shapes frame with thumbnail, caption and truth", lambda: next(
        (c for c in answered_cards(driver) if c["thumb"] and c["truth"].startswith("truth:") and c["right"]), None))
    assert "wire B" in card["stats"] and "lost" in card["stats"] and "ms" in card["stats"]
    with rest(link, TRANSMITTER) as tx:
        truth = tx.get(f"/v1/frames/{card['frame_id']}").json()["truth"]
    assert card["truth"].startswith(f"truth: {truth['caption']}")
    assert card["right"] == ("true" if card["caption"].strip().lower() == truth["caption"].strip().lower() else "false")
    boxes = wait_for("<OD> boxes drawn over a thumbnail", lambda: driver.execute_script(
        "return document.querySelectorAll('#frames svg.boxes rect.pred-box').length"))
    assert boxes > 0
    assert driver.execute_script("return document.querySelectorAll('#frames svg.boxes rect.truth-box').length") > 0
    assert console_errors(driver) == []


def uploaded_ids(driver) -> set[int]:
    return set(driver.execute_script("return [...window.semlink.board.localThumbs.keys()]"))


def caption_shown_for(driver, frame_id: int) -> str:
    return wait_for(f"the caption of frame {frame_id}", lambda: next(
        (c["caption"] for c in answered_cards(driver) if c["frame_id"] == frame_id and c["answered"]), None))


def receiver_caption(link, frame_id: int) -> str:
    with rest(link, RECEIVER) as rx:
        return rx.post(f"/v1/frames/{frame_id}/tasks", json={"task": "<CAPTION>"}).json()["result"]


def test_an_upload_by_file_chooser_and_by_drop_gets_its_caption(live, tmp_path):
    driver, link = on_page(live)
    image, dropped = sample_images(6)[4:6]
    path = tmp_path / "upload.png"
    path.write_bytes(png_bytes(image))
    with stream_paused(link):
        before = uploaded_ids(driver)
        driver.find_element(By.ID, "file-input").send_keys(str(path))
        (frame_id,) = wait_for("the uploaded frame's id", lambda: uploaded_ids(driver) - before)
        assert caption_shown_for(driver, frame_id) == receiver_caption(link, frame_id)
        dropped_id = drop(driver, dropped)
        assert caption_shown_for(driver, dropped_id) == receiver_caption(link, dropped_id)
    assert console_errors(driver) == []


def drop(driver, image) -> int:
    """Drop ``image`` on the page's drop zone as a file dragged from the desktop would be; its frame id."""
    before = uploaded_ids(driver)
    driver.execute_script("""
        const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], 'dropped.png', {type: 'image/png'}));
        document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true}));
    """, base64.b64encode(png_bytes(image)).decode())
    (frame_id,) = wait_for("the dropped frame's id", lambda: uploaded_ids(driver) - before)
    return frame_id


def test_any_task_can_be_asked_again_of_a_received_frame(live):
    driver, link = on_page(live)
    with stream_paused(link):
        variant = wait_for("an answered frame", lambda: next(
            (v for v in driver.find_elements(By.CSS_SELECTOR, "#frames .variant")
             if "answered" in v.find_element(By.CLASS_NAME, "caption").get_attribute("class")), None))
        frame_id = variant.get_attribute("data-frame-id")
        Select(variant.find_element(By.CLASS_NAME, "task")).select_by_visible_text("<OD>")
        variant.find_element(By.CSS_SELECTOR, "button[type=submit]").send_keys(Keys.ENTER)
        answer = wait_for("the <OD> answer listed under the frame", lambda: driver.execute_script(
            "const v = document.querySelector(`#frames .variant[data-frame-id='${arguments[0]}'] .answers li`);"
            "return v && v.textContent;", frame_id))
    assert answer.startswith("<OD> ") and "drawn on the thumbnail" in answer  # its boxes, not raw JSON


def test_moving_the_loss_control_changes_the_channel_and_the_realised_loss_shown(live):
    driver, link = on_page(live)
    with rest(link, CHANNEL) as ch:
        ch.post("/v1/channel/reset")
        Select(driver.find_element(By.ID, "loss-model")).select_by_value("bernoulli")
        slider = driver.find_element(By.ID, "loss-rate")
        slider.send_keys(*[Keys.ARROW_RIGHT] * 40)  # keyboard-operable: 40 steps of 0.01
        channel = wait_for("GET /v1/channel to show loss 0.4", lambda: (c := ch.get("/v1/channel").json())["loss"] == 0.4 and c)
        assert channel["loss_model"] == "bernoulli"
        assert driver.find_element(By.ID, "loss-rate-out").text == "0.40"
        wait_for("the asked loss shown", lambda: driver.find_element(By.ID, "asked-loss").text.startswith("40.0 %"))
        shown = wait_for("a realised loss above 10 % shown", lambda: (
            (t := driver.find_element(By.ID, "realised-loss").text).endswith("%") and float(t.split()[0]) > 10 and t),
            timeout=40)
        realised = ch.get("/v1/stats").json()["realised_loss_rate"]
        assert abs(float(shown.split()[0]) - 100 * realised) < 15  # polled once a second while frames flow
        driver.find_element(By.ID, "channel-reset").send_keys(Keys.ENTER)
        wait_for("the reset channel", lambda: ch.get("/v1/channel").json()["loss"] == 0)
        wait_for("the form reset", lambda: driver.find_element(By.ID, "loss-rate-out").text == "0.00")
    assert console_errors(driver) == []


def test_burst_loss_snr_and_delay_controls_put_the_channel(live):
    driver, link = on_page(live)
    with rest(link, CHANNEL) as ch:
        Select(driver.find_element(By.ID, "loss-model")).select_by_value("gilbert_elliott")
        burst = driver.find_element(By.ID, "burst")
        burst.clear()
        burst.send_keys("4")
        driver.find_element(By.ID, "loss-rate").send_keys(*[Keys.ARROW_RIGHT] * 20)
        snr = driver.find_element(By.ID, "snr-db")
        snr.send_keys("6")
        delay = driver.find_element(By.ID, "delay-ms")
        delay.clear()
        delay.send_keys("20", Keys.TAB)
        Select(driver.find_element(By.ID, "datagram-overhead")).select_by_value("40")  # RTP/UDP/IPv4
        channel = wait_for("the channel PUT by the form", lambda: (c := ch.get("/v1/channel").json())["snr_db"] == 6
                           and c["delay_ms"] == 20 and c["loss_model"] == "gilbert_elliott"
                           and c["datagram_overhead"] == 40 and c)
        assert channel["ge_r"] == pytest.approx(0.25) and channel["expected_loss_rate"] == pytest.approx(0.2)
        assert channel["effective_ber"] > 0
        wait_for("the asked figures shown", lambda: driver.find_element(By.ID, "asked-loss").text.startswith("20.0 %")
                 and driver.find_element(By.ID, "asked-delay").text == "20 ± 0"
                 and driver.find_element(By.ID, "asked-transport").text == "40 B")
        # a frame carried since then: its card counts 40 B per datagram, as the receiver does; so does the chart
        fid, shown, datagrams = wait_for("a frame card with 40 B of transport per datagram", lambda: next(
            ((int(i), int(re.sub(r"\D", "", m[1])), int(m[2])) for i, text in frame_cards(driver)
             if (m := re.search(r"([\d,.\s]+) wire B \((\d+) × 40 B transport\)", text))), None), timeout=30)
        with rest(link, RECEIVER) as rx:
            record = rx.get(f"/v1/frames/{fid}").json()
        assert (record["wire_bytes"], record["datagrams"], record["datagram_overhead"]) == (shown, datagrams, 40)
        assert "incl. " in (title := driver.find_element(By.CSS_SELECTOR, "#charts figcaption span").text) \
            and "40 B transport per datagram" in title
        driver.find_element(By.ID, "channel-reset").click()
        wait_for("the reset channel", lambda: ch.get("/v1/channel").json()["loss_model"] == "none")
        wait_for("the form reset", lambda: driver.find_element(By.ID, "snr-db").get_attribute("value") == ""
                 and driver.find_element(By.ID, "datagram-overhead").get_attribute("value") == "0")
    assert console_errors(driver) == []


def frame_cards(driver) -> list[tuple[str, str]]:
    """(frame id, the line of link figures) of every frame card shown now."""
    return driver.execute_script("return [...document.querySelectorAll('[data-frame-id]')].map("
                                 "(d) => [d.dataset.frameId, d.querySelector('.codec').textContent])")


def test_comparison_mode_shows_two_answers_for_one_frame(live):
    """The default reference is the best pixel peer (AVIF in streaming form, decoded and run through the receiver's
    vision tower): its card shows its name, bytes and answer beside the learned one; fp16 stays selectable."""
    driver, link = on_page(live)
    with rest(link, TRANSMITTER) as tx:
        reference = Select(driver.find_element(By.ID, "reference"))
        assert [o.get_attribute("value") for o in reference.options] == ["avif:20", "fp16"]
        assert reference.first_selected_option.get_attribute("value") == "avif:20"
        driver.find_element(By.ID, "comparison").click()
        wait_for("comparison enabled on the transmitter", lambda: tx.get("/v1/comparison").json()["enabled"])
        try:
            pair = wait_for("a frame shown with two answers", lambda: _answered_pair(driver), timeout=30)
            reference.select_by_value("fp16")
            wait_for("fp16 chosen on the transmitter", lambda: tx.get("/v1/comparison").json()["reference"] == "fp16")
        finally:
            reference.select_by_value("avif:20")
            driver.find_element(By.ID, "comparison").click()
            wait_for("comparison off, back on avif:20",
                     lambda: tx.get("/v1/comparison").json() == {"enabled": False, "reference": "avif:20",
                                                                 "offered": ["avif:20", "fp16"]})
    assert [v["codec"] for v in pair] == ["learned", "pixels-avif"]
    assert all("wire B" in v["stats"] for v in pair) and "avif:20 (pixels-avif)" in pair[1]["stats"]
    learned_bytes, avif_bytes = (int(v["stats"].split(" wire B")[0].split("·")[-1].replace(",", "")) for v in pair)
    assert learned_bytes > 0 and avif_bytes > 0  # ~80 B and ~110 B a shapes scene on average (the eval's figures)
    assert console_errors(driver) == []


def _answered_pair(driver):
    """The variants of the first card that shows a comparison pair with both answers, or ``None``."""
    cards = driver.execute_script("""return [...document.querySelectorAll('#frames .card.pair')].map(c =>
        [...c.querySelectorAll('.variant')].map(v => ({codec: v.dataset.codec,
          answered: v.querySelector('.caption').classList.contains('answered'),
          stats: v.querySelector('.codec').textContent})))""")
    return next((card for card in cards if len(card) == 2 and all(v["answered"] for v in card)), None)


def test_camera_frames_are_posted_and_captioned(live):
    driver, link = on_page(live)
    before = uploaded_ids(driver)
    with stream_paused(link):
        driver.find_element(By.ID, "camera-toggle").click()
        try:
            new = wait_for("camera frames posted", lambda: uploaded_ids(driver) - before, timeout=20)
        finally:
            driver.find_element(By.ID, "camera-toggle").click()
        caption_shown_for(driver, min(new))
    with rest(link, TRANSMITTER) as tx:
        assert tx.get(f"/v1/frames/{min(new)}").json()["source"] == "camera"
    assert driver.find_element(By.ID, "camera-toggle").get_attribute("aria-pressed") == "false"
    assert console_errors(driver) == []


LAG_PROBE = """
window.lagProbe = {max: 0, last: performance.now()};
window.lagProbe.timer = setInterval(() => {
  const now = performance.now();
  window.lagProbe.max = Math.max(window.lagProbe.max, now - window.lagProbe.last - 50);
  window.lagProbe.last = now;
}, 50);
"""


def sent_frames(tx: httpx.Client) -> int:
    frames = tx.get("/v1/stats").json()["frames"]
    return frames["acked"] + frames["partial"]


def test_stays_responsive_at_10_frames_per_second(live):
    """The shapes stream asked for 10 frames/s: the page shows every frame the link delivers (as fast as this CPU
    encodes them), its event loop never stalls, and it keeps only its newest cards."""
    driver, link = on_page(live)
    with rest(link, TRANSMITTER) as tx:
        tx.put("/v1/source", json={"kind": "shapes", "fps": 10, "paused": False}).raise_for_status()
        try:
            driver.execute_script(LAG_PROBE)
            first, sent_before = driver.execute_script("return window.semlink.board.order.length"), sent_frames(tx)
            started = time.monotonic()
            round_trips = []
            while time.monotonic() - started < 10:
                t = time.monotonic()
                driver.execute_script("return document.querySelectorAll('#frames .card').length")
                round_trips.append(time.monotonic() - t)
                time.sleep(0.25)
            seconds, sent = time.monotonic() - started, sent_frames(tx) - sent_before
            time.sleep(1.0)  # the last frames' events
            received = driver.execute_script("return window.semlink.board.order.length") - first
            lag = driver.execute_script("clearInterval(window.lagProbe.timer); return window.lagProbe.max")
            cards = driver.execute_script("return document.querySelectorAll('#frames .card').length")
            recent = driver.execute_script(
                "return window.semlink.board.recent(30).filter(f => f.caption !== undefined).length")
        finally:
            tx.put("/v1/source", json={"kind": "shapes", "fps": 2, "paused": False})
    TIMINGS.update(fps10_link_frames_per_s=sent / seconds, fps10_page_frames_per_s=received / seconds,
                   fps10_max_event_loop_lag_ms=lag, fps10_max_round_trip_ms=1000 * max(round_trips),
                   fps10_captioned_of_last_30=recent, fps10_load_average=os.getloadavg()[0])
    assert sent > 0
    assert received >= 0.9 * sent, f"the link delivered {sent} frames in {seconds:.1f}s, the page showed {received}"
    assert lag < 500, f"the page's event loop stalled {lag:.0f} ms"
    assert max(round_trips) < 1.0
    assert cards <= 8  # older cards (and their thumbnails) are dropped
    assert recent > 0
    assert console_errors(driver) == []


def test_the_layout_fits_laptop_and_narrow_windows(live):
    driver, link = on_page(live)
    try:
        for width in (1366, 1024, 800):
            driver.set_window_size(width, 900)
            wait_for(f"no horizontal scrolling at {width} px", lambda: driver.execute_script(
                "return document.documentElement.scrollWidth <= window.innerWidth"), timeout=5)
            columns = 1 if width < 900 else 2  # read once the resize has reached the layout, not before
            wait_for(f"{columns} column(s) at {width} px", lambda: driver.execute_script(
                "return getComputedStyle(document.querySelector('main')).gridTemplateColumns.split(' ').length")
                == columns, timeout=5)
    finally:
        driver.set_window_size(1366, 900)


def test_a_service_restart_is_survived(live):
    driver, link = on_page(live)
    for name, key in ((RECEIVER, "receiver"), (TRANSMITTER, "transmitter"), (CHANNEL, "channel")):
        service = link.services[name]
        service.stop(10)
        wait_for(f"the page to say it cannot reach the {key}", lambda: key in driver.find_element(By.ID, "banner").text
                 and driver.find_element(By.ID, f"svc-{key}").get_attribute("data-state") == "down")
        seen = set(driver.execute_script("return window.semlink.board.order"))
        service.start()
        with httpx.Client() as client:
            service.wait_ready(time.monotonic() + 120, client)
        wait_for(f"the banner gone after the {key} restart",
                 lambda: driver.find_element(By.ID, "banner").get_attribute("hidden") is not None, timeout=30)
        wait_for(f"new frames captioned after the {key} restart", lambda: any(
            c["answered"] and c["frame_id"] not in seen for c in answered_cards(driver)), timeout=30)
    errors = [e for e in console_errors(driver) if "ERR_CONNECTION_REFUSED" not in e["message"]
              and "Failed to fetch" not in e["message"] and "net::" not in e["message"]]
    assert errors == []

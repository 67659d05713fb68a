"""Screenshots of the live page at work, for docs/page/ and the README, taken in headless chromium.

Starts the three services (shapes-tiny, learned codec, the shapes stream at 2
frames/s) on free ports, opens the page, sets a lossy channel with the page's own
controls, and saves:

  overview.png     the page at 1366 px: the savings headline under the title; an answered card of two objects or
                   more (its labels clear of each other when one such comes within 40 s) pinned on top with <OD>
                   asked again through its form (its boxes and labels drawn on the thumbnail, the answer listed
                   under it) above the rolling cards with captions, truth and boxes; the controls; the charts with
                   their axes and units
  comparison.png   comparison mode with the default reference (AVIF), the channel switched to Gilbert-Elliott bursts
                   of the same mean loss: each card one frame number for its learned and reference answers side
                   by side, with their bytes, a frame lost in a burst named "lost: no packet arrived" among four
                   whole pairs or more when one is (waited for, not required); the headline against the reference,
                   the bytes chart with both codecs
  laptop.png       the page at 1024 px (the frames still beside the controls: one column below 900 px), the
                   channel reset
  phone.png        the page on a 390 x 844 phone: the channel's strip above the frames, the lossy channel set on it

Each is taken from the top of the page, nothing focused, once every card shown has its thumbnail, its answers and
(every frame that arrived) its boxes (or after 30 s, saying so); taken again if a card came meanwhile.

It also prints the page's timings (ready -> page loaded -> first caption). Example:

  .venv/bin/python scripts/screenshot-page.py --out docs/page
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "page"))

from browser import answered_cards, console_errors, missing_browser, start_chromium, wait_for  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

from semlink.launch import LinkConfig, LinkPorts, LocalLink  # noqa: E402
from semlink.launch.config import RECEIVER, TRANSMITTER  # noqa: E402


# a shown card's frame and whether its thumbnail's labels (truth and the <OD> the page asked) stand clear of each other
CANDIDATES = """
    const board = window.semlink.board;
    const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    return [...document.querySelectorAll('#frames .card:not(.pinned):not(.pair) .variant')].map(v => {
      const f = board.frames.get(Number(v.dataset.frameId)), card = v.closest('.card');
      const labels = [...card.querySelectorAll('.box-label')].map(l => l.getBoundingClientRect());
      return {key: card.dataset.key, frame: f && f.id, ready: Boolean(v.querySelector('.caption.answered')
                && card.querySelector('img[src]') && f && f.truth && (f.truth.objects || []).length >= 2
                && card.querySelectorAll('rect.pred-box').length >= 2),
              clear: labels.every((a, i) => labels.slice(i + 1).every(b => !overlap(a, b)))};
    });"""


def pin_and_ask_od(driver) -> str:
    """Pin a shown card that is answered, has its thumbnail and two objects or more (their labels clear of each
    other if one such comes within 40 s), and ask <OD> of it with its own form; the card's key, once the answer is
    listed and its boxes drawn."""
    def pick(clear: bool):
        return next(([c["key"], c["frame"]] for c in driver.execute_script(CANDIDATES)
                     if c["ready"] and (c["clear"] or not clear)), None)
    try:
        key, frame_id = wait_for("an answered card whose labels stand clear", lambda: pick(True), timeout=40)
    except AssertionError:
        key, frame_id = wait_for("an answered card with two objects", lambda: pick(False), timeout=30)
    card = f"#frames .card[data-key='{key}']"
    driver.find_element(By.CSS_SELECTOR, f"{card} button.pin").click()
    wait_for("the card shown pinned", lambda: driver.find_element(By.CSS_SELECTOR, card).get_attribute(
        "class").split().count("pinned"))
    variant = driver.find_element(By.CSS_SELECTOR, f"#frames .variant[data-frame-id='{frame_id}']")
    Select(variant.find_element(By.CLASS_NAME, "task")).select_by_visible_text("<OD>")
    variant.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(f"the <OD> answer listed under frame {frame_id}", lambda: driver.execute_script(
        "const li = document.querySelector(`#frames .variant[data-frame-id='${arguments[0]}'] .answers li`);"
        "return li && li.textContent.startsWith('<OD> ');", frame_id), timeout=30)
    wait_for("the answer's boxes drawn on the pinned thumbnail", lambda: driver.execute_script(
        "return document.querySelectorAll(arguments[0] + ' svg.boxes rect.pred-box').length", card), timeout=10)
    return key


def comparison_shown(driver) -> dict:
    """What the comparison cards show: how many have both halves answered under one frame number, and the loss
    causes named."""
    return driver.execute_script("""
        const cards = [...document.querySelectorAll('#frames .card.pair')];
        const whole = cards.filter(c => {
          const v = [...c.querySelectorAll('.variant')];
          const numbers = new Set(v.map(x => x.querySelector('.codec').textContent.split(' · ')[0]));
          return v.length === 2 && numbers.size === 1 && v.every(x => x.querySelector('.caption.answered'));
        });
        return {whole: whole.length, lost: cards.flatMap(c => [...c.querySelectorAll('.caption.error')])
          .map(c => c.textContent).filter(t => t.startsWith('lost: '))};""")


def settled(driver) -> list | None:
    """The cards shown (their keys) once every one has its thumbnail, every frame on it its caption or its loss,
    and every frame that arrived its <OD> boxes (the page asks them of each frame shown); else None."""
    return driver.execute_script("""const cards = [...document.querySelectorAll('#frames .card')];
        const board = window.semlink.board;
        const boxed = (v) => { const f = board.frames.get(Number(v.dataset.frameId));
          return !f || !f.status || f.status === 'lost' || f.status === 'rejected' || Boolean(f.od); };
        const done = cards.length > 0 && cards.every(c => c.querySelector('img[src]')
          && [...c.querySelectorAll('.caption')].every(p => /\\b(answered|error)\\b/.test(p.className))
          && [...c.querySelectorAll('.variant')].every(boxed));
        return done ? cards.map(c => c.dataset.key) : null;""")


def shoot(driver, path: Path) -> None:
    """Save the page from its top, nothing focused, once no card waits for its thumbnail, caption or boxes (or
    after 30 s, saying so). The stream may still run: a shot during which a card came is taken again."""
    deadline = time.monotonic() + 30
    while True:
        try:
            before = wait_for("every card with its thumbnail, answer and boxes", lambda: settled(driver),
                              timeout=max(deadline - time.monotonic(), 0.1), every=0.05)
        except AssertionError as err:
            print(f"{path.name}: {err}", file=sys.stderr)
            before = None
        driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
        png = driver.get_screenshot_as_png()
        if before is None or settled(driver) == before or time.monotonic() > deadline:
            break
    path.write_bytes(png)


def shapes_stream(link, paused: bool) -> None:
    httpx.put(link.urls[TRANSMITTER] + "/v1/source", json={"kind": "shapes", "fps": 2, "paused": paused})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "page", help="folder for the PNGs")
    parser.add_argument("--loss", type=int, default=15, help="Bernoulli loss set with the slider, in %% (default 15)")
    parser.add_argument("--burst", type=int, default=10, help="mean burst length in packets of the comparison "
                        "shot's Gilbert-Elliott channel (default 10)")
    args = parser.parse_args()
    if reason := missing_browser():
        print(f"screenshot-page: {reason}", file=sys.stderr)
        return 2
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    driver = start_chromium(1366, 2000)  # tall enough for the charts below the controls
    config = LinkConfig(model="shapes-tiny", codec="learned", ports=LinkPorts.free(), source="shapes", source_fps=2)
    try:
        with LocalLink(config, ready_timeout=120) as link:
            ready = time.monotonic()
            driver.get(link.urls[RECEIVER] + "/")
            loaded = time.monotonic() - ready
            wait_for("a caption", lambda: any(c["answered"] for c in answered_cards(driver)), timeout=30, every=0.05)
            print(f"page loaded {loaded:.2f}s and first caption {time.monotonic() - ready:.2f}s after the services "
                  "were ready")
            Select(driver.find_element(By.ID, "loss-model")).select_by_value("bernoulli")
            driver.find_element(By.ID, "loss-rate").send_keys(*[Keys.ARROW_RIGHT] * args.loss)
            pinned = pin_and_ask_od(driver)
            wait_for("the headline", lambda: driver.find_element(By.ID, "headline").is_displayed(), timeout=30)
            time.sleep(12)  # charts fill, realised loss settles
            shoot(driver, args.out / "overview.png")
            driver.find_element(By.CSS_SELECTOR, f"#frames .card[data-key='{pinned}'] button.pin").click()  # unpinned
            burst = driver.find_element(By.ID, "burst")  # the same mean loss in bursts: now and then a whole frame
            burst.clear()
            burst.send_keys(str(args.burst))
            Select(driver.find_element(By.ID, "loss-model")).select_by_value("gilbert_elliott")
            driver.find_element(By.ID, "comparison").click()
            wait_for("a comparison card with both answers under one frame number, and the headline against the "
                     "reference", lambda: comparison_shown(driver)["whole"] and driver.execute_script(
                         "return document.getElementById('headline').dataset.reference"), timeout=60)
            shown = {}
            for _ in range(3):  # a lost cause among 4 whole pairs if within 40 s; the cards when paused
                try:
                    wait_for("a frame lost whole among 4 whole pairs", lambda: (
                        (now := comparison_shown(driver))["lost"] and now["whole"] >= 4), timeout=40)
                except AssertionError:
                    pass
                shapes_stream(link, paused=True)
                time.sleep(3)  # the last frames' answers arrive
                if (shown := comparison_shown(driver))["whole"]:
                    break
                shapes_stream(link, paused=False)
            print(f"comparison: {shown.get('whole', 0)} cards with both answers; lost: {shown.get('lost') or 'none'}")
            shoot(driver, args.out / "comparison.png")
            driver.find_element(By.ID, "comparison").click()
            driver.find_element(By.ID, "channel-reset").click()
            shapes_stream(link, paused=False)
            driver.set_window_size(1024, 900)
            time.sleep(3)
            shoot(driver, args.out / "laptop.png")
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {  # a headless window is >= 500 px wide
                "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
            driver.get(link.urls[RECEIVER] + "/")  # loaded as a phone: the channel's strip folded
            wait_for("a caption", lambda: any(c["answered"] for c in answered_cards(driver)), timeout=30)
            Select(driver.find_element(By.ID, "loss-model")).select_by_value("bernoulli")
            driver.find_element(By.ID, "loss-rate").send_keys(*[Keys.ARROW_RIGHT] * args.loss)
            time.sleep(8)
            shoot(driver, args.out / "phone.png")
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
            shapes_stream(link, paused=True)
            if errors := console_errors(driver):
                print(f"console errors: {errors}", file=sys.stderr)
                return 1
    finally:
        driver.quit()
    named = lambda p: p.relative_to(ROOT) if p.is_relative_to(ROOT) else p  # noqa: E731
    print(f"saved {', '.join(str(named(p)) for p in sorted(args.out.glob('*.png')))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

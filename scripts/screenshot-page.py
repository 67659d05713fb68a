"""Screenshots of the live page at work, for docs/page/ and the README, taken in headless chromium.

Starts the three services (shapes-tiny, learned codec, the shapes stream at 2
frames/s) on free ports, opens the page, sets a lossy channel with the page's own
controls, and saves:

  overview.png     the page at 1366 px: frames with captions, truth and boxes, controls, charts
  comparison.png   comparison mode: each frame's learned and reference (AVIF by default) answers side by side, with their bytes
  laptop.png       the page at 1024 px (one column)
  phone.png        the page on a 390 x 844 phone: the channel's strip above the frames, the lossy channel set on it

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "page", help="folder for the PNGs")
    parser.add_argument("--loss", type=int, default=15, help="Bernoulli loss set with the slider, in %% (default 15)")
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
            time.sleep(12)  # charts fill, realised loss settles
            driver.save_screenshot(str(args.out / "overview.png"))
            driver.find_element(By.ID, "channel-reset").click()
            driver.find_element(By.ID, "comparison").click()
            wait_for("a comparison pair", lambda: driver.find_elements(By.CSS_SELECTOR, "#frames .card.pair"), timeout=30)
            time.sleep(4)
            httpx.put(link.urls[TRANSMITTER] + "/v1/source", json={"kind": "shapes", "fps": 2, "paused": True})
            time.sleep(3)  # the last frames' answers arrive
            driver.save_screenshot(str(args.out / "comparison.png"))
            driver.find_element(By.ID, "comparison").click()
            httpx.put(link.urls[TRANSMITTER] + "/v1/source", json={"kind": "shapes", "fps": 2, "paused": False})
            driver.set_window_size(1024, 900)
            time.sleep(3)
            driver.save_screenshot(str(args.out / "laptop.png"))
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {  # a headless window is >= 500 px wide
                "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
            driver.get(link.urls[RECEIVER] + "/")  # loaded as a phone: the channel's strip folded
            wait_for("a caption", lambda: any(c["answered"] for c in answered_cards(driver)), timeout=30)
            Select(driver.find_element(By.ID, "loss-model")).select_by_value("bernoulli")
            driver.find_element(By.ID, "loss-rate").send_keys(*[Keys.ARROW_RIGHT] * args.loss)
            time.sleep(8)
            driver.save_screenshot(str(args.out / "phone.png"))
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
            httpx.put(link.urls[TRANSMITTER] + "/v1/source", json={"kind": "shapes", "fps": 2, "paused": True})
            if errors := console_errors(driver):
                print(f"console errors: {errors}", file=sys.stderr)
                return 1
    finally:
        driver.quit()
    print(f"saved {', '.join(str(p.relative_to(ROOT)) for p in sorted(args.out.glob('*.png')))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

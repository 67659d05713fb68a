"""Helpers for the page tests: a headless chromium, its console log, waits on the page, the services it watches."""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

CHROMIUM = os.environ.get("SEMLINK_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SEMLINK_CHROMEDRIVER", "/usr/bin/chromedriver")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.exists(path) or shutil.which(path)):
            return f"{path} not installed: apt-get install {package} (Debian) to run the page tests"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed: pip install 'selenium>=4.20' to run the page tests"
    return None


def start_chromium(width: int = 1366, height: int = 900):
    """Headless chromium with a fake camera, its console captured (``goog:loggingPrefs``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which(CHROMIUM) or CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which(CHROMEDRIVER) or CHROMEDRIVER), options=options)


def console_errors(driver) -> list[dict]:
    """The browser console's errors since the last call (SEVERE entries)."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def wait_for(what: str, check: Callable[[], object], timeout: float = 20.0, every: float = 0.1):
    """``check()``'s first truthy value within ``timeout`` seconds; else an AssertionError naming ``what``."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            if value := check():
                return value
        except Exception as err:  # the page is changing under us: stale elements, a reload
            last_error = err
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}" + (f" ({last_error})" if last_error else ""))


def answered_cards(driver) -> list[dict]:
    """Every frame shown with an answer: ids, codecs, captions and the truth line, one dict per variant."""
    return driver.execute_script("""
        return [...document.querySelectorAll('#frames .variant')].map(v => ({
          frame_id: Number(v.dataset.frameId), codec: v.dataset.codec,
          caption: v.querySelector('.caption').textContent,
          answered: v.querySelector('.caption').classList.contains('answered'),
          truth: v.querySelector('.truth').textContent, right: v.querySelector('.truth').dataset.right,
          pair: v.closest('.card').classList.contains('pair'),
          thumb: Boolean(v.closest('.card').querySelector('img').getAttribute('src')),
          stats: v.querySelector('.codec').textContent}));""")


def png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@contextmanager
def comparison_on(tx, reference: str) -> Iterator[None]:
    """Comparison mode on with ``reference`` on the transmitter ``tx`` (an HTTP client of it) for the block; after
    it, whatever happened, off again with the reference it had before (the next test finds it as it was)."""
    before = tx.get("/v1/comparison").json()["reference"]
    tx.put("/v1/comparison", json={"enabled": True, "reference": reference}).raise_for_status()
    try:
        yield
    finally:
        tx.put("/v1/comparison", json={"enabled": False, "reference": before}).raise_for_status()


@contextmanager
def page_on_shapes_stream(fps: float = 2, **link) -> Iterator[tuple]:
    """(driver, link): a headless chromium with the page open on the three services (shapes-tiny, the learned
    codec, the shapes stream at ``fps`` frames/s; ``link``: more LinkConfig fields), both stopped afterwards."""
    from semlink.launch import LinkConfig, LinkPorts, LocalLink
    from semlink.launch.config import RECEIVER

    driver = start_chromium()
    config = LinkConfig(model="shapes-tiny", codec="learned", ports=LinkPorts.free(), source="shapes", source_fps=fps,
                        **link)
    link = LocalLink(config, ready_timeout=120)
    try:
        link.start()
        driver.get(link.urls[RECEIVER] + "/")
        yield driver, link
    finally:
        driver.quit()
        link.stop()

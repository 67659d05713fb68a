"""Page tests: Debian's chromium driven by Selenium (headless) against the three real services on free ports."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser import CHROMEDRIVER, CHROMIUM, missing_browser  # noqa: E402


@pytest.fixture(scope="module")
def chromium():
    """Skips, saying what to install, where chromium or chromedriver is missing."""
    if reason := missing_browser():
        pytest.skip(reason)
    return shutil.which(CHROMIUM) or CHROMIUM, shutil.which(CHROMEDRIVER) or CHROMEDRIVER

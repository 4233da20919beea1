"""The ``browser`` fixture: headless Chromium from the system packages (Debian's
``chromium`` and ``chromium-driver``), driven by Selenium, for the report pages' tests.
Nothing is downloaded: where Chromium, its driver or Selenium is missing the tests skip
and say which. ``MOOPT_CHROMIUM`` and ``MOOPT_CHROMEDRIVER`` name other binaries."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest


class Browser:
    """One headless Chromium window: open a file, collect console errors, screenshot."""

    def __init__(self, driver):
        self.driver = driver

    def open(self, path: Path) -> None:
        self.driver.get_log("browser")  # drop what an earlier page logged
        self.driver.get(Path(path).resolve().as_uri())

    def console_errors(self) -> list[str]:
        """Messages logged at level SEVERE (console.error, uncaught exceptions, failed
        loads) since the last call."""
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def screenshot(self, path: Path, height: int | None = None) -> Path:
        """A PNG of the page from its top, ``height`` CSS pixels tall (default: all of it)."""
        full = int(self.js("return document.documentElement.scrollHeight"))
        width = int(self.js("return document.documentElement.clientWidth"))
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": min(height or full, full),
                     "scale": 1},
        })  # fmt: skip
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(base64.b64decode(shot["data"]))
        return Path(path)


def _binary(env: str, *names: str) -> str | None:
    if os.environ.get(env):
        return os.environ[env] if os.path.isfile(os.environ[env]) else None
    return next((found for n in names if (found := shutil.which(n))), None)


class BrowserUnavailable(Exception):
    """Why no headless Chromium could be started."""


def start_browser() -> Browser:
    """Headless Chromium (1300 x 1000 window) or :class:`BrowserUnavailable`."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        raise BrowserUnavailable("selenium is not installed (pip install selenium; it is in "
                                 "the dev extra)") from exc
    chromium = _binary("MOOPT_CHROMIUM", "chromium", "chromium-browser", "google-chrome")
    driver_path = _binary("MOOPT_CHROMEDRIVER", "chromedriver")
    if chromium is None or driver_path is None:
        raise BrowserUnavailable("no system Chromium and chromedriver (Debian: apt-get install "
                                 "chromium chromium-driver; .ci/run does this where it runs "
                                 "as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1300,1000", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    except Exception as exc:  # a driver that does not match the browser, say
        raise BrowserUnavailable(f"headless Chromium did not start: "
                                 f"{str(exc).splitlines()[0]}") from exc
    return Browser(driver)


@pytest.fixture(scope="session")
def browser():
    try:
        b = start_browser()
    except BrowserUnavailable as exc:
        pytest.skip(str(exc))
    yield b
    b.driver.quit()

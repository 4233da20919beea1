"""The ``browser`` fixture: headless Chromium from the system packages (Debian's
``chromium`` and ``chromium-driver``), driven by Selenium, for the report pages' and the
documentation site's tests (``serve_folder`` serves a built site over local HTTP).
Nothing is downloaded: where Chromium, its driver or Selenium is missing the tests skip
and say which. ``MOOPT_CHROMIUM`` and ``MOOPT_CHROMEDRIVER`` name other binaries."""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from long_files import LONG_FILES

# One BLAS/OpenMP thread per test process: ``make test`` runs one pytest-xdist worker per
# core, so a torch or NumPy call asking for every core in each worker oversubscribes the
# machine, and the OpenMP threads spin while they wait (a MOBO test took 33 s of CPU with
# two threads against 12 s with one). Set before torch is imported; subprocesses (CLI
# jobs, notebook kernels) inherit it. Numba's own thread count is left alone: tests
# compare its kernels on one thread and on several.
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
# nbmake runs every notebook as a test (pyproject.toml) in a kernel that inherits this
# environment: with MOOPT_NOTEBOOK_QUICK=1 a notebook runs its small-settings cell smaller
# still where nothing it checks depends on the size (04_multimodal: one epoch per
# training, not three) and torch on one thread. The committed outputs are those of the
# settings as written. (Set here, not in a notebooks/conftest.py: a third module named
# conftest breaks --doctest-modules' import of the others.)
os.environ.setdefault("MOOPT_NOTEBOOK_QUICK", "1")


class Browser:
    """One headless Chromium window: open a file, collect console errors, screenshot."""

    def __init__(self, driver):
        self.driver = driver

    def open(self, path: Path | str) -> None:
        """Open a file, or a URL given as a string with a scheme (``http://...``)."""
        self.driver.get_log("browser")  # drop what an earlier page logged
        url = path if isinstance(path, str) and "://" in path else Path(path).resolve().as_uri()
        self.driver.get(url)

    def serve(self, folder: Path):
        """``serve_folder(folder)``: a context manager yielding the folder's local URL."""
        return serve_folder(folder)

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until the page has loaded and no CSS transition or animation runs (a
        screenshot taken mid-transition shows half-faded navigation)."""
        end = time.monotonic() + timeout
        script = ("return document.readyState === 'complete' && document.getAnimations()"
                  ".every(a => a.playState !== 'running')")  # fmt: skip
        while not self.js(script) and time.monotonic() < end:
            time.sleep(0.05)

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


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002  (the base class's name)
        pass


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on a free local port for the duration; yields its base URL.
    A built MkDocs site needs HTTP: its search runs in a web worker, which file:// blocks."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


ROOT = Path(__file__).resolve().parents[1]


def build_site(dest: Path) -> Path:
    """Build the documentation site (mkdocs.yml, strict) into ``dest``; RuntimeError with
    MkDocs' messages if the build fails."""
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                          "--site-dir", str(dest)], cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"mkdocs build --strict failed:\n{run.stderr[-4000:]}")
    return Path(dest)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The documentation site: the one ``make test`` built (``MOOPT_SITE_DIR``), else a
    fresh strict build in a temporary folder."""
    given = os.environ.get("MOOPT_SITE_DIR")
    if given and (Path(given) / "index.html").is_file():
        return Path(given)
    return build_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="session")
def browser():
    try:
        b = start_browser()
    except BrowserUnavailable as exc:
        pytest.skip(str(exc))
    yield b
    b.driver.quit()


def pytest_configure(config):
    # pytest-xdist orders the files by their number of tests (most first) unless told
    # not to; that put the one-test notebooks and the kill-and-rerun jobs last.
    if getattr(config.option, "loadscopereorder", None):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items):
    """Run the files of ``LONG_FILES`` first, in its order; the others keep theirs."""
    rank = {name: i for i, name in enumerate(LONG_FILES)}

    def key(item):
        return rank.get(item.path.relative_to(ROOT).as_posix(), len(rank))

    items.sort(key=key)  # stable: each file's tests stay together and in order

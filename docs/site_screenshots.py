"""Screenshots of the documentation site for docs/figures, taken in the headless Chromium
the browser tests use (tests/conftest.py): the home page, a tutorial (a rendered notebook)
and an API page, each from its top, as a reader first sees it.

    .venv/bin/python docs/site_screenshots.py [SITE_DIR]

builds the site (strict) into a temporary folder, or takes the one already built in
SITE_DIR (``make docs`` builds site/), serves it on a local port and writes
docs/figures/site_home.png, site_tutorial.png and site_api.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 1300
SHOTS = [  # (page, file, height in CSS pixels)
    ("", "site_home.png", 1000),
    ("tutorials/05_external_scores/", "site_tutorial.png", 1400),
    ("api/moopt/", "site_api.png", 1400),
]


def main(built: str | None = None) -> None:
    sys.path.append(str(ROOT / "tests"))
    from conftest import build_site, serve_folder, start_browser

    with tempfile.TemporaryDirectory() as tmp:
        site = Path(built) if built else build_site(Path(tmp) / "site")
        if not (site / "index.html").is_file():
            raise SystemExit(f"{site} holds no built site (make docs builds site/)")
        b = start_browser()
        try:
            with serve_folder(site) as url:
                for page, name, height in SHOTS:
                    # A window as tall as the picture, shot as it is: capturing beyond the
                    # window resizes the page, which replays the theme's tab transitions.
                    chrome = b.js("return window.outerHeight - window.innerHeight")
                    b.driver.set_window_size(WIDTH, height + chrome)
                    b.open(url + page)
                    b.settle()
                    errors = b.console_errors()
                    if errors:
                        raise SystemExit(f"console errors on /{page}: {errors}")
                    path = ROOT / "docs" / "figures" / name
                    b.driver.save_screenshot(str(path))
                    print("wrote", path)
        finally:
            b.driver.quit()


if __name__ == "__main__":
    if len(sys.argv) > 2:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])

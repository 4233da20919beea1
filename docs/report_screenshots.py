"""Screenshots of ``moopt report`` pages for the docs, taken in the headless Chromium the
browser tests use (tests/conftest.py): the top of each page, as a reader first sees it.

    python docs/report_screenshots.py RERANK_DIR COMPARE_DIR

writes docs/figures/report_rerank.png and docs/figures/report_compare.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(rerank_dir: str, compare_dir: str) -> None:
    import problems.rerank_eval.page  # noqa: F401  (before tests/, whose moopt/ is no package)
    from moopt.cli import main as moopt

    sys.path.append(str(ROOT / "tests"))
    from conftest import start_browser

    b = start_browser()
    for folder, name, height in ((rerank_dir, "report_rerank.png", 1650),
                                 (compare_dir, "report_compare.png", 1250)):  # fmt: skip
        if moopt(["report", folder]) != 0:
            raise SystemExit(f"moopt report {folder} failed")
        b.open(Path(folder) / "report.html")
        errors = b.console_errors()
        if errors:
            raise SystemExit(f"console errors on {folder}: {errors}")
        print("wrote", b.screenshot(ROOT / "docs" / "figures" / name, height=height))
    b.driver.quit()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])

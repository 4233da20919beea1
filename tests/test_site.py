"""The documentation site (mkdocs.yml, docs/): it builds with --strict, the notebooks are
rendered with their committed outputs, the command-line page is the parsers' own help,
and the home page, a tutorial and an API page open in headless Chromium without a
console error.

``make test`` builds the site into site/ first and passes it as ``MOOPT_SITE_DIR``;
without it the tests build their own copy into a temporary folder."""

from __future__ import annotations

import importlib.util
import json
import re
import time
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocs_jupyter")
pytest.importorskip("mkdocstrings")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
# A notebook committed with outputs: its rendered page must show them.
WITH_OUTPUTS = "05_external_scores"


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_notebook_is_a_tutorial_page_with_its_outputs_unexecuted(built_site):
    for name in NOTEBOOKS:
        # docs/tutorials/ links to the notebook: one copy, the one pytest runs
        link = ROOT / "docs" / "tutorials" / f"{name}.ipynb"
        assert link.resolve() == (ROOT / "notebooks" / f"{name}.ipynb").resolve(), name
        assert (built_site / "tutorials" / name / "index.html").is_file(), name
    for name in NOTEBOOKS:  # every tutorial is committed with its outputs and shows them
        page = (built_site / "tutorials" / name / "index.html").read_text()
        nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        counts = [c["execution_count"] for c in code]
        assert counts and all(counts), name
        assert all(c["outputs"] for c in code), name
        # The committed execution counts are shown, so the page is the notebook as
        # committed (a notebook run at build time would be numbered afresh, or not at all).
        for n in counts:
            assert f"[{n}]:" in page, (name, n)
        assert "jp-OutputArea-output" in page, name


def test_every_table_of_contents_link_has_its_heading(built_site):
    # mkdocs-jupyter alone listed "Train ALS with `implicit`" as "Train ALS with", linked
    # to #train-als-with, an anchor the page does not have (docs/hooks.py fixes it).
    pages = [built_site / "tutorials" / n / "index.html" for n in NOTEBOOKS]
    pages += [built_site / p / "index.html" for p in ("cli", "api/moopt")]
    for page in pages:
        text = page.read_text()
        links = re.findall(r'href="#([^"]+)" class="md-nav__link"', text)
        ids = set(re.findall(r'id="([^"]+)"', text))
        assert links and set(links) <= ids, (page, sorted(set(links) - ids))
    tutorial = (built_site / "tutorials" / WITH_OUTPUTS / "index.html").read_text()
    assert 'href="#train-als-with-implicit"' in tutorial


def test_cli_page_is_every_subcommands_help():
    from moopt.cli import build_parser

    hooks = _hooks()
    parser = build_parser()
    text = hooks.cli_markdown()
    names = [name for name, _, _ in hooks.subcommands(parser)]
    assert {"train", "demo", "rerank", "compare", "report"} <= set(names)
    for name, _, sub in hooks.subcommands(parser):
        assert f"\n## moopt {name}\n" in text
        assert hooks.help_text(sub) in text  # the parser's own help, verbatim
    # wrapped to the page's width whatever the terminal that builds the site
    assert max(len(line) for _, _, sub in hooks.subcommands(parser)
               for line in hooks.help_text(sub).splitlines()) <= hooks.HELP_WIDTH


def test_the_built_site_has_every_page_and_a_search_index(built_site):
    for page in ("index.html", "getting-started/index.html", "cli/index.html",
                 "api/moopt/index.html", "api/problems/index.html",
                 "api/recommenders/index.html"):  # fmt: skip
        assert (built_site / page).is_file(), page
    assert not list(built_site.rglob("*.py"))  # the scripts in docs/ are not published
    api = (built_site / "api" / "moopt" / "index.html").read_text()
    assert 'id="moopt.engine.rerank.rerank_batch"' in api
    index = json.loads((built_site / "search" / "search_index.json").read_text())
    assert any("rerank_batch" in doc["location"] for doc in index["docs"])


def _wait(browser, script: str, timeout: float = 10.0):
    end = time.monotonic() + timeout
    while not (value := browser.js(script)) and time.monotonic() < end:
        time.sleep(0.1)
    return value


PAGES = [
    # (path, a heading the page shows, what else must be on it)
    ("", None, "document.querySelectorAll('.md-tabs__link').length >= 8"),
    (f"tutorials/{WITH_OUTPUTS}/", "Your model's scores",
     "document.querySelectorAll('.jp-OutputArea-output').length > 0"),
    ("api/moopt/", "moopt",
     "document.getElementById('moopt.engine.rerank.rerank_batch') !== null"),
]


def test_pages_open_in_chromium_without_console_errors(built_site, browser):
    from selenium.webdriver.common.by import By

    with browser.serve(built_site) as url:
        for path, heading, check in PAGES:
            browser.open(url + path)
            h1 = browser.js("const h = document.querySelector('.md-content h1');"
                            "return h ? h.textContent : null")  # fmt: skip
            assert h1, f"{path or 'home'}: no heading"
            if heading:
                assert heading in h1, (path, h1)
            assert browser.js(f"return {check}"), (path, check)
            assert browser.console_errors() == [], path
        # The search runs in a web worker over search_index.json: typing finds the API.
        browser.open(url + "api/moopt/")
        browser.js("document.querySelector('.md-search__input').focus()")
        field = browser.driver.find_element(By.CSS_SELECTOR, ".md-search__input")
        field.send_keys("rerank_batch")
        found = _wait(browser, "return document.querySelectorAll"
                               "('.md-search-result__item').length")  # fmt: skip
        assert found, "search found nothing for rerank_batch"
        assert browser.console_errors() == []

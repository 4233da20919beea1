"""MkDocs hooks (``hooks:`` in mkdocs.yml).

* The command-line page, ``cli.md``, is ``moopt --help`` and every subcommand's help,
  taken from the argparse parsers of ``moopt.cli`` at build time, so the page cannot fall
  behind the code.
* A notebook page's table of contents is read from its rendered headings: mkdocs-jupyter
  drops inline code from the headings it lists, so "Train ALS with ``implicit``" became
  "Train ALS with", linked to an anchor the page does not have.
"""

from __future__ import annotations

import argparse
import html
import os
import re

from mkdocs.structure.files import File, Files
from mkdocs.structure.toc import get_toc

HELP_WIDTH = 100  # columns argparse wraps the help to, whatever the terminal building it


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """``(name, one-line help, parser)`` of each subcommand, in the order they were added."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return [(a.dest, a.help or "", action.choices[a.dest])
                    for a in action._choices_actions]  # fmt: skip
    return []


def help_text(parser: argparse.ArgumentParser) -> str:
    """``parser.format_help()`` wrapped to HELP_WIDTH columns."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_WIDTH + 2)  # argparse wraps at COLUMNS - 2
    try:
        return parser.format_help().rstrip()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def cli_markdown() -> str:
    """The command-line page: the top-level help, then one section per subcommand."""
    from moopt.cli import build_parser

    parser = build_parser()
    subs = subcommands(parser)
    lines = [
        "# Command line",
        "",
        "Every job of moopt is one `moopt` command. This page is the commands' own `--help`, "
        "generated from their parsers when the site is built, so it always matches the "
        "installed version.",
        "",
        "| command | what it does |",
        "| --- | --- |",
    ]
    pipe = "\\|"  # a | inside a table cell
    lines += [f"| [`moopt {n}`](#moopt-{n}) | {h.replace('|', pipe)} |" for n, h, _ in subs]
    lines += ["", "## moopt", "", "```text", help_text(parser), "```"]
    for name, _, sub in subs:
        lines += ["", f"## moopt {name}", "", "```text", help_text(sub), "```"]
    return "\n".join(lines) + "\n"


def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, "cli.md", content=cli_markdown()))
    return files


_HEADING = re.compile(r"<h([1-6])\b[^>]*\bid=\"([^\"]+)\"[^>]*>(.*?)</h\1>", re.S)
_PERMALINK = re.compile(r"<a\b[^>]*\bclass=\"(?:anchor-link|headerlink)\"[^>]*>.*?</a>", re.S)


def heading_toc_tokens(page_html: str) -> list[dict]:
    """Table-of-contents tokens (Python-Markdown's form) of the headings in ``page_html``,
    nested by level, each named by its text and linked to its own id."""
    root: list[dict] = []
    stack: list[tuple[int, list]] = [(0, root)]
    for level, anchor, inner in _HEADING.findall(page_html):
        text = html.unescape(re.sub(r"<[^>]+>", "", _PERMALINK.sub("", inner))).strip()
        token = {"level": int(level), "id": anchor, "name": text, "children": []}
        while stack[-1][0] >= int(level):
            stack.pop()
        stack[-1][1].append(token)
        stack.append((int(level), token["children"]))
    return root


def on_page_content(page_html: str, page, config, files) -> str:
    if page.file.src_uri.endswith(".ipynb"):
        page.toc = get_toc(heading_toc_tokens(page_html))
    return page_html

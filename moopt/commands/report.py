"""``moopt report RUN_DIR``: one self-contained HTML page of a result folder.

The folder's files say what it is: ``rerank_results.csv`` a re-ranking run
(``problems.rerank_eval.page.rerank_page``), ``comparison.csv`` with ``curves.csv``
and ``bands.csv`` a comparison (``moopt.report.compare.comparison_page``). The CLI is
the floor that wires the packages, so it may import ``problems`` (lazily).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = (
    "Write one self-contained HTML page (plotly's JavaScript inlined: it opens offline) "
    "for a result folder. A moopt rerank folder gets the trade-off chart (HR against "
    "(Div + Nov) / 2 on validation and test, the greedy paths over their parameter, "
    "NSGA-II over its utility weight w, the validated choices marked), a slider over w "
    "showing both stages' metrics at that w, and each user's base list against a chosen "
    "list with titles and categories. A moopt compare folder gets the hypervolume curves "
    "with their 95% bands, each seed's final fronts behind a seed selector (from "
    "fronts.csv), the table and the paired tests. Needs plotly: pip install 'moopt[report]'."
)


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``report`` on the CLI's subparsers.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of ``moopt.cli.build_parser``.

    Returns
    -------
    argparse.ArgumentParser
        The command's parser.
    """
    p = sub.add_parser("report", help="an HTML page of a rerank or compare folder",
                       description=DESCRIPTION)  # fmt: skip
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by moopt rerank, "
                   "moopt demo or moopt compare")  # fmt: skip
    p.add_argument("--out", default=None,
                   help="the page to write (default: RUN_DIR/report.html)")
    return p


def build_page(run_dir) -> tuple[str, str]:
    """Build the HTML page of a result folder.

    Parameters
    ----------
    run_dir : str or os.PathLike
        A folder written by ``moopt rerank``, ``moopt demo`` or ``moopt compare``.

    Returns
    -------
    kind : str
        ``"rerank"`` or ``"compare"``.
    html : str
        The self-contained page.

    Raises
    ------
    FileNotFoundError
        If ``run_dir`` is not a folder, or is neither kind of result folder.
    PlotlyMissing
        If plotly is not installed.
    """
    from moopt.report.compare import REQUIRED, comparison_page, is_comparison
    from problems.rerank_eval.page import REQUIRED as RERANK
    from problems.rerank_eval.page import is_rerank, rerank_page

    folder = Path(run_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"RUN_DIR {folder} is not a folder")
    if is_rerank(folder):
        return "rerank", rerank_page(folder)
    if is_comparison(folder):
        return "compare", comparison_page(folder)
    raise FileNotFoundError(
        f"{folder} is neither a moopt rerank folder (no {RERANK}) nor a moopt compare "
        f"folder (needs {', '.join(REQUIRED)})"
    )


def run(args) -> int:
    """Write the page to ``--out`` (default ``RUN_DIR/report.html``).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (see ``add_parser``).

    Returns
    -------
    int
        Exit status: 0, or 2 where plotly is missing.
    """
    from moopt.report import PlotlyMissing
    from recommenders.io import atomic_path

    try:
        kind, text = build_page(args.run_dir)
    except PlotlyMissing as exc:
        print(f"moopt report: error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(args.run_dir) / "report.html"
    with atomic_path(out, suffix=".html") as tmp:
        tmp.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({kind} report, {len(text) / 1e6:.1f} MB)")
    return 0

"""Help formatting and argument parsing shared by the ``moopt`` commands."""

from __future__ import annotations

import argparse
import json

CACHE_NOTE = """\
compiled code:
  The first re-ranking run compiles the engine (about two minutes; it says so on stderr) and
  Numba caches it: beside moopt's sources, or in ~/.cache/numba when the install is
  read-only, or in $NUMBA_CACHE_DIR when set. MOOPT_DEBUG=1 shows tracebacks instead of
  one-line errors; MOOPT_CHECK=1 bounds-checks user objectives.
"""

RERANK_FILES = (
    "rerank_results.csv (the table), rerank_runs.csv (every NSGA-II seed), "
    "rerank_significance.csv, rerank_dominance.csv, rerank_headline.csv (the tests over "
    "users), rerank_curves.csv (the trade-off curves on validation and test), "
    "rerank_lists.csv (every user's chosen lists), rerank_items.csv (titles and "
    "categories), rerank_summary.md, tradeoff.png, calibration.png (calibrated scores "
    "only), pareto_front.png and run.json (every setting, the seeds, the package versions)"
)
"""What ``moopt rerank`` writes (problems.rerank_eval.report.rerank_job)."""


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default, unless the help already names it or
    there is none to show (``None``, ``False``, an empty list)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text.lower() or not action.option_strings
                or default in (None, False, argparse.SUPPRESS) or default == []):  # fmt: skip
            return text
        if isinstance(default, (list, tuple)):
            default = " ".join(str(d) for d in default)
        return f"{text} (default: {str(default).replace('%', '%%')})"


class TopHelpFormatter(argparse.RawDescriptionHelpFormatter, DefaultsHelpFormatter):
    """The top-level parser's: its description and examples as written, defaults shown."""


def use_defaults_help(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand of ``parser`` the ``DefaultsHelpFormatter``."""
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        for sub in set(getattr(action, "choices", {}).values()):
            sub.formatter_class = DefaultsHelpFormatter


def json_object(text: str | None, flag: str) -> dict:
    """The JSON object ``text`` given to ``flag`` as a dict (``None``: empty); a
    ``ValueError`` naming the flag when it is not valid JSON or not an object."""
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{flag} must be a JSON object such as '{{\"n_var\": 5}}', got {text!r} ({exc})"
        ) from None
    if not isinstance(value, dict):
        raise ValueError(f"{flag} must be a JSON object (keyword arguments), got {text!r}")
    return value

"""``moopt compare``: NSGA-II, MGDA and Bayesian optimisation on one problem."""

from __future__ import annotations

import sys

import numpy as np

from moopt._clihelp import json_object
from moopt.commands._common import _print_table, _settings


def run(args) -> int:
    """Run the solvers, print the table and tests, and write the comparison folder ``--out``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line of ``moopt compare`` (see ``moopt.cli.build_parser``).

    Returns
    -------
    int
        Exit status: 0, or 1 (after writing the files) when a run failed.
    """
    from problems.comparison import DEFAULT_SOLVERS, comparison_job

    trains = args.problem in ("loss-weight", "domain-weight")
    default = ("nsga2", "bo") if trains else DEFAULT_SOLVERS
    result, written = comparison_job(args.problem, args.out, args.budget,
                                     tuple(args.solvers or default), args.data, args.seed,
                                     args.budget_type, progress=True, seeds=args.seeds,
                                     n_var=args.n_var, settings=_settings(args),
                                     problem_args=json_object(
                                         args.problem_args, "--problem-args"))  # fmt: skip
    _print_table(result.table)
    if len(result.significance):
        print("\nbest two solvers, paired over seeds:")
        cols = ["indicator", "a", "b", "diff", "ci_low", "ci_high", "p", "cohens_d"]
        _print_table(result.significance[cols])
    print(f"\nhypervolume reference point: {np.round(result.ref_point, 4).tolist()}")
    print("wrote " + ", ".join(str(p) for p in written))
    failed = result.runs[result.runs["status"] != "ok"]
    if len(failed):  # the files are written, but the comparison is not whole
        print(f"moopt compare: {len(failed)} of {len(result.runs)} runs failed (runs.csv has "
              "each error):", file=sys.stderr)  # fmt: skip
        for _, r in failed.iterrows():
            print(f"  {r['solver']} seed {r['seed']}: {r['status']}", file=sys.stderr)
        return 1
    return 0

"""Catalogue coverage on a candidates file: the greedy's front, its reach and its distance
to the optimum (``problems.coverage``)::

    python -m benchmarks.coverage_front --candidates runs/sasrec/candidates.npz \\
        --out runs/coverage/sasrec.csv

Re-ranks every user's candidates (``moopt.rerank_batch``, expected_hits, diversity and
novelty, seed 0) for the archives, builds the options and the oracle with the utility
``expected_hits``, sweeps the coverage levels with the oracle, and adds for each level
the flow LP's optimum (``coverage_lp_bound``) and the NDCG@10 of the held-out item. The
table is printed and, with ``--out``, written atomically as CSV.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

LEVELS = "0.6,0.63,0.66,0.69,0.72,0.75,0.78,0.81,0.84,0.87"


def main(argv=None) -> int:
    """Run the measurement.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments; default ``sys.argv``.

    Returns
    -------
    int
        0.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", default="runs/sasrec/candidates.npz")
    parser.add_argument("--levels", default=LEVELS, help="comma-separated coverage shares")
    parser.add_argument("--out", default=None, help="CSV file for the front")
    args = parser.parse_args(argv)

    import moopt
    from moopt.files import atomic_path
    from problems.coverage import coverage_bound, coverage_front, coverage_lp_bound
    from problems.fairness import PricedListOracle, archive_options
    from problems.rerank_eval.report import _dataset_catalogue
    from recommenders.evaluate import calibrated_scores, load_candidates
    from recommenders.metrics import catalog_coverage, popularity_groups

    cands = load_candidates(args.candidates)
    genres, popularity, _ = _dataset_catalogue(args.candidates, cands, None)
    items, q = cands["items"], calibrated_scores(cands, "full")
    objectives = ("expected_hits", "diversity", "novelty")
    res = moopt.rerank_batch(q, items, genres, popularity, k=10, objectives=objectives, seed=0)
    groups = popularity_groups(popularity, 5)
    weights = {"expected_hits": 1.0}
    options = archive_options(res, weights, groups, q=q)
    oracle = PricedListOracle(q, items, genres, popularity, 10, objectives, weights, groups)
    n = groups.shape[0]
    users = np.arange(options.n_users)
    free = options.utility.argmax(axis=1)
    shown = np.take_along_axis(items, options.positions[users, free], axis=1)
    print(f"{options.n_users} users, {items.shape[1]} candidates, {n} items; free choice "
          f"coverage {catalog_coverage(shown, n):.4f}; at most {coverage_bound(options, oracle)} "
          f"items with the oracle, {coverage_bound(options)} with the archives")  # fmt: skip
    levels = [float(x) for x in args.levels.split(",")]
    t0 = time.perf_counter()
    front, choices, final = coverage_front(options, oracle, levels)
    sweep = time.perf_counter() - t0
    t0 = time.perf_counter()
    front["lp_optimum"] = coverage_lp_bound(options, oracle, levels)
    lp = time.perf_counter() - t0
    discount = 1.0 / np.log2(np.arange(2, 12))
    front["ndcg10"] = [
        float(((np.take_along_axis(items, final.positions[users, c], axis=1)
                == cands["target"][:, None]) * discount).sum(axis=1).mean())
        for c in choices
    ]  # fmt: skip
    print(f"sweep {sweep:.2f} s, LP optimum {lp:.2f} s")
    cols = ["level", "feasible", "coverage", "items", "utility", "lp_optimum", "ndcg",
            "ndcg10", "moves", "seconds"]  # fmt: skip
    print(front[cols].round(5).to_string(index=False))
    if args.out:
        with atomic_path(args.out) as tmp:
            front.to_csv(tmp, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

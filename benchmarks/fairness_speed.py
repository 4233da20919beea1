"""Speed of the coupled system-level solve (issue 27): the exposure sweep on ML-100K and
one dual round over a million synthetic users.

``--part sweep``: the max-min exposure share front of ``problems.fairness.coupled_front``
over every test user of a candidates file (SASRec on ML-100K by default): the per-user
search (``moopt.rerank_batch``, objectives expected_hits, diversity and novelty), the
options (``archive_options``, utility expected_hits only, 5 popularity buckets), the
pricing oracle (``PricedListOracle``), the reach (every user's oracle list under a very
high price on each group, as ``coupled_front`` adds first: the largest level each group's
constraint alone allows, ``min_g sum_u max_a E[u, a, g] / (t_g U sum_r w_r)``), then the
sweep of ``--levels`` levels from 0 to that reach, each timed. The issue's target: the
sweep under 30 s on the 2-core machine, with a relative violation under 1% at every
level that is jointly reachable (the reach is per group: the strictest levels may not
be).

``--part round``: ``--users`` synthetic units, each with ``--options`` options (a random
archive size, the rest padding) and G = ``--groups`` exposure totals, generated in blocks
of 65,536 units by one seeded generator (float32: 1 GB of contributions at 10^6 x 50 x
5): option a's group shares are a Dirichlet draw leaning towards the first groups, its
exposure those shares times the list's total position weight (K = 10, log discount), its
utility 1 minus the user's cost (uniform in [0.1, 1]) times the total-variation distance
between its shares and those of option 0, the user's top list (utility 1). One dual round
is timed on its own, every unit's priced choice (``moopt.system.priced_choice``, which
validates the arrays first), the totals and the projected subgradient step, at prices
rising from 0 on the first group to the natural unit (utility spread / exposure spread)
on the last; then a full ``dual_choice`` of ``--rounds`` rounds (bound: ``--level`` times
the target share of the total exposure per group; ``--step``, default 4: with
``DualConfig``'s step of 1 no round in 60 is feasible on these archives at 2 x 10^4 users
and the greedy repair, one switch per pass over all options, takes over) reports its
seconds per round, its first feasible round and the setup, repair and tightening time
around the rounds. Both run block by block (``--block`` units) on the
float32 arrays (``--dense``: float64 copies in one block, the dense path, for its
memory); at ``--check-users`` units the blocked solve is compared with the dense
one (float64 copies, one block) for identical results. The issue's target: one round
over 10^6 users under a minute.

    python -m benchmarks.fairness_speed [--part sweep|round|all] [--out runs/fairness-speed]
        [--candidates runs/sasrec/candidates.npz] [--levels 20]
        [--users 1000000] [--options 50] [--groups 5] [--rounds 20] [--level 0.8] [--step 4]
        [--block 2048] [--check-users 20000] [--dense] [--seed 0]

Writes ``--out/fairness_sweep.{json,md,csv}`` and ``--out/fairness_round.{json,md}``
atomically; the markdown tables are printed too. Times are wall seconds on whatever else
the machine runs: the 1-minute load average is recorded with them.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np

GEN_BLOCK = 65536
OBJECTIVES = ("expected_hits", "diversity", "novelty")
K = 10


def _rss_gb() -> float:
    """Peak resident memory of this process so far, in GB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def synthetic(n_users: int, n_options: int, n_groups: int, seed: int):
    """Synthetic archives: ``(utility, exposure, valid)``, float32, float32 and bool.

    Parameters
    ----------
    n_users, n_options, n_groups : int
        U units, A options per unit (padding included), G groups.
    seed : int
        Seed of the one generator, drawn from block after block (the same seed and
        sizes give the same arrays).

    Returns
    -------
    tuple of numpy.ndarray
        ``(U, A)`` utility, ``(U, A, G)`` exposure, ``(U, A)`` valid.
    """
    from recommenders.metrics import position_weights

    if min(n_users, n_options, n_groups) < 1 or n_options < 2:
        raise ValueError("--users and --groups must be positive and --options at least 2")
    per_list = np.float32(position_weights(K, "log").sum())
    alpha = np.linspace(2.0, 0.4, n_groups)  # the first groups get most of the exposure
    r = np.empty((n_users, n_options), dtype=np.float32)
    c = np.empty((n_users, n_options, n_groups), dtype=np.float32)
    valid = np.empty((n_users, n_options), dtype=bool)
    rng = np.random.default_rng(seed)
    for s in range(0, n_users, GEN_BLOCK):
        b = min(GEN_BLOCK, n_users - s)
        g = rng.standard_gamma(alpha, size=(b, n_options, n_groups)).astype(np.float32)
        shares = g / np.maximum(g.sum(axis=2, keepdims=True), np.float32(1e-30))
        cost = rng.uniform(0.1, 1.0, (b, 1)).astype(np.float32)
        moved = np.float32(0.5) * np.abs(shares - shares[:, :1]).sum(axis=2)
        r[s : s + b] = np.float32(1.0) - cost * moved
        c[s : s + b] = shares * per_list
        size = rng.integers(max(1, n_options // 5), n_options + 1, (b, 1))
        valid[s : s + b] = np.arange(n_options) < size
    return r, c, valid


def round_prices(r, c, valid, n_groups: int) -> tuple[np.ndarray, float]:
    """The round's prices (0 on the first group up to the natural unit on the last) and
    the step eta_0 of ``DualConfig(step=1)``, both from the first generation block."""
    from moopt.system import option_spread

    head = slice(0, min(GEN_BLOCK, r.shape[0]))
    r_spread = option_spread(r[head], valid[head])
    c_spread = float(np.mean([option_spread(c[head, :, g], valid[head]) for g in range(n_groups)]))
    unit = r_spread / max(c_spread, 1e-12)
    return unit * np.linspace(0.0, 1.0, n_groups), r_spread / max(c_spread, 1e-12) ** 2


def run_round(args) -> dict:
    """Generate the synthetic archives, time one dual round and a full solve."""
    from moopt.system import DualConfig, dual_choice, priced_choice
    from recommenders.metrics import position_weights

    u, a, g = args.users, args.options, args.groups
    t = time.perf_counter()
    r, c, valid = synthetic(u, a, g, args.seed)
    block = None if args.dense else args.block
    if args.dense:  # what the dense path holds: float64 arrays, passes over every unit
        r, c = r.astype(np.float64), c.astype(np.float64)
    out = {"users": u, "options": a, "groups": g, "block": block,
           "generate_s": time.perf_counter() - t, "rss_after_generate_gb": _rss_gb(),
           "arrays_gb": (r.nbytes + c.nbytes + valid.nbytes) / 1e9}  # fmt: skip
    total = u * float(position_weights(K, "log").sum())
    bound = np.full(g, args.level * total / g)
    lam, eta0 = round_prices(r, c, valid, g)

    t = time.perf_counter()
    choice = priced_choice(r, c, lam, valid, block=block)
    rows = np.arange(u)
    tot = c[rows, choice].astype(np.float64).sum(axis=0)
    new_lam = np.maximum(0.0, lam - eta0 * (tot - bound) / u)
    out["round_s"] = time.perf_counter() - t
    out.update(round_prices=lam.tolist(), round_totals=tot.tolist(),
               round_utility=float(r[rows, choice].astype(np.float64).sum()),
               round_new_prices=new_lam.tolist(), rss_after_round_gb=_rss_gb())  # fmt: skip

    cfg = DualConfig(rounds=args.rounds, step=args.step)
    t = time.perf_counter()
    res = dual_choice(r, c, bound, valid, cfg, block=block)
    solve = time.perf_counter() - t
    in_rounds = float(np.sum(res.history["seconds"]))
    feasible_rounds = np.flatnonzero(np.array(res.history["violation"]) <= cfg.tol)
    out.update(level=args.level, step=args.step, solve_s=solve,
               first_feasible_round=int(feasible_rounds[0]) + 1 if feasible_rounds.size else None,
               solve_rounds=res.rounds,
               solve_s_per_round=in_rounds / len(res.history["seconds"]),
               solve_outside_rounds_s=solve - in_rounds, solve_feasible=bool(res.feasible),
               solve_violation=res.violation, solve_utility=res.utility,
               solve_upper_bound=res.upper_bound, rss_peak_gb=_rss_gb())  # fmt: skip
    del r, c, valid
    n = min(args.check_users, u)
    if n > 0:
        r, c, valid = synthetic(n, a, g, args.seed)
        b = np.full(g, args.level * n * float(position_weights(K, "log").sum()) / g)
        blocked = dual_choice(r, c, b, valid, cfg, block=max(1, min(args.block, n // 3)))
        dense = dual_choice(r.astype(np.float64), c.astype(np.float64), b, valid, cfg)
        out["check_users"] = n
        same = [np.array_equal(blocked.choice, dense.choice),
                np.array_equal(blocked.prices, dense.prices),
                blocked.utility == dense.utility, blocked.rounds == dense.rounds]  # fmt: skip
        out["check_identical"] = bool(all(same))
    out["load_1min"] = os.getloadavg()[0]
    return out


def run_sweep(args) -> tuple[dict, object]:
    """Search, options, oracle, reach and the coupled sweep on a candidates file."""
    from moopt import rerank_batch
    from moopt._numba_cache import is_cold
    from moopt.engine import kernels
    from problems.fairness import PricedListOracle, archive_options, coupled_front
    from problems.rerank_eval.report import _dataset_catalogue
    from recommenders.evaluate import calibrated_scores, load_candidates
    from recommenders.metrics import popularity_groups

    path = Path(args.candidates)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: write it with `moopt train "
                                f"sasrec --out {path.parent}`, or name another with "
                                "--candidates")  # fmt: skip
    start = time.perf_counter()
    seconds = {}
    t = time.perf_counter()
    cands = load_candidates(path)
    genres, pop, _ = _dataset_catalogue(path, cands, None)
    q = calibrated_scores(cands, "full")
    items = cands["items"]
    seconds["data"] = time.perf_counter() - t
    compiled = not is_cold(kernels.run_batch)
    t = time.perf_counter()
    res = rerank_batch(q, items, genres, pop, k=K, objectives=OBJECTIVES, seed=args.seed)
    seconds["search"] = time.perf_counter() - t
    groups = popularity_groups(pop, args.groups)
    utility = {"expected_hits": 1.0}
    t = time.perf_counter()
    options = archive_options(res, utility, groups, q=q)
    seconds["options"] = time.perf_counter() - t
    t = time.perf_counter()
    oracle = PricedListOracle(q, items, genres, pop, K, OBJECTIVES, utility, groups)
    seconds["oracle"] = time.perf_counter() - t
    t = time.perf_counter()
    reach = _reach(options, oracle)
    seconds["reach"] = time.perf_counter() - t
    levels = np.linspace(0.0, reach, args.levels)
    t = time.perf_counter()
    front, _, final = coupled_front(options, oracle, levels)
    seconds["sweep"] = time.perf_counter() - t
    seconds["end_to_end"] = time.perf_counter() - start
    out = {"candidates": str(path), "users": options.n_users, "groups": args.groups,
           "levels": args.levels, "reach": reach, "engine_compiled_before": compiled,
           "seconds": seconds, "max_violation": float(front["violation"].max()),
           "max_violation_feasible_levels": (float(front.loc[front["feasible"], "violation"].max())
                                             if front["feasible"].any() else None),
           "feasible_levels": int(front["feasible"].sum()),
           "archive_options": int(options.valid.shape[1]), "final_options": final.valid.shape[1],
           "peak_rss_gb": _rss_gb(), "load_1min": os.getloadavg()[0]}  # fmt: skip
    return out, front


def _reach(options, oracle) -> float:
    """The largest level each group's constraint allows on its own, over the archives and
    every user's oracle list under a very high price on each group (``coupled_front``'s
    first extension)."""
    from moopt.system import option_spread

    n_groups = options.exposure.shape[2]
    big = 1e3 * max(option_spread(options.utility, options.valid), 1e-12) / options.per_list
    ext = oracle.extend(options, [big * np.eye(n_groups)[j] for j in range(n_groups)])
    most = np.where(ext.valid[:, :, None], ext.exposure, -np.inf).max(axis=1).sum(axis=0)
    return float(np.min(most / (ext.target * ext.n_users * ext.per_list)))


def _table(rows: list[list]) -> str:
    cells = [[f"{v:.3g}" if isinstance(v, float) else str(v) for v in r] for r in rows]
    return "\n".join("| " + " | ".join(r) + " |" for r in [cells[0], ["---"] * len(cells[0]),
                                                          *cells[1:]])  # fmt: skip


def _write(out: Path, name: str, result: dict, text: str, front=None) -> None:
    from moopt.files import atomic_path, write_csv, write_json

    write_json(out / f"{name}.json", result)
    if front is not None:
        write_csv(out / f"{name}.csv", front)
    with atomic_path(out / f"{name}.md") as tmp:
        tmp.write_text(text + "\n")
    print(text)


def main(argv=None) -> dict:
    """Run the benchmark's parts and write their results.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    dict
        ``{"sweep": ..., "round": ...}`` for the parts run, as written to the JSON files.
    """
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=["sweep", "round", "all"], default="all")
    p.add_argument("--out", type=Path, default=Path("runs/fairness-speed"))
    p.add_argument("--candidates", default="runs/sasrec/candidates.npz")
    p.add_argument("--levels", type=int, default=20)
    p.add_argument("--users", type=int, default=1_000_000)
    p.add_argument("--options", type=int, default=50)
    p.add_argument("--groups", type=int, default=5)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--level", type=float, default=0.8)
    p.add_argument("--step", type=float, default=4.0, help="DualConfig.step of the full solve")
    p.add_argument("--block", type=int, default=2048)
    p.add_argument("--check-users", type=int, default=20000)
    p.add_argument("--dense", action="store_true",
                   help="round part: float64 arrays in one block (the dense path)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.levels < 2 or args.block < 1 or args.rounds < 1 or args.check_users < 0:
        raise ValueError("--levels must be at least 2, --block and --rounds positive, "
                         "--check-users non-negative")  # fmt: skip
    if not 0.0 <= args.level <= 1.0:
        raise ValueError(f"--level is a max-min share in [0, 1], got {args.level}")
    result = {}
    if args.part in ("sweep", "all"):
        res, front = run_sweep(args)
        row = {**res["seconds"], **{k: res[k] for k in ("engine_compiled_before",
                                                        "max_violation", "load_1min")},
               "feasible levels": f"{res['feasible_levels']}/{res['levels']}"}  # fmt: skip
        text = (f"# Exposure sweep: {res['users']} users, {res['levels']} levels from 0 to "
                f"the reach {res['reach']:.4f} (seconds)\n\n"
                + _table([list(row), list(row.values())]) + "\n\n"
                + _table([list(front.columns), *front.values.tolist()]))  # fmt: skip
        _write(args.out, "fairness_sweep", res, text, front)
        result["sweep"] = res
    if args.part in ("round", "all"):
        res = run_round(args)
        res.setdefault("check_identical", "not checked")
        cols = ["generate_s", "round_s", "solve_s", "solve_rounds", "first_feasible_round",
                "solve_s_per_round", "solve_outside_rounds_s", "solve_feasible",
                "solve_violation", "arrays_gb", "rss_peak_gb", "check_identical",
                "load_1min"]  # fmt: skip
        text = (f"# One dual round over {res['users']} synthetic users ({res['options']} "
                f"options, {res['groups']} groups, blocks of {res['block'] or 'every unit'})\n\n"
                + _table([cols, [res[k] for k in cols]]))  # fmt: skip
        _write(args.out, "fairness_round", res, text)
        result["round"] = res
    return result


if __name__ == "__main__":
    main()

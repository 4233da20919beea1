"""pymoo's NSGA2 with moopt's list operators, one user at a time, against
``moopt.rerank_batch`` for all users at once, on the same synthetic users.

Settings (PreferRec's): N = 100 candidates, K = 10, 18 genres, population 50,
10 generations, crossover 0.9, mutation 0.2. Both runs use the same operators (list
one-point crossover with repair, swap/replace mutation, row-hash duplicate elimination)
and binary tournaments on rank then crowding. Quality is the mean hypervolume of each
user's final non-dominated lists, reference point (1.1, 1.1, 1.1) on the negated
objectives. Numba compilation is excluded (a warm-up call runs first).

    python -m benchmarks.rerank_speed [--users 943] [--pymoo-users N] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.indicators.hv import HV
from pymoo.optimize import minimize

from moopt import rerank_batch
from moopt.operators import (
    ListDuplicateElimination,
    ListMutation,
    ListSampling,
    OnePointListCrossover,
)
from problems import ListReRankingProblem
from recommenders.io import write_json

N, K, GENRES, POP, GEN, PCX, PMUT = 100, 10, 18, 50, 10, 0.9, 0.2


def synthetic_users(n_users: int, n_items: int = 3000, seed: int = 0):
    """Candidate sets with skewed popularity, 1-3 genres per item, scores falling with rank."""
    rng = np.random.default_rng(seed)
    genres = np.zeros((n_items, GENRES), dtype=bool)
    genres[np.arange(n_items), rng.integers(0, GENRES, n_items)] = True
    extra = rng.random(n_items) < 0.5
    genres[np.flatnonzero(extra), rng.integers(0, GENRES, int(extra.sum()))] = True
    popularity = np.floor(5000.0 / np.arange(1, n_items + 1) ** 0.9)[rng.permutation(n_items)]
    candidates = np.stack([rng.choice(n_items, N, replace=False) for _ in range(n_users)])
    scores = np.sort(rng.normal(size=(n_users, N)), axis=1)[:, ::-1] + rng.normal(
        scale=0.3, size=(n_users, N)
    )
    return scores, candidates, genres, popularity


def pymoo_algorithm() -> NSGA2:
    algo = NSGA2(
        pop_size=POP,
        sampling=ListSampling(),
        crossover=OnePointListCrossover(prob=PCX),
        mutation=ListMutation(prob=PMUT),
        eliminate_duplicates=ListDuplicateElimination(),
    )
    algo.tournament_type = "comp_by_rank_and_crowding"  # the batch engine's tournament
    return algo


def run(n_users: int, pymoo_users: int | None, seed: int, repeats: int = 1) -> dict:
    """Time both solvers and compare hypervolumes.

    With ``repeats`` > 1 each solver runs again with independent seeds on the same users;
    per-user hypervolumes are averaged over repeats before comparing, which shrinks the
    algorithms' own run-to-run noise (the users' differences cancel in the pairing).
    """
    scores, cands, genres, pop = synthetic_users(n_users, seed=seed)
    hv = HV(ref_point=np.full(3, 1.1))
    pymoo_users = n_users if pymoo_users is None else min(pymoo_users, n_users)

    # Warm-up: compile (or load) every kernel both sides use.
    rerank_batch(scores[:2], cands[:2], genres, pop, k=K, pop_size=POP, n_gen=2, seed=seed)
    minimize(ListReRankingProblem(scores[0], cands[0], genres, pop, k=K), pymoo_algorithm(),
             ("n_gen", 2), seed=seed)  # fmt: skip

    pymoo_hv = np.zeros((repeats, pymoo_users))
    batch_hv = np.zeros((repeats, n_users))
    pymoo_seconds = batch_seconds = 0.0
    for r in range(repeats):
        t0 = time.perf_counter()
        for u in range(pymoo_users):
            problem = ListReRankingProblem(scores[u], cands[u], genres, pop, k=K)
            res = minimize(problem, pymoo_algorithm(), ("n_gen", GEN),
                           seed=seed + 1_000_003 * r + u)  # fmt: skip
            pymoo_hv[r, u] = hv(res.F)
        pymoo_seconds += time.perf_counter() - t0

        t0 = time.perf_counter()
        batch = rerank_batch(scores, cands, genres, pop, k=K, pop_size=POP, n_gen=GEN,
                             p_cx=PCX, p_mut=PMUT, seed=seed + 7919 * r)  # fmt: skip
        batch_seconds += time.perf_counter() - t0
        batch_hv[r] = [hv(-batch.F[u][batch.rank[u] == 0]) for u in range(n_users)]

    per_user_pymoo = pymoo_seconds / (pymoo_users * repeats)
    per_user_batch = batch_seconds / (n_users * repeats)
    diff = batch_hv[:, :pymoo_users].mean(axis=0) - pymoo_hv.mean(axis=0)
    return {
        "users": n_users,
        "pymoo_users_timed": pymoo_users,
        "repeats": repeats,
        "threads": numba.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "pymoo_seconds": pymoo_seconds,
        "pymoo_seconds_per_user": per_user_pymoo,
        "batch_seconds": batch_seconds,
        "batch_seconds_per_user": per_user_batch,
        "speedup": per_user_pymoo / per_user_batch,
        "pymoo_mean_hv": float(pymoo_hv.mean()),
        "batch_mean_hv": float(batch_hv[:, :pymoo_users].mean()),
        "batch_mean_hv_all_users": float(batch_hv.mean()),
        "hv_difference": float(diff.mean()),
        # Paired by user: the standard error says how much of the difference is noise.
        "hv_difference_se": float(np.std(diff, ddof=1) / np.sqrt(pymoo_users)),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=943, help="users re-ranked (default 943)")
    parser.add_argument(
        "--pymoo-users",
        type=int,
        default=None,
        help="time pymoo on the first N users only (default: all)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="independent runs of each solver, hypervolumes averaged (default 3)",
    )
    parser.add_argument("--out", default="runs/bench/rerank_speed.json")
    args = parser.parse_args(argv)
    r = run(args.users, args.pymoo_users, args.seed, args.repeats)
    print(
        f"rerank speed: {r['users']} users, N={N}, K={K}, pop {POP}, {GEN} generations, "
        f"{r['threads']} threads"
    )
    print(
        f"  pymoo NSGA2, one user at a time: {r['pymoo_seconds']:.2f} s for "
        f"{r['pymoo_users_timed']} users x {r['repeats']} runs "
        f"({1000 * r['pymoo_seconds_per_user']:.1f} ms/user)"
    )
    print(
        f"  moopt.rerank_batch, all users:   {r['batch_seconds']:.3f} s for {r['repeats']} "
        f"runs ({1000 * r['batch_seconds_per_user']:.3f} ms/user)"
    )
    print(f"  speed-up per user: {r['speedup']:.0f}x")
    print(
        f"  mean hypervolume (ref 1.1^3): pymoo {r['pymoo_mean_hv']:.4f}, batch "
        f"{r['batch_mean_hv']:.4f} (difference {r['hv_difference']:+.4f} "
        f"+- {r['hv_difference_se']:.4f} s.e.)"
    )
    write_json(args.out, r)
    return r


if __name__ == "__main__":
    main()

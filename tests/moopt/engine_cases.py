"""A fixed set of engine runs whose every output array is saved, so that two builds or
two revisions of the engine can be compared bit for bit.

    python tests/moopt/engine_cases.py OUT.npz [--report REPORT.json]

The cases cover both engine paths (one Numba call without a callback; generation by
generation with a callback that injects lists), two blocks of users (33 users, blocks
hold 32), the archive on, off and overflowing with protected seeds, two, three and four
objectives (the general and the three-objective ranking), a user-defined objective (the
kernel-pointer path), every crossover, and the sorting, ranking, crowding and survival
kernels on their own. ``--report`` writes what the build did: ``moopt._memory.BORROWED``,
the Numba cache hits and misses of the batch drivers, and whether the per-user functions
were compiled for borrowed arrays (tests/moopt/test_engine_builds.py reads it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np


def _case_data(n_users=33, n=24, n_items=150, n_genres=9, seed=0):
    rng = np.random.default_rng(seed)
    genres = rng.random((n_items, n_genres)) < 0.25
    pop = rng.integers(1, 300, n_items).astype(float)
    cands = np.stack([rng.choice(n_items, n, replace=False) for _ in range(n_users)])
    scores = rng.normal(size=(n_users, n))
    return scores, cands, genres, pop


class _Inject:
    """Injects each user's K most novel candidates after generations 2 and 3."""

    def __call__(self, state):
        if state.gen not in (2, 3):
            return None
        nov = state.packed.fdata[:, :, -1]
        top = np.argsort(-nov, axis=1, kind="stable")[:, : state.inputs.k]
        return np.stack([top, top[:, ::-1]], axis=1)


def _fairness(positions, fdata, idata, consts):
    total = 0.0
    for p in range(positions.shape[0]):
        total += fdata[positions[p], 0] * (p + 1)
    return total / positions.shape[0]


def _prepare_fairness(inputs):
    from moopt.objectives import ObjectiveData

    u, n = inputs.candidates.shape
    share = (inputs.candidates % 7) / 7.0
    return ObjectiveData(share[..., None], np.zeros((u, n, 0), np.int64), np.zeros((u, 0)))


def run_cases() -> dict[str, np.ndarray]:
    """Every output array of every case, by name."""
    from moopt import rerank_batch
    from moopt.engine import kernels as K
    from moopt.objectives import ListObjective

    scores, cands, genres, pop = _case_data()
    fair = ListObjective("case_fairness", _fairness, _prepare_fairness)
    initial = np.stack([np.stack([np.roll(np.arange(5), s) + 3 * s for s in range(3)])] * 33)
    cases = {
        "default": {},
        "no_archive": {"archive_size": 0},
        "overflow_seeds": {"archive_size": 4, "initial": initial},
        "callback": {"callback": _Inject()},
        "callback_overflow": {"callback": _Inject(), "archive_size": 5, "initial": initial},
        "two_objectives": {"objectives": ("accuracy", "novelty")},
        "four_objectives": {"objectives": ("accuracy", "diversity", "novelty", "ild")},
        "four_callback": {"objectives": ("expected_hits", "diversity", "novelty", "ild"),
                          "callback": _Inject()},  # fmt: skip
        "user_objective": {"objectives": ("accuracy", fair, "diversity")},
        "uniform": {"crossover": "uniform", "p_mut": 0.5},
        "sbx": {"crossover": "sbx", "include_topk": False},
    }
    probs = 1.0 / (1.0 + np.exp(-scores))  # expected_hits needs probabilities
    out: dict[str, np.ndarray] = {}
    for name, kw in cases.items():
        s = probs if "expected_hits" in str(kw.get("objectives", ())) else scores
        res = rerank_batch(s, cands, genres, pop, k=5, pop_size=14, n_gen=6, seed=3, **kw)
        for field in ("positions", "F", "rank", "crowding", "n_evals", "archive_positions",
                      "archive_F", "archive_size", "archive_overflow", "archive_seed"):  # fmt: skip
            value = getattr(res, field)
            if value is not None:
                out[f"{name}/{field}"] = np.asarray(value)
    rng = np.random.default_rng(5)
    for m in (2, 3, 4):
        F = np.floor(rng.random((60, m)) * 6) / 6  # many ties and duplicate rows
        out[f"kernels{m}/rank"] = K.nondominated_rank(F)
        out[f"kernels{m}/lex"] = K.lexicographic_order(F)
        out[f"kernels{m}/crowding"] = K.crowding_distance(F[:20])
        state = np.array([np.uint64(12345 + m)])
        for i, value in enumerate(K.survive(F, 25, state)):
            out[f"kernels{m}/survive{i}"] = np.asarray(value)
    return out


def build_report() -> dict:
    """What this process's build did (call after :func:`run_cases`)."""
    from moopt import _memory
    from moopt.engine import kernels as K

    drivers = ("init_batch", "evolve_batch", "inject_batch", "archive_population_batch",
               "run_batch")  # fmt: skip
    stats = {}
    for name in drivers:
        d = getattr(K, name)
        stats[name] = {"hits": sum(d.stats.cache_hits.values()),
                       "misses": sum(d.stats.cache_misses.values())}  # fmt: skip
    per_user = ("init_user", "generation_user", "inject_user")
    sigs = [str(s) for name in per_user for s in getattr(K, name).signatures]
    return {"borrowed": _memory.BORROWED, "cache": stats, "per_user_signatures": len(sigs),
            "borrowed_signatures": sum("borrowed array" in s for s in sigs)}  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--report", default=None)
    args = parser.parse_args(argv)
    arrays = run_cases()
    tmp = f"{args.out}.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, args.out)
    if args.report:
        tmp = f"{args.report}.tmp"
        with open(tmp, "w") as f:
            json.dump(build_report(), f)
        os.replace(tmp, args.report)


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    main()

"""Greedy seeds benchmark: users per second of the streamed job's greedy seeds (MMR, DPP
and SSD along the grid, ``Context.greedy_seeds``), the numpy reference functions against
the Numba pass (``problems.rerank_eval.greedy_kernels``), on the same users.

The candidates are ``benchmarks.scale``'s synthetic ones (N candidates of a 20,011-item
catalogue with 1 to 3 of 20 genres), calibrated as ``moopt stream`` does. The numpy side
runs on the first ``--ref-users`` users and is broken down into the similarity build and
each method's 9 runs; the Numba side runs on all ``--users`` (after one warm-up call that
loads or compiles the kernel), with ``NUMBA_NUM_THREADS`` threads. The lists of the shared
users are compared for equality.

    python -m benchmarks.greedy_seeds [--users 20000] [--ref-users 500] [--n 100]
        [--k 10] [--out runs/greedy_seeds.json]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def measure(users: int, ref_users: int, n: int, k: int, work: Path) -> dict:
    """Seconds and users/s of both implementations, and whether their lists are equal."""
    import numba

    from benchmarks.scale import generate
    from problems.rerank_eval.greedy_kernels import greedy_seeds_batch
    from problems.rerank_eval.stages import GREEDY, RerankEvalConfig
    from problems.rerank_stream import _block, candidate_probabilities, open_candidates
    from recommenders import rerank as R

    generate(work / "cands", users, n, seed=0, target=False)
    block = _block(open_candidates(work / "cands"), slice(0, users))
    q = candidate_probabilities(block)
    items, genres = block["items"].astype(np.int64), block["item_genres"]
    cfg = RerankEvalConfig(k=k, ks=(k,))

    ref = {}
    qr, ir = q[:ref_users], items[:ref_users]
    t = time.perf_counter()
    sim = R.candidate_similarity(ir, item_genres=genres)
    ref["similarity"] = time.perf_counter() - t
    runs = []
    for m in GREEDY:
        t = time.perf_counter()
        for p in cfg.grid:
            if m == "ssd":
                runs.append(R.ssd_batch(qr, genres[ir].astype(np.float64), k, p, cfg.window))
            else:
                runs.append((R.mmr_batch if m == "mmr" else R.dpp_batch)(qr, sim, k, p))
        ref[m] = time.perf_counter() - t
    ref_lists = np.stack(runs, axis=1)
    ref_total = sum(ref.values())

    greedy_seeds_batch(q[:2], items[:2], genres, k, cfg.grid, cfg.window)  # load / compile
    t = time.perf_counter()
    fast = greedy_seeds_batch(q, items, genres, k, cfg.grid, cfg.window)
    fast_s = time.perf_counter() - t
    return {
        "users": users, "ref_users": ref_users, "n": n, "k": k,
        "threads": numba.get_num_threads(),
        "numpy_seconds": {key: round(v, 4) for key, v in ref.items()},
        "numpy_users_per_s": round(ref_users / ref_total, 1),
        "numba_seconds": round(fast_s, 4),
        "numba_users_per_s": round(users / fast_s, 1),
        "speedup": round((users / fast_s) / (ref_users / ref_total), 1),
        "equal_lists": bool(np.array_equal(fast[:ref_users], ref_lists)),
        "differing_lists": int((fast[:ref_users] != ref_lists).any(axis=2).sum()),
    }  # fmt: skip


def main(argv=None) -> dict:
    """Run the benchmark, print its result and write it (JSON) when ``--out`` is given."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=20000)
    p.add_argument("--ref-users", type=int, default=500)
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if not 1 <= args.ref_users <= args.users:
        raise ValueError("--ref-users must lie in [1, --users]")
    with tempfile.TemporaryDirectory() as work:
        result = measure(args.users, args.ref_users, args.n, args.k, Path(work))
    for key, v in result.items():
        print(f"{key}: {v}")
    if args.out is not None:
        from moopt.files import write_json

        write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()

"""What knowledge transfer buys: hypervolume after 10 generations with and without
PreferRec's transfer, and how many generations plain NSGA-II needs to match it.

Users are the synthetic ones of ``rerank_speed`` (or, with ``--candidates``, a
``candidates.npz`` written by ``moopt train`` plus the dataset's genres and training
popularity). Hypervolume: mean over users of the final non-dominated lists, reference
point (1.1, 1.1, 1.1) on the negated objectives.

    python -m benchmarks.knowledge_transfer [--users 943]
    python -m benchmarks.knowledge_transfer --candidates runs/demo/sasrec/candidates.npz
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from pymoo.indicators.hv import HV

from moopt import rerank_batch
from moopt.callbacks import KnowledgeTransfer
from recommenders.io import write_json

from .rerank_speed import synthetic_users


def mean_hv(res) -> float:
    hv = HV(ref_point=np.full(3, 1.1))
    return float(np.mean([hv(-res.F[u][res.rank[u] == 0]) for u in range(res.n_users)]))


def load_candidates(path: str):
    from recommenders.data import leave_one_out, load_dataset
    from recommenders.evaluate import load_candidates as read

    cands = read(path)
    data = load_dataset(str(cands["meta_dataset"]))
    pop = leave_one_out(data.interactions).history("test").item_counts().astype(float)
    return cands["scores"].astype(float), cands["items"], data.item_genres, pop


def run(scores, cands, genres, pop, seed=0, max_gen=40) -> dict:
    kw = dict(k=10, pop_size=50, p_cx=0.9, p_mut=0.2, seed=seed)
    rerank_batch(scores[:4], cands[:4], genres, pop, n_gen=4, callback=KnowledgeTransfer(), **kw)
    t0 = time.perf_counter()
    plain = rerank_batch(scores, cands, genres, pop, n_gen=10, **kw)
    plain_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    kt = rerank_batch(scores, cands, genres, pop, n_gen=10, callback=KnowledgeTransfer(), **kw)
    kt_s = time.perf_counter() - t0
    target = mean_hv(kt)
    curve, match = {}, None
    for n_gen in range(10, max_gen + 1):
        curve[n_gen] = mean_hv(rerank_batch(scores, cands, genres, pop, n_gen=n_gen, **kw))
        if match is None and curve[n_gen] >= target:
            match = n_gen
            break
    return {
        "users": int(scores.shape[0]),
        "hv_plain_10": mean_hv(plain),
        "hv_transfer_10": target,
        "evals_plain_10": float(plain.n_evals.mean()),
        "evals_transfer_10": float(kt.n_evals.mean()),
        "seconds_plain_10": plain_s,
        "seconds_transfer_10": kt_s,
        "plain_generations_to_match": match,
        "plain_hv_by_generation": curve,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=943)
    parser.add_argument("--candidates", default=None, help="a candidates.npz from moopt train")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/bench/knowledge_transfer.json")
    args = parser.parse_args(argv)
    if args.candidates:
        data = load_candidates(args.candidates)
        source = args.candidates
    else:
        data = synthetic_users(args.users, seed=args.seed)
        source = "synthetic"
    r = run(*data, seed=args.seed)
    r["source"] = source
    print(f"knowledge transfer on {r['users']} users ({source}), 10 generations:")
    print(
        f"  plain NSGA-II:        HV {r['hv_plain_10']:.4f}  ({r['seconds_plain_10']:.2f} s, "
        f"{r['evals_plain_10']:.0f} evaluations/user)"
    )
    print(
        f"  with transfer:        HV {r['hv_transfer_10']:.4f}  ({r['seconds_transfer_10']:.2f} s, "
        f"{r['evals_transfer_10']:.0f} evaluations/user)"
    )
    m = r["plain_generations_to_match"]
    print(
        f"  plain NSGA-II matches it after {m} generations"
        if m
        else "  plain NSGA-II did not match it within 40 generations"
    )
    write_json(args.out, r)
    return r


if __name__ == "__main__":
    main()

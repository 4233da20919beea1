"""Another library's model on ML-100K, as files ``moopt candidates`` reads.

Writes into ``--out`` the chronological leave-one-out split of ML-100K as tables in the
dataset's own ids (``train.csv``, ``valid.csv``, ``test.csv``: user, item, timestamp), the
item table (``items.csv``: item, title, categories), and the scores of ``implicit``'s
alternating least squares fitted on the training interactions (``scores.npy``, rows
``users.txt``, columns ``items.txt``)::

    python -m benchmarks.external_als --out runs/als-files --factors 64 --iterations 15
    moopt candidates --scores runs/als-files/scores.npy --user-ids runs/als-files/users.txt \\
        --item-ids runs/als-files/items.txt --items runs/als-files/items.csv \\
        --train runs/als-files/train.csv --valid runs/als-files/valid.csv \\
        --test runs/als-files/test.csv --out runs/als
    moopt rerank --candidates runs/als/candidates.npz --out runs/rerank-als \\
        --methods base mmr dpp ssd nsga2_seeded

Needs the ``dev`` extra (``implicit``). ALS runs on one thread, BLAS too, so a seed gives
the same scores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd


def write_files(out, factors: int = 64, iterations: int = 15, seed: int = 0,
                regularization: float = 0.01) -> dict[str, float]:
    """Write the files described in the module docstring; returns the fit's seconds."""
    import scipy.sparse as sp
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from recommenders.data import leave_one_out, load_dataset

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_dataset("ml-100k")
    split = leave_one_out(data.interactions)
    for name in ("train", "valid", "test"):
        inter = getattr(split, name)
        pd.DataFrame({"user": data.raw_user_ids[inter.users],
                      "item": data.raw_item_ids[inter.items],
                      "timestamp": inter.timestamps}).to_csv(out / f"{name}.csv", index=False)
    pd.DataFrame({
        "item": data.raw_item_ids, "title": data.item_titles,
        "categories": ["|".join(n for n, g in zip(data.genre_names, row, strict=True) if g)
                       for row in data.item_genres],
    }).to_csv(out / "items.csv", index=False)  # fmt: skip
    train = split.train
    matrix = sp.csr_matrix((np.ones(len(train), np.float32), (train.users, train.items)),
                           shape=(train.n_users, train.n_items))  # fmt: skip
    start = time.perf_counter()
    with threadpool_limits(1):
        als = AlternatingLeastSquares(factors=factors, iterations=iterations,
                                      regularization=regularization, random_state=seed,
                                      num_threads=1)  # fmt: skip
        als.fit(matrix, show_progress=False)
    seconds = time.perf_counter() - start
    np.save(out / "scores.npy", als.user_factors @ als.item_factors.T)
    (out / "users.txt").write_text("\n".join(data.raw_user_ids) + "\n")
    (out / "items.txt").write_text("\n".join(data.raw_item_ids) + "\n")
    return {"fit_seconds": seconds}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--factors", type=int, default=64)
    p.add_argument("--iterations", type=int, default=15)
    p.add_argument("--regularization", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    info = write_files(args.out, args.factors, args.iterations, args.seed, args.regularization)
    print(f"ALS fitted in {info['fit_seconds']:.1f} s; wrote the files to {args.out}")


if __name__ == "__main__":
    main()

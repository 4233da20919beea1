"""Scale benchmark, the re-ranking part: the streamed job (``moopt stream``,
``problems.rerank_stream``) end to end on synthetic candidates of 10^4 to 10^6 users.

Per size a candidates directory is generated in blocks, memory-mapped: a planted low-rank
model (16 factors) gives every user's true affinity to its N candidates (distinct items of a
prime-sized catalogue, 20,011 items with 1 to 3 of 20 genres and Zipf popularity); the
scores are the affinities plus noise; ``log_norm_full`` is the log-partition of the scores
over the candidates plus 0.5 (the catalogue outside the candidates), calibration
``catalogue`` at temperature 1. A validation directory (other users, at most 50,000) has a
planted target per user, drawn from the softmax of the true affinities, so the weight tuned
on it trades a real hit rate against diversity and novelty.

Each size's job runs in its own subprocess (generation in another), so the peak resident
memory (the job process's ``getrusage`` ``ru_maxrss``) and the timings of one size do not
contaminate the next. Reported per size: seconds per stage (calibration, seeds, search,
choice, write: sums over blocks; tuning: the validation blocks), end-to-end wall seconds,
peak RSS; then the log-log slope of wall time against users, and at ``--dask-size`` the job
on a Dask ``LocalCluster`` of 2 worker processes (1 thread each, ``NUMBA_NUM_THREADS=1``)
against the local run, with its lists compared for equality.

    python -m benchmarks.scale [--part rerank|train|all] [--sizes 10000,100000,1000000]
        [--seeds topk|greedy] [--dask-size 100000|0] [--block-users 2048] [--n 100]
        [--out runs/scale] [--work DIR]

Writes ``--out/scale_rerank.md``, ``.csv`` and ``.json`` atomically. ``--part train`` (or
``all``) also runs the training, evaluation and candidates stages on the ML-20M-sized set
(``benchmarks/scale_train.py``, its own options at their defaults) and writes
``--out/scale_train.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_ITEMS, N_GENRES, DIM, GEN_BLOCK = 20011, 20, 16, 8192


def generate(path: Path, n_users: int, n: int, seed: int, target: bool) -> None:
    """Write a synthetic candidates directory of ``n_users`` users in blocks."""
    from numpy.lib.format import open_memmap

    from moopt.files import write_json

    cat = np.random.default_rng(12345)  # one catalogue for every set
    item_f = cat.normal(size=(N_ITEMS, DIM)).astype(np.float32) / np.sqrt(DIM)
    genres = np.zeros((N_ITEMS, N_GENRES), dtype=bool)
    for j in range(3):
        rows = np.flatnonzero(cat.random(N_ITEMS) < (1.0 if j == 0 else 0.4))
        genres[rows, cat.integers(0, N_GENRES, rows.size)] = True
    pop = np.floor(1e4 / (1 + cat.permutation(N_ITEMS))).astype(np.float64) + 1
    perm = cat.permutation(N_ITEMS)
    path.mkdir(parents=True, exist_ok=True)
    np.save(path / "item_genres.npy", genres)
    np.save(path / "item_popularity.npy", pop)
    arrays = {"users": ((n_users,), np.int64), "items": ((n_users, n), np.int32),
              "scores": ((n_users, n), np.float32), "log_norm_full": ((n_users,), np.float64)}
    if target:
        arrays["target"] = ((n_users,), np.int64)
    mm = {k: open_memmap(path / f"{k}.npy", mode="w+", dtype=d, shape=s)
          for k, (s, d) in arrays.items()}  # fmt: skip
    rng = np.random.default_rng(seed)
    for s in range(0, n_users, GEN_BLOCK):
        b = min(GEN_BLOCK, n_users - s)
        user_f = rng.normal(size=(b, DIM)).astype(np.float32)
        # a prime catalogue: start + step * j (mod I) are n distinct items for step != 0
        start, step = rng.integers(0, N_ITEMS, (b, 1)), rng.integers(1, N_ITEMS, (b, 1))
        items = perm[(start + step * np.arange(n)) % N_ITEMS]
        true = np.einsum("bd,bnd->bn", user_f, item_f[items]) * 3.0
        scores = true + rng.normal(scale=1.0, size=true.shape).astype(np.float32)
        m = scores.max(axis=1, keepdims=True)
        log_z = (m[:, 0] + np.log(np.exp(scores - m).sum(axis=1))).astype(np.float64)
        mm["users"][s: s + b] = np.arange(s, s + b)
        mm["items"][s: s + b] = items
        mm["scores"][s: s + b] = scores
        mm["log_norm_full"][s: s + b] = log_z + 0.5
        if target:  # Gumbel-max: a draw from the softmax of the true affinities
            pick = np.argmax(true + rng.gumbel(size=true.shape), axis=1)
            mm["target"][s: s + b] = items[np.arange(b), pick]
    for a in mm.values():
        a.flush()
    write_json(path / "meta.json", {"calibration": "catalogue", "temperature_full": 1.0})


def _child(args) -> None:
    """One subprocess: generate a size's data, or run its job and print its summary."""
    if args.child == "generate":
        t = time.perf_counter()
        generate(Path(args.work) / f"test-{args.size}", args.size, args.n, 1, False)
        generate(Path(args.work) / f"valid-{args.size}", min(args.size, 50000), args.n, 2, True)
        print(json.dumps({"seconds": time.perf_counter() - t}))
        return
    from problems.rerank_stream import StreamConfig, rerank_stream

    cfg = StreamConfig(seeds=args.seeds, block_users=args.block_users)
    work, client, cluster = Path(args.work), None, None
    if args.child == "dask":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)  # fmt: skip
        client = Client(cluster)
    out = work / f"{args.child}-{args.size}"
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    summary = rerank_stream(work / f"test-{args.size}", out, work / f"valid-{args.size}", cfg,
                            client=client, progress=True)  # fmt: skip
    wall = time.perf_counter() - t
    tune = summary["tuned"]
    if client is not None:
        client.close()
        cluster.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"wall": wall, "rss": rss, "totals": summary["totals"],
                      "tune": tune["seconds"], "weight": tune["expected_hits_weight"],
                      "valid_users": tune["users"]}))  # fmt: skip


def _run(args, child: str, size: int, env=None) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.scale", "--child", child, "--size", str(size),
           "--work", args.work, "--n", str(args.n), "--seeds", args.seeds,
           "--block-users", str(args.block_users)]  # fmt: skip
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True,
                          env={**os.environ, **(env or {})})  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def _same_lists(a: Path, b: Path) -> bool:
    import pandas as pd

    pa, pb = sorted(a.glob("*.parquet")), sorted(b.glob("*.parquet"))
    return [p.name for p in pa] == [p.name for p in pb] and all(
        pd.read_parquet(x).equals(pd.read_parquet(y)) for x, y in zip(pa, pb, strict=True))


def main(argv=None) -> dict:
    """Run the benchmark and write its table.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    dict
        The rows and the slope, as written to ``scale_rerank.json``.
    """
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=["rerank", "train", "all"], default="rerank")
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--seeds", choices=["greedy", "topk"], default="greedy")
    p.add_argument("--dask-size", type=int, default=100000, help="0: no Dask run")
    p.add_argument("--block-users", type=int, default=2048)
    p.add_argument("--n", type=int, default=100, help="candidates per user")
    p.add_argument("--out", default="runs/scale")
    p.add_argument("--work", default=None, help="data folder (default: a temporary one)")
    p.add_argument("--child", choices=["generate", "local", "dask"], help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return _child(args)
    if args.part in ("train", "all"):
        from . import scale_train

        scale_train.main(["--out", str(Path(args.out) / "scale_train.md")])
        if args.part == "train":
            return {}
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    tmp = None
    if args.work is None:
        tmp = tempfile.mkdtemp(prefix="moopt-scale-")
        args.work = tmp
    rows = []
    try:
        for size in sizes:
            gen = _run(args, "generate", size)
            res = _run(args, "local", size)
            row = {"users": size, "generate_s": gen["seconds"], "wall_s": res["wall"],
                   "tune_s": res["tune"],
                   **{f"{k}_s": v for k, v in res["totals"]["seconds"].items()},
                   "peak_rss_gb": res["rss"] / 1e9, "weight": res["weight"],
                   "load_1min": os.getloadavg()[0]}  # fmt: skip
            if size == args.dask_size:
                dask = _run(args, "dask", size, {"NUMBA_NUM_THREADS": "1"})
                row["dask_wall_s"] = dask["wall"]
                row["dask_same_lists"] = _same_lists(Path(args.work) / f"local-{size}" / "lists",
                                                     Path(args.work) / f"dask-{size}" / "lists")
            rows.append(row)
            print(json.dumps(row), flush=True)
            for d in ("test", "valid", "local", "dask"):
                shutil.rmtree(Path(args.work) / f"{d}-{size}", ignore_errors=True)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    result = {"rows": rows, "settings": {k: v for k, v in vars(args).items()
                                         if k not in ("child", "size", "work")}}  # fmt: skip
    if len(rows) > 1:
        x = np.log([r["users"] for r in rows])
        result["slope"] = float(np.polyfit(x, np.log([r["wall_s"] for r in rows]), 1)[0])
        # the tuning works on a validation sample of at most --valid-users: a constant
        y = np.log([r["wall_s"] - r["tune_s"] for r in rows])
        result["slope_without_tuning"] = float(np.polyfit(x, y, 1)[0])
    _write(Path(args.out), result)
    return result


def _write(out: Path, result: dict) -> None:
    import pandas as pd

    from moopt.files import atomic_path, write_csv, write_json

    frame = pd.DataFrame(result["rows"])
    write_csv(out / "scale_rerank.csv", frame)
    write_json(out / "scale_rerank.json", result)
    cells = [[f"{v:.3g}" if isinstance(v, float) else str(v) for v in r]
             for r in frame.itertuples(index=False)]  # fmt: skip
    text = "\n".join("| " + " | ".join(r) + " |" for r in
                     [list(frame.columns), ["---"] * frame.shape[1], *cells])  # fmt: skip
    if "slope" in result:
        text += (f"\n\nlog-log slope of wall time against users: {result['slope']:.3f} "
                 f"(without the validation tuning: {result['slope_without_tuning']:.3f})\n")
    with atomic_path(out / "scale_rerank.md") as tmp:
        tmp.write_text(f"# Re-ranking at size ({result['settings']})\n\n{text}\n")
    print(text)


if __name__ == "__main__":
    main()

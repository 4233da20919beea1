"""Training, evaluation and candidates at ML-20M size: time and peak memory per stage.

``python -m benchmarks.scale_train [--out FILE.md]`` runs every stage in its own
subprocess and reads that subprocess's peak resident memory from the kernel's child
accounting (``os.wait4``: the ``ru_maxrss`` that ``resource.getrusage(RUSAGE_CHILDREN)``
reports, but for that one child). The stages:

* ``generate``: ``make_synthetic_large`` (138,493 users, 26,744 items, ~20M
  interactions), the chronological leave-one-out split, the split saved as ``.npy``;
* ``bpr`` / ``bpr_dense``: one BPR-MF epoch with ``sparse=True`` (SparseAdam) and with
  the default dense Adam, each trained on the interactions of the first ``--fraction``
  of the users (the id spaces, and so the tables, stay full size) and scaled to the whole
  training set: seconds per epoch = measured seconds x all / trained interactions;
* ``sasrec`` / ``gru4rec``: the windows of all users (time of building them, kept in
  memory), then one epoch with the sampled softmax on the first ``--fraction`` of the
  users: seconds per million training positions (targets);
* ``evaluate``: ``recommenders.evaluate.evaluate`` of the test stage, full ranking of
  every user with a target and the 1 + 99 sampled protocol, in blocks under
  ``--memory-budget`` (the BPR-MF model of the ``bpr`` stage);
* ``candidates``: the full temperature fitted on validation (a seeded subset of users),
  then the top-100 candidates, sampled sets and normalisers of every test user written
  to a candidates directory (``recommenders.blocked.write_candidates``).

``rows()`` returns the table's rows (a list of dicts) for ``benchmarks.scale``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STAGES = ("generate", "bpr", "bpr_dense", "sasrec", "gru4rec", "evaluate", "candidates")
_PARTS = ("train", "valid", "test")
_FIELDS = ("users", "items", "timestamps")


# ----------------------------------------------------------------- stages (in a child)


def _load_split(work: Path):
    from recommenders.data.interactions import Interactions
    from recommenders.data.split import Split

    shape = json.loads((work / "shape.json").read_text())
    parts = {}
    for part in _PARTS:
        arrays = [np.load(work / f"{part}_{f}.npy") for f in _FIELDS]
        parts[part] = Interactions(*arrays, np.ones(arrays[0].size, np.float32),
                                   shape["n_users"], shape["n_items"])  # fmt: skip
    return Split(parts["train"], parts["valid"], parts["test"], "leave-one-out")


def _first_users(train, fraction: float):
    cut = int(np.ceil(train.n_users * fraction))
    return train.select(train.users < cut)


def _generate(work: Path, opts: dict) -> dict:
    from recommenders.data.split import leave_one_out
    from recommenders.data.synthetic_large import make_synthetic_large

    start = time.perf_counter()
    kw = {k: opts[k] for k in ("n_users", "n_items") if opts.get(k)}
    data = make_synthetic_large(seed=opts["seed"], **kw)
    generated = time.perf_counter() - start
    split = leave_one_out(data.interactions)
    for part in _PARTS:
        inter = getattr(split, part)
        for f in _FIELDS:
            np.save(work / f"{part}_{f}.npy", getattr(inter, f).astype(np.int32))
    (work / "shape.json").write_text(json.dumps({"n_users": split.n_users,
                                                 "n_items": split.n_items}))  # fmt: skip
    n = len(data.interactions)
    return {"measure": f"generate {data.n_users:,} users x {data.n_items:,} items, "
            f"{n:,} interactions", "seconds": generated,
            "note": f"split and save {time.perf_counter() - start - generated:.1f} s more"}


def _bpr(work: Path, opts: dict, sparse: bool) -> dict:
    from recommenders.models import BPRMF

    split = _load_split(work)
    fraction = opts["fraction"] if sparse else opts["dense_fraction"]
    part = _first_users(split.train, fraction)
    model = BPRMF(epochs=1, sparse=sparse, device="cpu", seed=opts["seed"], verbose=True)
    model.fit(part)
    seconds = model.train_log_[0]["seconds"]
    if sparse:
        model.save(work / "bpr.pt")
    epoch = seconds * len(split.train) / len(part)
    return {"measure": f"BPR-MF epoch ({'SparseAdam' if sparse else 'dense Adam'}), "
            f"{len(split.train):,} training interactions", "seconds": epoch,
            "note": f"measured {seconds:.1f} s on {len(part):,} interactions "
            f"({fraction:.1%} of users), scaled"}


def _sequential(work: Path, opts: dict, name: str) -> dict:
    from recommenders.models import get_model
    from recommenders.models.sequential import IGNORE, training_windows

    split = _load_split(work)
    start = time.perf_counter()
    _, targets = training_windows(split.train, 50, np.random.default_rng(0))
    windows = time.perf_counter() - start
    positions_all = int((targets != IGNORE).sum())
    part = _first_users(split.train, opts["seq_fraction"])
    model = get_model(name, epochs=1, loss="sampled", n_negatives=256, device="cpu",
                      seed=opts["seed"], verbose=True)  # fmt: skip
    model.fit(part)
    _, t = training_windows(part, model.config.max_len, np.random.default_rng(0))
    positions = int((t != IGNORE).sum())
    per_million = model.train_log_[0]["seconds"] / positions * 1e6
    return {"measure": f"{name} epoch, sampled softmax (256 negatives + in-batch), "
            f"per million positions", "seconds": per_million,
            "note": f"about {positions:,} positions trained ({opts['seq_fraction']:.1%} of "
            "users; targets of the epoch's windows, overlaps counted); "
            f"windows of all {positions_all:,} positions built in {windows:.1f} s"}


def _evaluate(work: Path, opts: dict) -> dict:
    from recommenders.evaluate import evaluate
    from recommenders.models import Ranker

    split, model = _load_split(work), Ranker.load(work / "bpr.pt", device="cpu")
    start = time.perf_counter()
    metrics = evaluate(model, split, "test", memory_budget=opts["memory_budget"], verbose=True)
    users = np.unique(split.test.users).size
    return {"measure": f"evaluate: full ranking + 1+99 sampled, {users:,} test users",
            "seconds": time.perf_counter() - start,
            "note": f"blocks under {opts['memory_budget'] / 2**30:.2f} GiB; full HR@10 "
            f"{metrics['full']['HR@10']:.4f}, sampled HR@10 {metrics['sampled']['HR@10']:.4f}"}


def _candidates(work: Path, opts: dict) -> dict:
    from recommenders.blocked import write_candidates
    from recommenders.candidates_io import load_candidates
    from recommenders.evaluate import fit_full_temperature
    from recommenders.models import Ranker

    split, model = _load_split(work), Ranker.load(work / "bpr.pt", device="cpu")
    start = time.perf_counter()
    users, first = np.unique(split.valid.users, return_index=True)
    t_full, rows = fit_full_temperature(model, split.train, users, split.valid.items[first])
    fitted = time.perf_counter() - start
    out = write_candidates(model, split, work / "candidates", n=100, temperature_full=t_full,
                           meta={"model": model.name}, memory_budget=opts["memory_budget"],
                           verbose=True)  # fmt: skip
    seconds = time.perf_counter() - start
    cands = load_candidates(out)
    size = sum(p.stat().st_size for p in out.iterdir())
    return {"measure": f"top-100 candidates of {cands['users'].size:,} test users to a "
            "directory", "seconds": seconds,
            "note": f"incl. temperature fit on {rows:,} validation users ({fitted:.1f} s); "
            f"{size / 2**20:.0f} MiB on disk"}


def _run_stage(stage: str, work: Path, opts: dict) -> dict:
    if stage == "generate":
        return _generate(work, opts)
    if stage in ("bpr", "bpr_dense"):
        return _bpr(work, opts, sparse=stage == "bpr")
    if stage in ("sasrec", "gru4rec"):
        return _sequential(work, opts, stage)
    if stage == "evaluate":
        return _evaluate(work, opts)
    if stage == "candidates":
        return _candidates(work, opts)
    raise ValueError(f"unknown stage {stage!r}; one of {STAGES}")


# ----------------------------------------------------------------- the parent


def rows(
    n_users: int | None = None,
    n_items: int | None = None,
    *,
    fraction: float = 0.05,
    dense_fraction: float = 0.01,
    seq_fraction: float = 0.005,
    memory_budget: int = 1 << 30,
    stages: tuple[str, ...] = STAGES,
    seed: int = 0,
    workdir: str | os.PathLike | None = None,
) -> list[dict]:
    """Run the stages, each in a subprocess, and return one row per stage.

    Parameters
    ----------
    n_users, n_items : int, optional
        The synthetic set's size; ``None`` keeps ``make_synthetic_large``'s ML-20M size.
    fraction : float, default 0.05
        Share of the users whose interactions BPR-MF (sparse) trains on (then scaled).
    dense_fraction, seq_fraction : float, default 0.01 and 0.005
        The same for dense-Adam BPR-MF and for SASRec and GRU4Rec (slower per example).
    memory_budget : int, default 1 GiB
        Bytes of working memory per block of users (evaluation and candidates).
    stages : tuple of str, default STAGES
        The stages, in order (later ones read what ``generate`` and ``bpr`` wrote).
    seed : int, default 0
        Seed of the data and the models.
    workdir : str or os.PathLike, optional
        Where the split, the model and the candidates go; default a temporary folder,
        deleted afterwards.

    Returns
    -------
    list of dict
        ``stage``, ``measure``, ``seconds``, ``peak_rss_gb`` (the subprocess's peak
        resident memory), ``wall_s`` (the subprocess's whole run, imports included),
        ``note``.
    """
    for name, value in (("fraction", fraction), ("dense_fraction", dense_fraction),
                        ("seq_fraction", seq_fraction)):
        if not 0 < value <= 1:
            raise ValueError(f"{name} must lie in (0, 1], got {value}")
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stages {sorted(unknown)}; choose from {STAGES}")
    opts = {"n_users": n_users, "n_items": n_items, "fraction": fraction,
            "dense_fraction": dense_fraction, "seq_fraction": seq_fraction,
            "memory_budget": int(memory_budget), "seed": seed}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="scale_train.") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        out = []
        for stage in stages:
            result = work / f"{stage}.json"
            result.unlink(missing_ok=True)
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "benchmarks.scale_train", "--stage",
                                     stage, "--work", str(work), "--opts", json.dumps(opts)])
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                raise RuntimeError(f"stage {stage} failed with exit status {proc.returncode}")
            row = {"stage": stage, **json.loads(result.read_text())}
            row["peak_rss_gb"] = usage.ru_maxrss * 1024 / 1e9  # Linux reports KiB
            row["wall_s"] = time.perf_counter() - start
            out.append(row)
            print(f"{stage}: {row['seconds']:.1f} s, peak {row['peak_rss_gb']:.2f} GB",
                  file=sys.stderr)
    return out


def markdown(table: list[dict], header: str = "") -> str:
    """The rows as a markdown table.

    Parameters
    ----------
    table : list of dict
        ``rows()``'s output.
    header : str, default ""
        Lines put before the table.

    Returns
    -------
    str
        Markdown text.
    """
    lines = [header, "", "| stage | measured | seconds | peak RSS (GB) | note |",
             "|---|---|---:|---:|---|"]  # fmt: skip
    for r in table:
        lines.append(f"| {r['stage']} | {r['measure']} | {r['seconds']:.1f} | "
                     f"{r['peak_rss_gb']:.2f} | {r['note']} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line: run the stages, print the table, write it with ``--out``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0.
    """
    p = argparse.ArgumentParser(prog="python -m benchmarks.scale_train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=None, help="users (default: ML-20M's 138,493)")
    p.add_argument("--items", type=int, default=None, help="items (default: 26,744)")
    p.add_argument("--fraction", type=float, default=0.05,
                   help="share of users sparse BPR-MF trains on (default 0.05)")
    p.add_argument("--dense-fraction", type=float, default=0.01,
                   help="share of users dense-Adam BPR-MF trains on (default 0.01)")
    p.add_argument("--seq-fraction", type=float, default=0.005,
                   help="share of users SASRec and GRU4Rec train on (default 0.005)")
    p.add_argument("--memory-budget-gb", type=float, default=1.0,
                   help="working memory per block of users, GiB (default 1)")
    p.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    p.add_argument("--workdir", default=None, help="keep the data and outputs here")
    p.add_argument("--out", default=None, help="write the table here (.md) and a .json beside")
    p.add_argument("--stage", help=argparse.SUPPRESS)
    p.add_argument("--work", help=argparse.SUPPRESS)
    p.add_argument("--opts", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.stage:  # a child: one stage, its result in WORK/STAGE.json
        result = _run_stage(args.stage, Path(args.work), json.loads(args.opts))
        (Path(args.work) / f"{args.stage}.json").write_text(json.dumps(result))
        return 0
    load_before = os.getloadavg()
    table = rows(args.users, args.items, fraction=args.fraction,
                 dense_fraction=args.dense_fraction, seq_fraction=args.seq_fraction,
                 memory_budget=int(args.memory_budget_gb * 2**30), stages=tuple(args.stages),
                 workdir=args.workdir)  # fmt: skip
    load_after = os.getloadavg()
    import torch

    command = " ".join(["python -m benchmarks.scale_train", *(sys.argv[1:] if argv is None
                                                               else argv)])  # fmt: skip
    header = (f"`{command}`\n\n{os.cpu_count()} CPUs, torch {torch.__version__} with "
              f"{torch.get_num_threads()} threads; load average (1, 5, 15 min) "
              f"{'/'.join(f'{x:.1f}' for x in load_before)} before, "
              f"{'/'.join(f'{x:.1f}' for x in load_after)} after")  # fmt: skip
    text = markdown(table, header)
    print(text)
    if args.out:
        from moopt.files import atomic_path, write_json

        out = Path(args.out)
        with atomic_path(out, suffix=".md") as tmp:
            tmp.write_text(text)
        write_json(out.with_suffix(".json"), {"header": header, "rows": table,
                                              "command": command})
    return 0


if __name__ == "__main__":
    sys.exit(main())

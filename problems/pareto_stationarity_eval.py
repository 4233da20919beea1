"""The PMORS experiment behind ``moopt pmors``: the pre-ranker trained with MGDA weights
(each gradient normalisation) against fixed weights alpha in {0.5, ..., 1.0}, as in PMORS
Table 2, on NDCG@10, Recall@10_1 and the exposure rate of negatively rated items.

Files: ``pmors_table.csv`` (one row per weighting) and ``pmors.json`` (the table, the
settings and the dataset's counts). ``pmors_seeds_job`` repeats the experiment over
several seeds (model initialisation, impression sampling, tie order) and adds
``pmors_runs.csv`` (every seed's table), the mean table with 95% CI half-widths and
``pmors_significance.csv``: every MGDA normalisation against every fixed alpha, paired
over seeds (t-test, t CI, Cohen's d_z), Holm-corrected over all those comparisons.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd

from moopt import stats
from recommenders.io import dataset_digest, job_folder, write_csv, write_json

from .pareto_stationarity import PMORSConfig, PMORSTask

ALPHAS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
NORMALIZATIONS = ("none", "l2", "loss", "loss+")


def pmors_job(
    dataset,
    out_dir,
    config: PMORSConfig | None = None,
    alphas=ALPHAS,
    normalizations=NORMALIZATIONS,
    device: str = "cpu",
    verbose: bool = False,
) -> tuple[pd.DataFrame, list[Path]]:
    """Train every weighting on ``dataset`` and write the table into ``out_dir``.

    ``out_dir`` is held while the job runs (``recommenders.io.job_folder``); nothing
    is saved before the table, so a killed run starts again from its beginning and, the
    training being seeded, writes the files the uninterrupted run would have written."""
    with job_folder(out_dir) as out:
        return _pmors(dataset, out, config, alphas, normalizations, device, verbose)


def _pmors(dataset, out: Path, config, alphas, normalizations, device, verbose):
    task = PMORSTask(dataset, config, device=device)
    table = task.compare(alphas, normalizations, verbose=verbose)
    ds = task.dataset
    negatives = int((task.split.train.ratings <= task.config.negative_threshold).sum())
    written = [
        write_csv(out / "pmors_table.csv", table),
        write_json(out / "pmors.json", {
            "dataset": ds.name, "config": asdict(task.config), "data": dataset_digest(ds),
            "alphas": [float(a) for a in alphas], "normalizations": list(normalizations),
            "n_users": ds.n_users, "n_items": ds.n_items,
            "negative_training_interactions": negatives,
            "training_impressions": int(task.train_imp["users"].shape[0]),
            "table": table.to_dict("records"),
        }),
    ]  # fmt: skip
    return table, written


METRICS = ("NDCG@10", "Recall@10_1", "NegExposure@10")


def summarise_seeds(runs: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Per weighting (in first-seen order): the mean of each metric over the seeds and its
    95% t-CI half-width (``<metric> ci``; NaN with one seed), the mean final alpha and
    seconds."""
    rows = []
    for weights in dict.fromkeys(runs["weights"]):
        part = runs[runs["weights"] == weights]
        row: dict = {"weights": weights, "n_seeds": len(part)}
        for m in metrics:
            values = part[m].to_numpy(dtype=float)
            row[m] = float(values.mean())
            row[f"{m} ci"] = (stats.mean_ci(values)[2] - values.mean() if len(values) > 1
                              else np.nan)  # fmt: skip
        row["alpha (last epoch)"] = float(part["alpha (last epoch)"].mean())
        row["seconds"] = float(part["seconds"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def mgda_vs_fixed(runs: pd.DataFrame, metric: str = "NDCG@10") -> pd.DataFrame:
    """Every MGDA row against every fixed alpha on ``metric``, paired over seeds, Holm
    over all the comparisons (``moopt.stats.compare_table``)."""
    seeds = sorted(runs["seed"].unique())
    if len(seeds) < 2:
        raise ValueError("a paired test over seeds needs at least 2 seeds")
    wide = runs.pivot(index="seed", columns="weights", values=metric).loc[seeds]
    mgda = [w for w in wide.columns if str(w).startswith("MGDA")]
    fixed = [w for w in wide.columns if str(w).startswith("alpha=")]
    results = {f"{metric}: {a} vs {b}": stats.paired_over_seeds(wide[a], wide[b])
               for a in mgda for b in fixed}  # fmt: skip
    return stats.compare_table(results, correction="holm").reset_index()


def pmors_seeds_job(
    load: Callable[[int], object],
    out_dir,
    seeds: Sequence[int] = (0, 1, 2),
    config: PMORSConfig | None = None,
    alphas=ALPHAS,
    normalizations=NORMALIZATIONS,
    device: str = "cpu",
    verbose: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:
    """``pmors_job`` for each seed (``load(seed)`` gives the dataset; ``config.seed``
    is replaced by the seed), then the mean table and the significance table. Returns
    ``(mean table, significance, files)``; with one seed the significance is empty.

    A seed whose ``seed<k>/pmors.json`` holds the same settings, weightings and data is
    not trained again: its table is read back from there, so a rerun of a killed job
    trains only the seeds it had not finished."""
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds}")
    config = config or PMORSConfig()
    with job_folder(out_dir) as out:
        tables = []
        for seed in seeds:
            data, cfg = load(seed), replace(config, seed=seed)
            table = _finished(out / f"seed{seed}", data, cfg, alphas, normalizations)
            if table is None:
                table, _ = pmors_job(data, out / f"seed{seed}", cfg, alphas, normalizations,
                                     device, verbose)  # fmt: skip
            tables.append(table.assign(seed=seed))
        return _seeds_tables(out, seeds, tables)


def _finished(folder: Path, dataset, config: PMORSConfig, alphas, normalizations):
    """The table of a finished ``pmors_job`` in ``folder`` with these settings and
    data, else None."""
    path = folder / "pmors.json"
    if not path.is_file() or not (folder / "pmors_table.csv").is_file():
        return None
    saved = json.loads(path.read_text())
    # Settings as pmors.json holds them (tuples become lists).
    expect = {"config": json.loads(json.dumps(asdict(config))), "data": dataset_digest(dataset),
              "alphas": [float(a) for a in alphas], "normalizations": list(normalizations)}
    if any(saved.get(k) != v for k, v in expect.items()):
        return None
    return pd.DataFrame(saved["table"])


def _seeds_tables(out: Path, seeds: list[int], tables: list[pd.DataFrame]):
    runs = pd.concat(tables, ignore_index=True)
    mean = summarise_seeds(runs)
    written = [write_csv(out / "pmors_runs.csv", runs), write_csv(out / "pmors_table.csv", mean)]
    sig = pd.DataFrame()
    if len(seeds) > 1:
        sig = pd.concat([mgda_vs_fixed(runs, m) for m in ("NDCG@10", "NegExposure@10")],
                        ignore_index=True)  # fmt: skip
        written.append(write_csv(out / "pmors_significance.csv", sig))
    return mean, sig, written

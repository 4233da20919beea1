"""The PMORS experiment behind ``moopt pmors``: the pre-ranker trained with MGDA weights
(each gradient normalisation) against fixed weights alpha in {0.5, ..., 1.0}, as in PMORS
Table 2, on NDCG@10, Recall@10_1 and the exposure rate of negatively rated items.

Files: ``pmors_table.csv`` (one row per weighting) and ``pmors.json`` (the table, the
settings and the dataset's counts). :func:`pmors_seeds_job` repeats the experiment over
several seeds (model initialisation, impression sampling, tie order) and adds
``pmors_runs.csv`` (every seed's table), the mean table with 95% CI half-widths and
``pmors_significance.csv``: every MGDA normalisation against every fixed alpha, paired
over seeds (t-test, t CI, Cohen's d_z), Holm-corrected over all those comparisons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd

from moopt import stats
from recommenders.io import write_csv, write_json

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
    """Train every weighting on ``dataset`` and write the table into ``out_dir``."""
    task = PMORSTask(dataset, config, device=device)
    table = task.compare(alphas, normalizations, verbose=verbose)
    out = Path(out_dir)
    ds = task.dataset
    negatives = int((task.split.train.ratings <= task.config.negative_threshold).sum())
    written = [
        write_csv(out / "pmors_table.csv", table),
        write_json(out / "pmors.json", {
            "dataset": ds.name, "config": asdict(task.config),
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
    """:func:`pmors_job` for each seed (``load(seed)`` gives the dataset; ``config.seed``
    is replaced by the seed), then the mean table and the significance table. Returns
    ``(mean table, significance, files)``; with one seed the significance is empty."""
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds}")
    config = config or PMORSConfig()
    out = Path(out_dir)
    tables = []
    for seed in seeds:
        table, _ = pmors_job(load(seed), out / f"seed{seed}", replace(config, seed=seed),
                             alphas, normalizations, device, verbose)  # fmt: skip
        tables.append(table.assign(seed=seed))
    runs = pd.concat(tables, ignore_index=True)
    mean = summarise_seeds(runs)
    written = [write_csv(out / "pmors_runs.csv", runs), write_csv(out / "pmors_table.csv", mean)]
    sig = pd.DataFrame()
    if len(seeds) > 1:
        sig = pd.concat([mgda_vs_fixed(runs, m) for m in ("NDCG@10", "NegExposure@10")],
                        ignore_index=True)  # fmt: skip
        written.append(write_csv(out / "pmors_significance.csv", sig))
    return mean, sig, written

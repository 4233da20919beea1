"""The PMORS experiment behind ``moopt pmors``.

The pre-ranker trained with MGDA weights (each gradient normalisation) against fixed
weights alpha in {0.5, ..., 1.0}, as in PMORS Table 2, on NDCG@10, Recall@10_1 and the
exposure rate of negatively rated items.

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
    training being seeded, writes the files the uninterrupted run would have written.

    Parameters
    ----------
    dataset : recommenders.data.Dataset
        Interactions with ratings and timestamps.
    out_dir : str or pathlib.Path
        Output folder.
    config : PMORSConfig or None, default None
        Settings; None means ``PMORSConfig()``.
    alphas : sequence of float, default (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
        Fixed consistency weights, each in [0, 1].
    normalizations : sequence of str, default ("none", "l2", "loss", "loss+")
        MGDA's gradient normalisations, one run each.
    device : str, default "cpu"
        Torch device (``"cpu"``, ``"cuda"`` or ``"auto"``).
    verbose : bool, default False
        Show progress bars.

    Returns
    -------
    table : pandas.DataFrame
        ``PMORSTask.compare``'s table, one row per weighting.
    files : list of pathlib.Path
        ``pmors_table.csv`` and ``pmors.json``.
    """
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
    """Per weighting: the mean of each metric over the seeds and its 95% t-CI half-width.

    Parameters
    ----------
    runs : pandas.DataFrame
        Every seed's ``pmors_job`` table: ``weights``, the metrics, ``alpha (last
        epoch)`` and ``seconds``, one row per weighting and seed.
    metrics : sequence of str, default ("NDCG@10", "Recall@10_1", "NegExposure@10")
        Metric columns to summarise.

    Returns
    -------
    pandas.DataFrame
        One row per weighting in first-seen order: ``weights``, ``n_seeds``, each metric's
        mean and ``<metric> ci`` (NaN with one seed), mean ``alpha (last epoch)`` and
        ``seconds``.

    Examples
    --------
    >>> import pandas as pd
    >>> from problems.pareto_stationarity_eval import mgda_vs_fixed, summarise_seeds
    >>> runs = pd.DataFrame({"seed": [0, 0, 1, 1, 2, 2],
    ...     "weights": ["MGDA (none)", "alpha=1.0"] * 3,
    ...     "NDCG@10": [0.30, 0.28, 0.32, 0.29, 0.31, 0.27],
    ...     "alpha (last epoch)": [0.7, 1.0] * 3, "seconds": [10.0, 8.0] * 3})
    >>> summarise_seeds(runs, metrics=["NDCG@10"]).round(4).values.tolist()
    [['MGDA (none)', 3, 0.31, 0.0248, 0.7, 10.0], ['alpha=1.0', 3, 0.28, 0.0248, 1.0, 8.0]]
    >>> row = mgda_vs_fixed(runs).iloc[0]
    >>> row["comparison"], round(float(row["diff"]), 4), round(float(row["p_adj"]), 4)
    ('NDCG@10: MGDA (none) vs alpha=1.0', 0.03, 0.0351)
    """
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
    """Every MGDA row against every fixed alpha on ``metric``, paired over seeds.

    Parameters
    ----------
    runs : pandas.DataFrame
        As for ``summarise_seeds``, with a ``seed`` column; MGDA rows' ``weights`` start
        with ``"MGDA"``, fixed ones with ``"alpha="``.
    metric : str, default "NDCG@10"
        Metric column compared.

    Returns
    -------
    pandas.DataFrame
        ``moopt.stats.compare_table`` of the comparisons ``"<metric>: <MGDA> vs
        <alpha>"``: paired t-test over seeds, t CI, Cohen's d_z, Holm over all of them.

    Raises
    ------
    ValueError
        With fewer than two seeds.
    """
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
    """``pmors_job`` for each seed, then the mean table and the significance table.

    A seed whose ``seed<k>/pmors.json`` holds the same settings, weightings and data is
    not trained again: its table is read back from there, so a rerun of a killed job
    trains only the seeds it had not finished.

    Parameters
    ----------
    load : callable
        ``load(seed)`` returns the dataset of that seed.
    out_dir : str or pathlib.Path
        Output folder; seed k runs in ``seed<k>/``.
    seeds : sequence of int, default (0, 1, 2)
        Distinct seeds, at least one; each replaces ``config.seed``.
    config, alphas, normalizations, device, verbose
        As for ``pmors_job``.

    Returns
    -------
    table : pandas.DataFrame
        ``summarise_seeds`` of every seed's table.
    significance : pandas.DataFrame
        ``mgda_vs_fixed`` on NDCG@10 and NegExposure@10; empty with one seed.
    files : list of pathlib.Path
        The files written.

    Raises
    ------
    ValueError
        For no seeds or repeated seeds.
    """
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

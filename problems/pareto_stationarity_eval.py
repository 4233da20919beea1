"""The PMORS experiment behind ``moopt pmors``: the pre-ranker trained with MGDA weights
(each gradient normalisation) against fixed weights alpha in {0.5, ..., 1.0}, as in PMORS
Table 2, on NDCG@10, Recall@10_1 and the exposure rate of negatively rated items.

Files: ``pmors_table.csv`` (one row per weighting) and ``pmors.json`` (the table, the
settings and the dataset's counts).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

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

"""The DuAF-MAT experiment behind ``moopt multimodal``.

Base rankers on one dataset, leave-one-out, every item ranked with seen items masked, on
the test stage: NDCG and MRR at 5 and 10 (plus HR@10), at several missing rates of the
second ("visual") modality and over several seeds. Variants:

* ``sasrec``: the ID-only SASRec (same encoder size and training budget);
* ``unisrec``: text only, an MoE adapter of the text embeddings, no IDs;
* ``concat``: IDs, text and the second modality concatenated (missing = zeros);
* ``duafmat``: the full model;
* ``no-duaf``, ``no-matmoe``, ``no-cscl``, ``no-vscl``: DuAF-MAT without one part (equal
  modality weights without time; no generator, missing modalities left out of the
  fusion; no CSCL; no VSCL).

SASRec and the text-only model do not read the second modality, so they are trained once
per seed and their row repeats at every missing rate (marked ``shared``). Each variant is
compared with SASRec at each missing rate over seeds (paired t-test, Cohen's d, 95% CI,
Holm over the variants of a rate) and over the test users of each seed (paired t-test
and bootstrap CI of NDCG@10); each ablation is also compared with the full DuAF-MAT over
seeds (Holm over the ablations of a rate). ``ablation_rates`` runs the ablations at a
subset of the rates only. Training time per epoch is logged per run.

Files: ``mm_runs.csv`` (every run), ``mm_table.csv`` (mean and 95% CI per rate and
variant), ``mm_significance.csv`` (over seeds), ``mm_significance_users.csv`` (over
users, per seed), ``mm_ndcg.png`` and ``mm_summary.md`` (the table as markdown). Each
run is kept in ``run-<variant>-<rate>-<seed>/`` (metrics and per-user values) and a
rerun skips finished runs with the same settings and data; a run killed while training
resumes from its last finished epoch (``train_state.pt`` in its folder). The job holds
its folder (``recommenders.io.job_folder``): a rerun of a killed job removes the
temporaries it left and writes the files the uninterrupted job would have written.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from moopt.stats import compare_table, mean_ci, paired_over_seeds, paired_over_users
from recommenders.data import make_split
from recommenders.features import build_features
from recommenders.io import atomic_path, dataset_digest, job_folder, write_csv, write_json
from recommenders.metrics import hit_matrix, hit_rate, mrr, ndcg
from recommenders.models import get_model

from .rerank_eval import markdown_table

VARIANTS: dict[str, tuple[str, dict]] = {
    "sasrec": ("sasrec", {}),
    "unisrec": ("unisrec-text", {}),
    "concat": ("mm-concat", {}),
    "duafmat": ("duafmat", {}),
    "no-duaf": ("duafmat", {"fusion": "mean"}),
    "no-matmoe": ("duafmat", {"generator": False}),
    "no-cscl": ("duafmat", {"lambda_cscl": 0.0}),
    "no-vscl": ("duafmat", {"lambda_vscl": 0.0}),
}
SHARED = {"sasrec", "unisrec"}  # blind to the second modality: one run per seed
ABLATIONS = {"no-duaf", "no-matmoe", "no-cscl", "no-vscl"}
METRICS = ("NDCG@5", "NDCG@10", "MRR@5", "MRR@10", "HR@10")
TRAIN_STATE = "train_state.pt"  # a run's training state while it trains


@dataclass(frozen=True)
class MultimodalConfig:
    """Training budget shared by every variant (encoder size, epochs, patience, lr).

    Parameters
    ----------
    epochs : int, default 50
        Maximum training epochs (at least 1).
    patience : int, default 5
        Early stopping: validation rounds without a better NDCG@10 (at least 1).
    hidden : int, default 64
        Hidden size of every encoder (at least 1).
    lr : float, default 1e-3
        Learning rate.
    batch_size : int, default 128
        Sequences per batch (at least 1).
    max_len : int, default 50
        Longest history a model reads, in items (at least 1).
    settings : dict, default {}
        Further constructor settings of every model (a variant's own overrides win).

    Raises
    ------
    ValueError
        If a size or count is below 1.
    """

    epochs: int = 50
    patience: int = 5
    hidden: int = 64
    lr: float = 1e-3
    batch_size: int = 128
    max_len: int = 50
    settings: dict = field(default_factory=dict)  # extra settings for every model

    def __post_init__(self) -> None:
        for name in ("epochs", "patience", "hidden", "batch_size", "max_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")


def per_user_metrics(model, split) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Test users and their NDCG/MRR at 5 and 10 and HR@10 (all items, seen masked).

    Parameters
    ----------
    model : recommenders.models.Ranker
        A fitted model; its history is set to the test stage's.
    split : recommenders.data.Split
        The leave-one-out split it was trained on.

    Returns
    -------
    users : numpy.ndarray
        The test users, sorted.
    values : dict of str to numpy.ndarray
        ``NDCG@5``, ``NDCG@10``, ``MRR@5``, ``MRR@10`` and ``HR@10`` per user.
    """
    targets = split.targets("test")
    model.set_history(split.history("test"))
    users = np.unique(targets.users)
    lists, _ = model.topk(users, 10)
    hit, n_rel = hit_matrix(lists, users, targets.users, targets.items, split.n_items)
    values = {"NDCG@5": ndcg(hit, n_rel, 5), "NDCG@10": ndcg(hit, n_rel, 10),
              "MRR@5": mrr(hit, 5), "MRR@10": mrr(hit, 10), "HR@10": hit_rate(hit, 10)}  # fmt: skip
    return users, values


def _run(dataset, split, variant, rate, seed, cfg, out: Path, device, verbose):
    folder = out / f"run-{variant}-{rate:g}-{seed}"
    key = {"config": json.loads(json.dumps(asdict(cfg))), "variant": variant, "rate": rate,
           "seed": seed, "data": dataset_digest(dataset)}  # fmt: skip
    if (folder / "run.json").is_file() and (folder / "per_user.npz").is_file():
        saved = json.loads((folder / "run.json").read_text())
        if saved.get("key") == key:
            # A run killed after its run.json but before deleting its training state.
            (folder / TRAIN_STATE).unlink(missing_ok=True)
            arrays = dict(np.load(folder / "per_user.npz"))
            return saved["row"], arrays.pop("users"), arrays
    model_name, overrides = VARIANTS[variant]
    settings = {"epochs": cfg.epochs, "patience": cfg.patience, "hidden": cfg.hidden,
                "lr": cfg.lr, "batch_size": cfg.batch_size, "max_len": cfg.max_len,
                **cfg.settings, **overrides}  # fmt: skip
    extra = {}
    if model_name != "sasrec":
        extra["features"] = build_features(dataset, missing=rate, seed=seed)
    model = get_model(model_name, device=device, seed=seed, verbose=verbose, **settings, **extra)
    t0 = time.perf_counter()
    # A killed run resumes from the epoch it last finished (the state is deleted once the
    # run's files are written).
    folder.mkdir(parents=True, exist_ok=True)
    model.fit(split.train, split.valid, checkpoint=folder / TRAIN_STATE)
    seconds = time.perf_counter() - t0
    log = model.train_log_
    users, values = per_user_metrics(model, split)
    row = {"variant": variant, "rate": rate, "seed": seed, "model": model_name,
           **{m: float(v.mean()) for m, v in values.items()},
           "epochs": len(log), "best_epoch": model.best_epoch_,
           "seconds": seconds, "seconds_per_epoch": float(np.mean([r["seconds"] for r in log])),
           "device": model.device.type}  # fmt: skip
    with atomic_path(folder / "per_user.npz", suffix=".npz") as tmp:
        np.savez(tmp, users=users, **{m.replace("@", "_"): v for m, v in values.items()})
    write_json(folder / "run.json", {"key": key, "row": row})
    (folder / TRAIN_STATE).unlink(missing_ok=True)
    return row, users, {m.replace("@", "_"): v for m, v in values.items()}


def multimodal_job(dataset, out_dir, variants=tuple(VARIANTS), rates=(0.0, 0.3, 0.6),
                   seeds=(0, 1, 2), config: MultimodalConfig | None = None,
                   device: str = "auto", verbose: bool = False,
                   ablation_rates=None):  # fmt: skip
    """Train and evaluate every variant at every missing rate and seed; write the files.

    Parameters
    ----------
    dataset : recommenders.data.Dataset
        Interactions with item side information (split leave-one-out).
    out_dir : str or pathlib.Path
        Output folder (held by ``recommenders.io.job_folder``; finished runs are reused).
    variants : sequence of str, default every variant
        Non-empty subset of ``VARIANTS`` (see the module docstring).
    rates : sequence of float, default (0.0, 0.3, 0.6)
        Distinct missing rates of the second modality, each in [0, 0.9].
    seeds : sequence of int, default (0, 1, 2)
        Distinct seeds, at least one.
    config : MultimodalConfig or None, default None
        Training budget; None means ``MultimodalConfig()``.
    device : str, default "auto"
        Torch device (``"cpu"``, ``"cuda"`` or ``"auto"``).
    verbose : bool, default False
        Print training progress.
    ablation_rates : sequence of float or None, default None
        A subset of ``rates`` the ablations (``no-duaf`` ...) run at (None: all); their
        rows at the other rates are absent from the table and the significance files.

    Returns
    -------
    table : pandas.DataFrame
        Mean and 95% CI of every metric per rate and variant, epochs and seconds per epoch.
    significance : pandas.DataFrame
        Comparisons over seeds (empty without SASRec, other variants or two seeds).
    files : list of pathlib.Path
        The files written.

    Raises
    ------
    ValueError
        For unknown variants, bad rates or ablation rates, or repeated seeds.
    """
    cfg = config or MultimodalConfig()
    variants = list(variants)
    unknown = set(variants) - set(VARIANTS)
    if unknown or not variants:
        raise ValueError(f"variants must be among {list(VARIANTS)}, got {variants}")
    rates = [float(r) for r in rates]
    if not rates or any(not 0.0 <= r <= 0.9 for r in rates) or len(set(rates)) != len(rates):
        raise ValueError(f"rates must be distinct values in [0, 0.9], got {rates}")
    ablation_rates = rates if ablation_rates is None else [float(r) for r in ablation_rates]
    if not set(ablation_rates) <= set(rates):
        raise ValueError(f"ablation_rates must be a subset of rates {rates}, "
                         f"got {ablation_rates}")  # fmt: skip
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds}")
    with job_folder(out_dir) as out:
        return _job(dataset, out, variants, rates, seeds, cfg, device, verbose, ablation_rates)


def _job(dataset, out: Path, variants, rates, seeds, cfg, device, verbose, ablation_rates):
    split = make_split(dataset.interactions, "leave-one-out")
    rows, per_user = [], {}
    for seed in seeds:
        for variant in variants:
            for rate in rates:
                if variant in ABLATIONS and rate not in ablation_rates:
                    continue
                if variant in SHARED and rate != rates[0]:
                    row, users, values = per_user[variant, rates[0], seed]
                    row = {**row, "rate": rate, "shared": True}
                else:
                    row, users, values = _run(dataset, split, variant, rate, seed, cfg, out,
                                              device, verbose)  # fmt: skip
                    row = {**row, "shared": variant in SHARED}
                per_user[variant, rate, seed] = (row, users, values)
                rows.append(row)
    runs = pd.DataFrame(rows)
    table = _table(runs, variants, rates)
    written = [write_csv(out / "mm_runs.csv", runs), write_csv(out / "mm_table.csv", table)]
    sig = pd.DataFrame()
    if "sasrec" in variants and len(variants) > 1:
        if len(seeds) > 1:
            sig = _over_seeds(runs, variants, rates)
            written.append(write_csv(out / "mm_significance.csv", sig))
        written.append(write_csv(out / "mm_significance_users.csv",
                                 _over_users(per_user, variants, rates, seeds)))  # fmt: skip
    written.append(_figure(table, variants, rates, out / "mm_ndcg.png"))
    with atomic_path(out / "mm_summary.md", suffix=".md") as tmp:
        tmp.write_text(markdown_table(summary_table(table, sig)))
    written.append(out / "mm_summary.md")
    return table, sig, written


def summary_table(table: pd.DataFrame, sig: pd.DataFrame) -> pd.DataFrame:
    """The results table, formatted.

    Per rate and variant the metrics (mean, with the 95% CI of NDCG@10), training epochs
    and seconds per epoch, NDCG@10 against SASRec and, when the table has ablations,
    against the full DuAF-MAT.

    Parameters
    ----------
    table : pandas.DataFrame
        The job's per-rate table (``multimodal_job``'s first result).
    sig : pandas.DataFrame
        Its significance over seeds; may be empty (the comparison cells stay blank).

    Returns
    -------
    pandas.DataFrame
        One row of formatted strings per rate and variant.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from problems.multimodal_eval import summary_table
    >>> table = pd.DataFrame([{"rate": 0.3, "variant": "duafmat", "seeds": 1,
    ...     "NDCG@5": 0.05, "NDCG@10": 0.07, "NDCG@10_ci_low": np.nan,
    ...     "NDCG@10_ci_high": np.nan, "MRR@5": 0.04, "MRR@10": 0.05, "epochs": 12.0,
    ...     "seconds_per_epoch": 3.5}])
    >>> summary_table(table, pd.DataFrame()).iloc[0].to_dict()  # doctest: +ELLIPSIS
    {'missing': '0.3', 'variant': 'duafmat', 'seeds': 1, 'NDCG@5': '0.0500', ...}
    """
    rows = []
    for _, r in table.iterrows():
        ci = ("" if np.isnan(r["NDCG@10_ci_low"])
              else f" [{r['NDCG@10_ci_low']:.4f}, {r['NDCG@10_ci_high']:.4f}]")  # fmt: skip
        row = {"missing": f"{r['rate']:g}", "variant": r["variant"], "seeds": int(r["seeds"]),
               "NDCG@5": f"{r['NDCG@5']:.4f}", "NDCG@10": f"{r['NDCG@10']:.4f}{ci}",
               "MRR@5": f"{r['MRR@5']:.4f}", "MRR@10": f"{r['MRR@10']:.4f}",
               "epochs": f"{r['epochs']:.1f}", "s/epoch": f"{r['seconds_per_epoch']:.1f}"}
        for ref, label in (("sasrec", "SASRec"), ("duafmat", "DuAF-MAT")):
            cell, p = "", ""
            if len(sig):
                match = sig[(sig["rate"] == r["rate"]) & (sig["variant"] == r["variant"])
                            & (sig["metric"] == "NDCG@10") & (sig["versus"] == ref)]  # fmt: skip
                if len(match):
                    m = match.iloc[0]
                    cell = f"{m['diff']:+.4f} [{m['ci_low']:+.4f}, {m['ci_high']:+.4f}]"
                    p = f"{m['p_adj']:.3g}"
            if ref == "sasrec" or any(v in ABLATIONS for v in table["variant"]):
                row[f"NDCG@10 - {label} [95% CI]"] = cell
                row[f"p (Holm) vs {label}"] = p
        rows.append(row)
    return pd.DataFrame(rows)


def _table(runs: pd.DataFrame, variants, rates) -> pd.DataFrame:
    rows = []
    for rate in rates:
        for variant in variants:
            part = runs[(runs["rate"] == rate) & (runs["variant"] == variant)]
            if not len(part):  # an ablation left out at this rate
                continue
            row = {"rate": rate, "variant": variant, "seeds": len(part)}
            for m in METRICS:
                x = part[m].to_numpy()
                mean, lo, hi = mean_ci(x) if x.size > 1 else (float(x.mean()), np.nan, np.nan)
                row.update({m: mean, f"{m}_ci_low": lo, f"{m}_ci_high": hi})
            row["seconds_per_epoch"] = float(part["seconds_per_epoch"].mean())
            row["epochs"] = float(part["epochs"].mean())
            rows.append(row)
    return pd.DataFrame(rows)


def _over_seeds(runs: pd.DataFrame, variants, rates) -> pd.DataFrame:
    """Every variant against SASRec and, where DuAF-MAT ran, each ablation against the
    full model; paired over seeds by seed value (a comparison uses the seeds both runs
    have, and is left out with fewer than two), Holm over the comparisons of one rate,
    metric and reference."""
    references = [("sasrec", [v for v in variants if v != "sasrec"])]
    if "duafmat" in variants:
        references.append(("duafmat", [v for v in variants if v in ABLATIONS]))
    frames = []
    for rate in rates:
        for metric in ("NDCG@10", "MRR@10"):
            for ref, others in references:
                base = runs[(runs["rate"] == rate) & (runs["variant"] == ref)]
                if not len(base):
                    continue
                base = base.set_index("seed")[metric]
                results = {}
                for variant in others:
                    part = runs[(runs["rate"] == rate) & (runs["variant"] == variant)]
                    part = part.set_index("seed")[metric]
                    # Paired by seed value: seed s of the variant against seed s of the
                    # reference, over the seeds both have run.
                    common = part.index.intersection(base.index).sort_values()
                    if len(common) < 2:
                        continue
                    results[variant] = paired_over_seeds(part.loc[common].to_numpy(),
                                                         base.loc[common].to_numpy())  # fmt: skip
                if results:
                    table = compare_table(results, correction="holm").reset_index()
                    table = table.rename(columns={"comparison": "variant"})
                    frames.append(table.assign(rate=rate, metric=metric, versus=ref))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _over_users(per_user, variants, rates, seeds) -> pd.DataFrame:
    rows = []
    for rate in rates:
        for seed in seeds:
            _, base_users, base = per_user["sasrec", rate, seed]
            for variant in variants:
                if variant == "sasrec" or (variant, rate, seed) not in per_user:
                    continue
                _, users, values = per_user[variant, rate, seed]
                if not np.array_equal(users, base_users):
                    raise RuntimeError("test users differ between runs of one split")
                r = paired_over_users(values["NDCG_10"], base["NDCG_10"], n_boot=2000, seed=seed)
                rows.append({"rate": rate, "seed": seed, "variant": variant, "versus": "sasrec",
                             "metric": "NDCG@10", **r.as_dict()})  # fmt: skip
    return pd.DataFrame(rows)


def _figure(table: pd.DataFrame, variants, rates, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(variants), 3.6))
    width = 0.8 / len(rates)
    x = np.arange(len(variants))
    for j, rate in enumerate(rates):
        part = table[table["rate"] == rate].set_index("variant").reindex(variants)
        mean = part["NDCG@10"].to_numpy()
        err = np.vstack([mean - part["NDCG@10_ci_low"].to_numpy(),
                         part["NDCG@10_ci_high"].to_numpy() - mean])  # fmt: skip
        ax.bar(x + (j - (len(rates) - 1) / 2) * width, mean, width,
               yerr=None if np.isnan(err).all() else err, capsize=2,
               label=f"missing {rate:.0%}")  # fmt: skip
    ax.set_xticks(x, variants, rotation=30, ha="right")
    ax.set_ylabel("test NDCG@10 (95% CI over seeds)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path

"""The Dynamic Weighted Loss experiment behind ``moopt dwl``.

A next-item model (SASRec by default) is trained with the sampled softmax with log-Q
correction (``recommenders.sampled_softmax``) and every training example weighted by
its target item's domain weight (``recommenders.domains``), in three variants:

* ``generic``: every weight 1 (the plain sampled softmax);
* ``fixed``: the listed sparse domains 2, the others 1 (PinnerFormerLite's h_d);
* ``dynamic``: Algorithm 1's weights from the training data's sparsity, recomputed every
  ``every`` epochs from the model's own top-k lists and blended by an EMA with ``mu``
  (Algorithm 2).

Evaluation: leave-one-out, every item ranked with seen items masked, on the test stage;
per domain Recall@K and NDCG@K over the test targets of that domain (a multi-genre
target counts in each of its genres), overall Recall/NDCG@K, ILD@K, catalogue coverage
and user interest entropy. Several seeds per variant; Dynamic is compared with Generic
and with Fixed per domain by a paired t-test over seeds (Bonferroni over the domains,
Cohen's d, 95% CI), and, within each seed, per user (paired over the domain's test users,
bootstrap CI), where the power is higher.

Files: ``dwl_runs.csv`` (every variant, seed and domain), ``dwl_summary.csv`` (overall
metrics, training seconds and the weights' overhead per run), ``dwl_table.csv`` (mean and
95% CI per variant and domain), ``dwl_significance.csv`` (over seeds),
``dwl_significance_users.csv`` (over users, per seed), ``dwl_domains.png``. Each run is
kept in ``run-<variant>-<seed>/`` and a rerun skips finished runs with the same settings
and data; a generic or fixed run killed while training resumes from its last finished
epoch (``train_state.pt`` in its folder). The job holds its folder
(``recommenders.io.job_folder``): a rerun of a killed job removes the temporaries it
left and writes the files the uninterrupted job would have written.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from moopt import stats
from recommenders import domains as D
from recommenders.data import make_split
from recommenders.io import atomic_path, dataset_digest, job_folder, write_csv, write_json
from recommenders.metrics import (
    catalog_coverage,
    hit_matrix,
    ild,
    interest_entropy,
    ndcg,
    per_domain_accuracy,  # fmt: skip
    recall,
)
from recommenders.models import get_model

SPARSE = ("Film-Noir", "Documentary", "Western", "Fantasy")
DENSE = ("Drama", "Comedy")
VARIANTS = ("generic", "fixed", "dynamic")
TRAIN_STATE = "train_state.pt"  # a run's training state while it trains


@dataclass(frozen=True)
class DWLConfig:
    """Settings of one DWL training run (model, loss, weights) and its evaluation.

    Parameters
    ----------
    model : str, default "sasrec"
        Next-item model trained with ``loss="sampled_weighted"`` (``"sasrec"`` or
        ``"gru4rec"``).
    epochs : int, default 30
        Maximum training epochs (at least 1).
    patience : int, default 5
        Early stopping: validation rounds without a better NDCG@10 (at least 1).
    n_negatives : int, default 256
        Sampled negatives per batch besides the in-batch ones.
    negatives : str, default "uniform"
        Sampler of those negatives: ``"uniform"`` or ``"popularity"``.
    a, b, c : float, default 1.0
        Coefficients of the sparsity score s_d = a log(1/f_d) + b log(|U| / |U_d|)
        + c H_d (Algorithm 1).
    w_min, w_max : float, default 0.2 and 5.0
        Bounds the domain weights are clipped to, 0 < w_min < w_max (``mapping="mean"``
        also needs w_min <= 1 <= w_max).
    mapping : str, default "mean"
        Scores to weights: ``"mean"`` (unit share-weighted mean) or ``"paper"`` (the
        literal min-max form); see ``recommenders.domains.weights_from_sparsity``.
    rule : str, default "max"
        An item's weight from its genres' weights: ``"max"`` or ``"mean"``.
    every : int, default 2
        The dynamic weights are recomputed every ``every`` epochs.
    mu : float, default 0.9
        EMA factor in (0, 1): weights = mu * old + (1 - mu) * recomputed.
    fixed_value : float, default 2.0
        Weight of the sparse domains in the ``fixed`` variant (the others get 1).
    sparse : tuple of str, default ("Film-Noir", "Documentary", "Western", "Fantasy")
        Domains reported as the sparse group (and up-weighted by ``fixed``).
    dense : tuple of str, default ("Drama", "Comedy")
        Domains reported as the dense group; none may also be sparse.
    exclude : tuple of str, default ("unknown",)
        Genres dropped from the domains.
    k : int, default 10
        Cut-off of Recall@K, NDCG@K and the other list metrics (at least 1).
    model_settings : dict, default {}
        Further keyword arguments of the model's constructor.

    Raises
    ------
    ValueError
        If ``k``, ``epochs`` or ``patience`` is below 1, or a domain is both sparse and
        dense.
    """

    model: str = "sasrec"
    epochs: int = 30
    patience: int = 5
    n_negatives: int = 256
    negatives: str = "uniform"
    a: float = 1.0
    b: float = 1.0
    c: float = 1.0
    w_min: float = 0.2
    w_max: float = 5.0
    mapping: str = "mean"
    rule: str = "max"
    every: int = 2
    mu: float = 0.9
    fixed_value: float = 2.0
    sparse: tuple[str, ...] = SPARSE
    dense: tuple[str, ...] = DENSE
    exclude: tuple[str, ...] = ("unknown",)
    k: int = 10
    model_settings: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.k < 1 or self.epochs < 1 or self.patience < 1:
            raise ValueError("k, epochs and patience must be positive")
        overlap = set(self.sparse) & set(self.dense)
        if overlap:
            raise ValueError(f"domains {sorted(overlap)} are listed as both sparse and dense")


def domains_of(dataset, cfg: DWLConfig) -> tuple[np.ndarray, list[str]]:
    """The (n_items, n_domains) genre matrix and names, without ``cfg.exclude``.

    Parameters
    ----------
    dataset : recommenders.data.Dataset
        Supplies ``item_genres`` and ``genre_names``.
    cfg : DWLConfig
        Supplies ``exclude``, ``sparse`` and ``dense``.

    Returns
    -------
    genres : numpy.ndarray
        (n_items, n_domains) bool membership of every item in every kept domain.
    names : list of str
        The kept domains' names, in the dataset's order.

    Raises
    ------
    ValueError
        If a sparse or dense domain is not among the kept ones.
    """
    names = list(dataset.genre_names)
    keep = np.array([n not in cfg.exclude for n in names])
    genres = np.asarray(dataset.item_genres, bool)[:, keep]
    names = [n for n, k in zip(names, keep, strict=True) if k]
    unknown = [d for d in (*cfg.sparse, *cfg.dense) if d not in names]
    if unknown:
        raise ValueError(f"unknown domain(s) {unknown}; this dataset has {names}")
    return genres, names


def train_variant(dataset, split, variant: str, seed: int, cfg: DWLConfig,
                  device: str = "auto", verbose: bool = False,
                  checkpoint: Path | None = None):  # fmt: skip
    """Train one variant, with early stopping on validation NDCG@10.

    Parameters
    ----------
    dataset : recommenders.data.Dataset
        Supplies the item genres (the domains).
    split : recommenders.data.Split
        Train and validation interactions (the dynamic weights come from ``split.train``).
    variant : str
        ``"generic"`` (all weights 1), ``"fixed"`` (sparse domains ``cfg.fixed_value``)
        or ``"dynamic"`` (Algorithms 1 and 2).
    seed : int
        Seed of the model.
    cfg : DWLConfig
        Model, loss and weight settings.
    device : str, default "auto"
        Torch device (``"cpu"``, ``"cuda"`` or ``"auto"``).
    verbose : bool, default False
        Print the model's per-epoch progress.
    checkpoint : pathlib.Path or None, default None
        With a path, the generic and fixed variants save their training state there after
        every epoch and resume from it (``recommenders.models.Ranker.fit``); the dynamic
        variant's weights are state of their own, so it always trains from the start.

    Returns
    -------
    model : recommenders.models.Ranker
        The trained model.
    info : dict
        ``variant``, ``seed``, ``fit_seconds``, ``weight_seconds`` (computing the
        weights), ``overhead_%`` (their ratio in percent), ``epochs_run``,
        ``best_epoch`` and ``domain_weights`` (final weight per domain name).

    Raises
    ------
    ValueError
        If ``variant`` is unknown or a configured domain is not in the dataset.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    genres, names = domains_of(dataset, cfg)
    model = get_model(cfg.model, seed=seed, device=device, verbose=verbose, epochs=cfg.epochs,
                      patience=cfg.patience, loss="sampled_weighted",
                      n_negatives=cfg.n_negatives, negatives=cfg.negatives,
                      **cfg.model_settings)  # fmt: skip
    model.n_items = split.n_items
    t0 = time.perf_counter()
    dynamic = None
    if variant == "generic":
        weights = D.generic_weights(len(names))
    elif variant == "fixed":
        weights = D.fixed_weights(names, cfg.sparse, cfg.fixed_value)
    else:
        st = D.domain_stats(split.train, genres, names)
        dynamic = D.DynamicWeights(st, genres, cfg.a, cfg.b, cfg.c, cfg.w_min, cfg.w_max,
                                   cfg.mapping, cfg.every, cfg.mu, cfg.k)  # fmt: skip
        weights = dynamic.weights
        users = np.flatnonzero(split.train.user_counts() > 0)
        model.epoch_hooks.append(dynamic.hook(users, cfg.rule))
    model.set_item_loss_weights(D.item_weights(weights, genres, cfg.rule))
    weight_seconds = time.perf_counter() - t0
    model.fit(split.train, split.valid, checkpoint=None if dynamic is not None else checkpoint)
    if dynamic is not None:
        weight_seconds += dynamic.seconds_
        weights = dynamic.weights
    info = {"variant": variant, "seed": seed, "fit_seconds": model.fit_seconds_,
            "weight_seconds": weight_seconds, "epochs_run": len(model.train_log_),
            "best_epoch": model.best_epoch_,
            "domain_weights": dict(zip(names, np.round(weights, 4).tolist(), strict=True))}
    info["overhead_%"] = 100 * weight_seconds / max(model.fit_seconds_, 1e-12)
    return model, info


def evaluate_domains(model, split, dataset, cfg: DWLConfig, stage: str = "test"):
    """Per-domain and overall metrics of a trained model on one stage.

    Parameters
    ----------
    model : recommenders.models.Ranker
        A fitted model; its history is set to the stage's (seen items are masked).
    split : recommenders.data.Split
        The leave-one-out split the model was trained on.
    dataset : recommenders.data.Dataset
        Supplies the item genres.
    cfg : DWLConfig
        Supplies ``k`` and the domains.
    stage : str, default "test"
        ``"valid"`` or ``"test"``.

    Returns
    -------
    table : pandas.DataFrame
        One row per domain plus ``[sparse]``, ``[dense]`` and ``[all]``: ``domain``,
        ``n_targets``, ``Recall@K`` and ``NDCG@K`` (a multi-genre target counts in each
        of its genres).
    overall : dict
        ``Recall@K``, ``NDCG@K``, ``ILD@K``, ``Coverage@K`` and ``InterestEntropy``.
    recall : numpy.ndarray
        Recall@K of every target (for per-user pairing).
    items : numpy.ndarray
        The target items, aligned with ``recall``.

    Raises
    ------
    ValueError
        If no target of ``stage`` lies in the sparse (or dense) domains.
    """
    genres, names = domains_of(dataset, cfg)
    targets = split.targets(stage)
    model.set_history(split.history(stage))
    users = targets.users
    lists, _ = model.topk(users, cfg.k, exclude_seen=True)
    hit, n_rel = hit_matrix(lists, users, targets.users, targets.items, split.n_items)
    k = cfg.k
    rows = per_domain_accuracy(hit, n_rel, targets.items, genres, names, k)
    rec, nd = recall(hit, n_rel, k), ndcg(hit, n_rel, k)
    member = genres[targets.items]
    for group, members in (("sparse", cfg.sparse), ("dense", cfg.dense)):
        idx = [names.index(d) for d in members]
        in_group = member[:, idx].any(axis=1)
        if not in_group.any():
            raise ValueError(f"no {stage} target lies in the {group} domains {members}")
        rows.append({"domain": f"[{group}]", "n_targets": int(in_group.sum()),
                     f"Recall@{k}": float(rec[in_group].mean()),
                     f"NDCG@{k}": float(nd[in_group].mean())})  # fmt: skip
    rows.append({"domain": "[all]", "n_targets": len(rec), f"Recall@{k}": float(rec.mean()),
                 f"NDCG@{k}": float(nd.mean())})  # fmt: skip
    overall = {f"Recall@{k}": float(rec.mean()), f"NDCG@{k}": float(nd.mean()),
               f"ILD@{k}": float(ild(lists, dataset.item_genres).mean()),
               f"Coverage@{k}": catalog_coverage(lists, split.n_items),
               "InterestEntropy": float(interest_entropy(lists, genres).mean())}  # fmt: skip
    return pd.DataFrame(rows), overall, rec, targets.items


def _run(dataset, split, variant, seed, cfg, out: Path, device, verbose):
    folder = out / f"run-{variant}-{seed}"
    data = dataset_digest(dataset)
    if (folder / "domains.csv").is_file() and (folder / "run.json").is_file():
        saved = json.loads((folder / "run.json").read_text())
        if saved.get("config") == _jsonable(cfg) and saved.get("data") == data:
            # A run killed after its run.json but before deleting its training state.
            (folder / TRAIN_STATE).unlink(missing_ok=True)
            arrays = np.load(folder / "per_user.npz")
            return (pd.read_csv(folder / "domains.csv"), saved["overall"], saved["info"],
                    arrays["recall"], arrays["items"])  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    model, info = train_variant(dataset, split, variant, seed, cfg, device, verbose,
                                checkpoint=folder / TRAIN_STATE)  # fmt: skip
    table, overall, rec, items = evaluate_domains(model, split, dataset, cfg)
    write_csv(folder / "domains.csv", table)
    with atomic_path(folder / "per_user.npz", suffix=".npz") as tmp:
        np.savez(tmp, recall=rec, items=items)
    write_json(folder / "run.json", {"config": _jsonable(cfg), "data": data,
                                     "overall": overall, "info": info})  # fmt: skip
    (folder / TRAIN_STATE).unlink(missing_ok=True)
    return table, overall, info, rec, items


def _jsonable(cfg: DWLConfig) -> dict:
    return json.loads(json.dumps(asdict(cfg)))


def dwl_job(dataset, out_dir, variants=VARIANTS, seeds=(0, 1, 2, 3, 4),
            config: DWLConfig | None = None, device: str = "auto",
            verbose: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:  # fmt: skip
    """Train and evaluate every variant on every seed, writing the module's files.

    Parameters
    ----------
    dataset : recommenders.data.Dataset
        Interactions with item genres; split leave-one-out.
    out_dir : str or pathlib.Path
        Output folder (held by ``recommenders.io.job_folder``; finished runs are reused).
    variants : sequence of str, default ("generic", "fixed", "dynamic")
        Non-empty subset of the three variants.
    seeds : sequence of int, default (0, 1, 2, 3, 4)
        Distinct training seeds, at least one.
    config : DWLConfig or None, default None
        Settings of every run; None means ``DWLConfig()``.
    device : str, default "auto"
        Torch device (``"cpu"``, ``"cuda"`` or ``"auto"``).
    verbose : bool, default False
        Print training progress.

    Returns
    -------
    table : pandas.DataFrame
        Mean (and 95% CI over seeds) Recall@K and NDCG@K per domain and variant.
    significance : pandas.DataFrame
        Dynamic vs each baseline per domain, paired over seeds; empty with one seed or
        without the dynamic variant.
    files : list of pathlib.Path
        The files written.

    Raises
    ------
    ValueError
        If ``variants`` or ``seeds`` are invalid or a configured domain is not in the
        dataset.
    """
    cfg = config or DWLConfig()
    variants = list(variants)
    unknown = set(variants) - set(VARIANTS)
    if unknown or not variants:
        raise ValueError(f"variants must be among {VARIANTS}, got {variants}")
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds}")
    domains_of(dataset, cfg)  # fails early on unknown domains
    with job_folder(out_dir) as out:
        return _job(dataset, out, variants, seeds, cfg, device, verbose)


def _job(dataset, out: Path, variants, seeds, cfg: DWLConfig, device, verbose):
    split = make_split(dataset.interactions, "leave-one-out")
    k = cfg.k
    frames, summary, per_user = [], [], {}
    for seed in seeds:
        for variant in variants:
            table, overall, info, rec, items = _run(dataset, split, variant, seed, cfg, out,
                                                    device, verbose)  # fmt: skip
            frames.append(table.assign(variant=variant, seed=seed))
            summary.append({"variant": variant, "seed": seed, **overall,
                            **{k2: v for k2, v in info.items() if k2 != "domain_weights"},
                            "domain_weights": json.dumps(info["domain_weights"])})  # fmt: skip
            per_user[variant, seed] = (rec, items)
    runs = pd.concat(frames, ignore_index=True)
    summary = pd.DataFrame(summary)
    table = _table(runs, variants, k)
    written = [write_csv(out / "dwl_runs.csv", runs), write_csv(out / "dwl_summary.csv", summary),
               write_csv(out / "dwl_table.csv", table)]  # fmt: skip
    sig = pd.DataFrame()
    if "dynamic" in variants and len(variants) > 1:
        if len(seeds) > 1:
            sig = _over_seeds(runs, variants, k)
            written.append(write_csv(out / "dwl_significance.csv", sig))
        users_sig = _over_users(per_user, dataset, cfg, variants, seeds)
        written.append(write_csv(out / "dwl_significance_users.csv", users_sig))
    written.append(_figure(table, variants, k, out / "dwl_domains.png"))
    return table, sig, written


def _table(runs: pd.DataFrame, variants, k: int) -> pd.DataFrame:
    rows = []
    for domain in dict.fromkeys(runs["domain"]):
        for variant in variants:
            part = runs[(runs["domain"] == domain) & (runs["variant"] == variant)]
            row = {"domain": domain, "variant": variant, "n_seeds": len(part),
                   "n_targets": int(part["n_targets"].iloc[0])}  # fmt: skip
            for m in (f"Recall@{k}", f"NDCG@{k}"):
                values = part[m].to_numpy(dtype=float) if m in part else np.array([])
                values = values[np.isfinite(values)]
                if values.size == 0:
                    continue
                row[m] = float(values.mean())
                if values.size > 1:
                    _, lo, hi = stats.mean_ci(values)
                    row[f"{m} ci_low"], row[f"{m} ci_high"] = lo, hi
            rows.append(row)
    return pd.DataFrame(rows)


def _pairs(variants):
    return [("dynamic", b) for b in ("generic", "fixed") if b in variants]


def _over_seeds(runs: pd.DataFrame, variants, k: int) -> pd.DataFrame:
    """Dynamic vs each baseline per domain, paired over seeds, Bonferroni over domains."""
    out = []
    for a, b in _pairs(variants):
        for metric in (f"Recall@{k}", f"NDCG@{k}"):
            results = {}
            for domain in dict.fromkeys(runs["domain"]):
                part = runs[runs["domain"] == domain]
                wide = part.pivot(index="seed", columns="variant", values=metric)
                if a not in wide or b not in wide or wide[[a, b]].isna().any().any():
                    continue
                results[domain] = stats.paired_over_seeds(wide[a].to_numpy(), wide[b].to_numpy())
            table = stats.compare_table(results, correction="bonferroni").reset_index()
            out.append(table.rename(columns={"comparison": "domain"}).assign(
                a=a, b=b, metric=metric))  # fmt: skip
    return pd.concat(out, ignore_index=True)


def _over_users(per_user, dataset, cfg: DWLConfig, variants, seeds) -> pd.DataFrame:
    """Dynamic vs each baseline per domain and seed, paired over the domain's test users
    (Recall@K of each user's held-out item), Bonferroni over domains within a seed."""
    genres, names = domains_of(dataset, cfg)
    out = []
    for a, b in _pairs(variants):
        for seed in seeds:
            rec_a, items = per_user[a, seed]
            rec_b, items_b = per_user[b, seed]
            if not np.array_equal(items, items_b):
                raise ValueError("the two variants were evaluated on different targets")
            member = genres[items]
            groups = {n: member[:, i] for i, n in enumerate(names)}
            for group, members in (("[sparse]", cfg.sparse), ("[dense]", cfg.dense)):
                groups[group] = member[:, [names.index(d) for d in members]].any(axis=1)
            results = {}
            for domain, rows in groups.items():
                if rows.sum() < 2:
                    continue
                results[domain] = stats.paired_over_users(rec_a[rows], rec_b[rows], seed=seed)
            if results:
                table = stats.compare_table(results, correction="bonferroni").reset_index()
                out.append(table.rename(columns={"comparison": "domain"}).assign(
                    a=a, b=b, seed=seed))  # fmt: skip
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def _figure(table: pd.DataFrame, variants, k: int, path: Path) -> Path:
    from moopt.plots import save_figure, subplots

    m = f"Recall@{k}"
    domains = [d for d in dict.fromkeys(table["domain"]) if not d.startswith("[")]
    domains += [d for d in dict.fromkeys(table["domain"]) if d.startswith("[")]
    fig, axes = subplots(1, 1, size=3.6)
    ax = axes[0][0]
    fig.set_size_inches(max(8.0, 0.55 * len(domains) * len(variants) / 1.5), 4.2)
    width = 0.8 / len(variants)
    x = np.arange(len(domains))
    for i, variant in enumerate(variants):
        part = table[table["variant"] == variant].set_index("domain").reindex(domains)
        mean = part[m].to_numpy(dtype=float)
        if f"{m} ci_low" in part:
            err = np.vstack([mean - part[f"{m} ci_low"].to_numpy(dtype=float),
                             part[f"{m} ci_high"].to_numpy(dtype=float) - mean])  # fmt: skip
        else:
            err = None
        ax.bar(x + (i - (len(variants) - 1) / 2) * width, mean, width, yerr=err, capsize=2,
               label=variant)  # fmt: skip
    ax.set_xticks(x, domains, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel(f"test {m} (mean, 95% CI over seeds)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)

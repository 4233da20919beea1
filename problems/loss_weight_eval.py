"""The BOOML experiment behind ``moopt booml``.

Bayesian optimisation of per-group loss weights, with and without the meta-learned warm
start, then the searched weights against fixed ones and against MGDA on the test stage.

Steps, all on one chronological 6:2:2 split:

1. **search** (twice: ``warm`` with the meta-learned warm start, ``scratch`` without):
   ``moopt.algorithms.BayesOpt`` with BOOML's rescaled-sum scalarisation over
   ``LossWeightProblem``, ``budget`` evaluations, through ``pymoo.optimize.minimize``.
   Every evaluation records the epochs it trained, its wall-clock seconds and its gradient
   passes, so the two searches give the cost per evaluation with and without warm start
   (epochs alone mostly restate the caps ``meta_epochs`` and ``epochs``). The warm start's
   projection of conflicting gradients (``LossWeightConfig.projection``, BOOML eq. 17 by
   default) is in the epochs table and the settings. Both searches save their state after
   every evaluation (the BO checkpoint and the problem's warm-start state) and resume from it;
   a run killed between the two saves redoes that evaluation. The problem's state records
   its inputs (the ``LossWeightConfig`` and digests of the dataset and of the split), and
   a rerun on other inputs into the same folder stops with a ``ValueError`` naming what
   differs instead of resuming the other search (so does a state saved before the inputs
   were recorded): use another output folder or delete the state files.
2. **selection**: in each search, the weights with the best validation ResSum@K.
3. **final models**, each trained from scratch with the same seed and early stopping on
   validation ResSum, scored on the test stage (training and validation items masked):
   fixed weights lambda = beta = 1 for every group, the two searched weight sets, and MGDA
   setting the weights of (f_acc, f_div, f_fair) every step.

Files: ``booml_table.csv`` (final models: NDCG, ILD, ARP and ResSum at K on test),
``booml_epochs.csv`` (epochs, seconds and gradient passes per evaluation of each search),
``booml_history.csv`` (every evaluation), ``booml.json`` (all of it, with the settings).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from pymoo.core.callback import Callback
from pymoo.optimize import minimize
from tqdm.auto import tqdm

from moopt.algorithms import BayesOpt
from recommenders.io import atomic_path, job_folder, write_csv, write_json

from .loss_weight import LossWeightConfig, LossWeightProblem

SEARCHES = (("warm", True), ("scratch", False))


class _Progress(Callback):
    """A progress bar over the budget; saves the problem's warm-start state and history
    after every generation when given a path."""

    def __init__(self, problem: LossWeightProblem, budget: int, path: Path | None,
                 desc: str, verbose: bool) -> None:  # fmt: skip
        super().__init__()
        self.problem, self.path = problem, path
        self.bar = tqdm(total=budget, initial=len(problem.history), desc=desc,
                        disable=not verbose, leave=False)  # fmt: skip

    def notify(self, algorithm) -> None:
        if self.path is not None:
            # through a file object, so the temporary's random name stays out of the file
            with atomic_path(self.path) as tmp, open(tmp, "wb") as f:
                torch.save(self.problem.state_dict(), f)
        history = self.problem.history
        self.bar.update(len(history) - self.bar.n)
        if history:
            self.bar.set_postfix(ResSum=f"{max(h['ResSum'] for h in history):.4f}")


def search(
    problem: LossWeightProblem,
    budget: int,
    n_initial: int,
    seed: int,
    state_dir: Path | None = None,
    tag: str = "search",
    verbose: bool = False,
) -> pd.DataFrame:
    """Bayesian optimisation of ``problem`` for ``budget`` evaluations.

    ``moopt.algorithms.BayesOpt`` with BOOML's rescaled-sum scalarisation
    (``"booml_ressum"``), through ``pymoo.optimize.minimize``.

    Parameters
    ----------
    problem : LossWeightProblem
        The problem; its ``history`` collects the evaluations.
    budget : int
        Evaluations in all (a resumed search runs only the missing ones).
    n_initial : int
        Size of the initial design.
    seed : int
        Seed of the search.
    state_dir : pathlib.Path or None, default None
        With a folder, the search saves its state there after every evaluation
        (``bo_<tag>.json``, the BO checkpoint, and ``problem_<tag>.pt``, the problem's
        state with its ``LossWeightProblem.inputs``) and resumes from it.
    tag : str, default "search"
        Names the state files and the progress bar.
    verbose : bool, default False
        Show the progress bar.

    Returns
    -------
    pandas.DataFrame
        The first ``budget`` evaluations (``history_frame``).

    Raises
    ------
    ValueError
        If the saved state was written for other inputs (another dataset, split or
        ``LossWeightConfig``, or before the inputs were recorded): use another output
        folder or delete both files. The BO checkpoint itself refuses another
        ``n_initial`` or seed.
    """
    checkpoint = state_path = None
    if state_dir is not None:
        checkpoint = state_dir / f"bo_{tag}.json"
        state_path = state_dir / f"problem_{tag}.pt"
        if checkpoint.is_file():
            if state_path.is_file():
                state = torch.load(state_path, weights_only=False)
                differ = problem.state_mismatch(state)
                if differ:
                    raise ValueError(
                        f"{state_path} was saved for other inputs than this run's ("
                        + "; ".join(differ)
                        + f"), so the {tag} search cannot resume from it; "
                        f"write into another output folder (--out) or delete {state_path} "
                        f"and {checkpoint} to start the {tag} search again"
                    )
                problem.load_state_dict(state)
            _rewind(checkpoint, len(problem.history), state_path, tag)
    if len(problem.history) < budget:
        algorithm = BayesOpt(n_initial=n_initial, scalarization="booml_ressum",
                             checkpoint=checkpoint)  # fmt: skip
        progress = _Progress(problem, budget, state_path, f"BO search ({tag})", verbose)
        minimize(problem, algorithm, ("n_evals", budget), seed=seed, callback=progress)
        progress.bar.close()
    return history_frame(problem.history[:budget])


def _rewind(checkpoint: Path, done: int, state_path: Path, tag: str) -> None:
    """Cut the BO checkpoint back to the ``done`` evaluations the problem's saved state
    holds. The algorithm saves after each evaluation and the problem's state follows at
    the end of the generation, so a run killed in between has one evaluation more in the
    checkpoint (or, killed within the first, no problem state at all). Proposals derive
    from (seed, iteration), so the rerun proposes that point again and, from the same
    problem state, evaluates it as the uninterrupted run did."""
    state = json.loads(checkpoint.read_text())
    if len(state["X"]) < done:
        raise ValueError(
            f"{checkpoint} holds {len(state['X'])} evaluations but {state_path} {done}; "
            f"they come from different runs. Delete both files to restart the {tag} search"
        )
    if len(state["X"]) > done:
        write_json(checkpoint, {**state, **{k: state[k][:done] for k in ("X", "F", "G")}})


def history_frame(history: list[dict]) -> pd.DataFrame:
    """One row per evaluation: weights per group, validation metrics and costs.

    Parameters
    ----------
    history : list of dict
        ``LossWeightProblem.history`` records (``gradient_passes`` may be missing).

    Returns
    -------
    pandas.DataFrame
        ``evaluation`` (1-based), ``lambda_0..``, ``beta_0..``, ``NDCG``, ``ILD``,
        ``ARP``, ``ResSum``, ``epochs``, ``seconds`` and ``gradient_passes`` (NaN where
        missing).

    Examples
    --------
    >>> from problems.loss_weight_eval import best_x, history_frame
    >>> record = {"NDCG": 0.1, "ILD": 0.5, "ARP": 30.0, "epochs": 3, "seconds": 2.0}
    >>> frame = history_frame([
    ...     {**record, "lambda": [1.0, 10.0], "beta": [0.1, 1.0], "ResSum": 1.2},
    ...     {**record, "lambda": [0.01, 1.0], "beta": [1.0, 1.0], "ResSum": 1.3}])
    >>> list(frame.columns[:5])
    ['evaluation', 'lambda_0', 'lambda_1', 'beta_0', 'beta_1']
    >>> best_x(frame, n_groups=2)  # the second evaluation's log10 weights
    array([-2.,  0.,  0.,  0.])
    """
    rows = []
    for i, r in enumerate(history):
        row = {"evaluation": i + 1}
        row.update({f"lambda_{g}": v for g, v in enumerate(r["lambda"])})
        row.update({f"beta_{g}": v for g, v in enumerate(r["beta"])})
        row.update({k: r[k] for k in ("NDCG", "ILD", "ARP", "ResSum", "epochs", "seconds")})
        row["gradient_passes"] = r.get("gradient_passes", np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def best_x(history: pd.DataFrame, n_groups: int) -> np.ndarray:
    """The log10 weights of the evaluation with the best validation ResSum.

    Parameters
    ----------
    history : pandas.DataFrame
        A ``history_frame``.
    n_groups : int
        Number of user groups W.

    Returns
    -------
    numpy.ndarray
        (2 W,) decision vector: log10 of lambda_0..W-1, then of beta_0..W-1.
    """
    row = history.loc[history["ResSum"].idxmax()]
    w = [row[f"lambda_{g}"] for g in range(n_groups)] + [row[f"beta_{g}"] for g in range(n_groups)]
    return np.log10(np.asarray(w, dtype=np.float64))


def _final_row(problem: LossWeightProblem, label: str, x=None, mgda=None) -> dict:
    theta, rec = problem.fit(x, mgda=mgda)
    test = problem.test_metrics(theta)
    k = problem.config.k
    if mgda is None:
        weights = ("lambda=" + "/".join(f"{v:.3g}" for v in rec["lambda"])
                   + " beta=" + "/".join(f"{v:.3g}" for v in rec["beta"]))  # fmt: skip
    else:
        w = rec["mgda_weights"]
        weights = f"acc/div/fair={w[0]:.3f}/{w[1]:.3f}/{w[2]:.3f} (last epoch)"
    return {"method": label, "weights": weights, f"valid ResSum@{k}": rec["ResSum"],
            **{f"{m}@{k}": test[m] for m in ("NDCG", "ILD", "ARP", "ResSum")},
            "epochs": rec["epochs"], "seconds": rec["seconds"],
            "gradient passes": rec["gradient_passes"]}  # fmt: skip


def booml_job(
    dataset,
    out_dir,
    budget: int = 30,
    n_initial: int | None = None,
    config: LossWeightConfig | None = None,
    mgda: tuple[str, ...] = ("none", "l2"),
    device: str = "cpu",
    verbose: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:
    """Run the experiment of the module docstring and write its files.

    Parameters
    ----------
    dataset : recommenders.data.Dataset
        Interactions with item genres (split chronologically 6:2:2).
    out_dir : str or pathlib.Path
        Output folder (held by ``recommenders.io.job_folder``; the searches resume).
    budget : int, default 30
        Evaluations per search, at least 2.
    n_initial : int or None, default None
        BO initial design; None means ``max(2, min(10, budget // 3))``.
    config : LossWeightConfig or None, default None
        Settings (``warm_start`` is set per search); None means ``LossWeightConfig()``.
    mgda : tuple of str, default ("none", "l2")
        Gradient normalisations of the MGDA final models (one model each).
    device : str, default "cpu"
        Torch device (``"cpu"``, ``"cuda"`` or ``"auto"``).
    verbose : bool, default False
        Show progress bars.

    Returns
    -------
    table : pandas.DataFrame
        Final models: method, weights, validation ResSum@K, test NDCG, ILD, ARP and
        ResSum at K, epochs, seconds and gradient passes.
    epochs : pandas.DataFrame
        Per search: epochs, seconds and gradient passes per evaluation, best ResSum@K.
    files : list of pathlib.Path
        The files written.

    Raises
    ------
    ValueError
        If ``budget < 2`` or a saved search state is for other inputs.
    """
    if budget < 2:
        raise ValueError(f"budget must be at least 2 evaluations, got {budget}")
    cfg = config or LossWeightConfig()
    n_initial = n_initial or max(2, min(10, budget // 3))
    with job_folder(out_dir) as out:
        return _booml(dataset, out, budget, n_initial, cfg, mgda, device, verbose)


def _booml(dataset, out: Path, budget: int, n_initial: int, cfg: LossWeightConfig,
           mgda: tuple[str, ...], device: str, verbose: bool):  # fmt: skip
    histories, epochs_rows, best = {}, [], {}
    for tag, warm in SEARCHES:
        problem = LossWeightProblem(dataset, replace(cfg, warm_start=warm), device=device)
        hist = search(problem, budget, n_initial, cfg.seed, out, tag, verbose)
        histories[tag] = hist.assign(search=tag)
        best[tag] = best_x(hist, cfg.n_groups)
        epochs_rows.append({
            "search": tag, "evaluations": len(hist),
            "projection": cfg.projection if warm else "-",
            "mean epochs": hist["epochs"].mean(), "median epochs": hist["epochs"].median(),
            "max epochs": int(hist["epochs"].max()),
            "mean seconds": hist["seconds"].mean(), "total seconds": hist["seconds"].sum(),
            "mean gradient passes": hist["gradient_passes"].mean(),
            "max gradient passes": int(hist["gradient_passes"].max()),
            "total gradient passes": int(hist["gradient_passes"].sum()),
            f"best valid ResSum@{cfg.k}": hist["ResSum"].max(),
        })  # fmt: skip

    final = LossWeightProblem(dataset, replace(cfg, warm_start=False), device=device)
    rows = [_final_row(final, "fixed (lambda = beta = 1)")]
    rows.append(_final_row(final, "BO with warm start", best["warm"]))
    rows.append(_final_row(final, "BO from scratch", best["scratch"]))
    rows += [_final_row(final, f"MGDA ({n})", mgda=n) for n in mgda]
    table, epochs = pd.DataFrame(rows), pd.DataFrame(epochs_rows)
    history = pd.concat(histories.values(), ignore_index=True)
    written = [
        write_csv(out / "booml_table.csv", table),
        write_csv(out / "booml_epochs.csv", epochs),
        write_csv(out / "booml_history.csv", history),
        write_json(out / "booml.json", {
            "config": asdict(cfg), "budget": budget, "n_initial": n_initial,
            "group_sizes": final.describe()["group_sizes"],
            "table": table.to_dict("records"), "epochs": epochs.to_dict("records"),
        }),
    ]  # fmt: skip
    return table, epochs, written


SEED_METRICS = ("NDCG", "ILD", "ARP", "ResSum")


def booml_seeds_job(
    load,
    out_dir,
    seeds=(0, 1, 2),
    budget: int = 30,
    n_initial: int | None = None,
    config: LossWeightConfig | None = None,
    device: str = "cpu",
    verbose: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:
    """``booml_job`` for each seed, then the comparison across seeds.

    Each seed runs in ``out_dir/seed<k>`` (resumable). Across seeds it writes
    ``booml_runs.csv`` (every seed's final table), ``booml_seeds_table.csv`` (mean and 95%
    t-CI half-width of NDCG, ILD, ARP and ResSum at K per method) and
    ``booml_significance.csv`` (each searched or MGDA weighting against the fixed weights
    on NDCG@K and ResSum@K, paired over seeds, Holm over all those comparisons).

    Parameters
    ----------
    load : callable
        ``load(seed)`` returns the dataset of that seed.
    out_dir : str or pathlib.Path
        Output folder.
    seeds : sequence of int, default (0, 1, 2)
        At least two distinct seeds; each becomes ``config.seed``.
    budget, n_initial, config, device, verbose
        As for ``booml_job`` (``mgda`` keeps its default).

    Returns
    -------
    table : pandas.DataFrame
        Mean and CI half-width per method and metric.
    significance : pandas.DataFrame
        The paired comparisons against the fixed weights.
    files : list of pathlib.Path
        The three files written.

    Raises
    ------
    ValueError
        If there are fewer than two distinct seeds.
    """
    seeds = [int(s) for s in seeds]
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be at least two distinct values, got {seeds}")
    cfg = config or LossWeightConfig()
    with job_folder(out_dir) as out:
        tables = []
        for seed in seeds:
            table, _, _ = booml_job(load(seed), out / f"seed{seed}", budget, n_initial,
                                    replace(cfg, seed=seed), device=device,
                                    verbose=verbose)  # fmt: skip
            tables.append(table.assign(seed=seed))
        return _seeds_tables(out, seeds, tables, cfg.k)


def _seeds_tables(out: Path, seeds, tables, k: int):
    from moopt import stats

    runs = pd.concat(tables, ignore_index=True)
    rows = []
    for method in dict.fromkeys(runs["method"]):
        part = runs[runs["method"] == method]
        row = {"method": method, "n_seeds": len(part)}
        for m in SEED_METRICS:
            values = part[f"{m}@{k}"].to_numpy(dtype=float)
            row[f"{m}@{k}"] = float(values.mean())
            row[f"{m}@{k} ci"] = stats.mean_ci(values)[2] - float(values.mean())
        rows.append(row)
    mean = pd.DataFrame(rows)
    fixed = "fixed (lambda = beta = 1)"
    results = {}
    for metric in (f"NDCG@{k}", f"ResSum@{k}"):
        wide = runs.pivot(index="seed", columns="method", values=metric).loc[seeds]
        for method in wide.columns:
            if method != fixed:
                results[f"{metric}: {method} vs fixed"] = stats.paired_over_seeds(
                    wide[method].to_numpy(), wide[fixed].to_numpy())  # fmt: skip
    sig = stats.compare_table(results, correction="holm").reset_index()
    written = [
        write_csv(out / "booml_runs.csv", runs),
        write_csv(out / "booml_seeds_table.csv", mean),
        write_csv(out / "booml_significance.csv", sig),
    ]
    return mean, sig, written

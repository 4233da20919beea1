"""The system-level study's comparison, figure and job (``moopt fairness``).

``fairness_job`` loads a test and a validation candidates file, runs
``problems.fairness_eval.run_protocol`` for each protocol and writes the fronts, the
matched-level table, the paired comparison of the coupled solve against each baseline
(over users with a bootstrap CI, over seeds with a t interval, Holm-corrected), the cost
of each method's sweep and the figure.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from moopt.stats import holm, paired_over_seeds, paired_over_users

from .fairness_eval import (
    BASELINES,
    LABELS,
    FairnessEvalConfig,
    FairStage,
    _settings_dict,
    run_protocol,
)

ALPHA = 0.05


def _seed_values(per_user: pd.DataFrame, seeds) -> pd.Series:
    """Per-seed mean NDCG@K; a deterministic method's one run stands for every seed."""
    means = per_user.groupby("seed")["ndcg"].mean()
    if len(means) == 1:
        return pd.Series(float(means.iloc[0]), index=list(seeds))
    return means.reindex(list(seeds))


def compare_matched(per_user: pd.DataFrame, seeds, n_boot: int = 2000) -> pd.DataFrame:
    """The coupled solve against every baseline at every matched level, on NDCG@K.

    Parameters
    ----------
    per_user : pandas.DataFrame
        ``run_protocol``'s ``per_user`` rows (protocol, method, goal, seed, level, user,
        ndcg, hr), one or several protocols.
    seeds : sequence of int
        The study's seeds.
    n_boot : int, default 2000
        Bootstrap resamples of the over-users CI.

    Returns
    -------
    pandas.DataFrame
        One row per (protocol, goal, level, baseline) both methods reached: the mean
        NDCG@K of each, their difference (coupled minus baseline) with its bootstrap CI
        over users and its t interval over seeds, the two p-values and their Holm
        adjustments over the table, and the verdict at ``ALPHA``.
    """
    rows = []
    for (proto, goal, level), grp in per_user.groupby(["protocol", "goal", "level"]):
        ours = grp[grp["method"] == "coupled"]
        if ours.empty:
            continue
        a_user = ours.groupby("user")["ndcg"].mean()
        a_seed = _seed_values(ours, seeds)
        for name, other in grp[grp["method"] != "coupled"].groupby("method"):
            b_user = other.groupby("user")["ndcg"].mean().reindex(a_user.index)
            b_seed = _seed_values(other, seeds)
            u = paired_over_users(a_user.to_numpy(), b_user.to_numpy(), n_boot=n_boot, seed=0)
            row = {"protocol": proto, "goal": goal, "level": level, "baseline": name,
                   "ndcg_coupled": u.mean_a, "ndcg_baseline": u.mean_b, "diff": u.diff,
                   "users_ci_low": u.ci_low, "users_ci_high": u.ci_high,
                   "users_p": u.p}  # fmt: skip
            if len(a_seed) >= 2:
                s = paired_over_seeds(a_seed.to_numpy(), b_seed.to_numpy())
                row.update(seeds_ci_low=s.ci_low, seeds_ci_high=s.ci_high, seeds_p=s.p)
            rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["users_p_holm"] = holm(table["users_p"].to_numpy())
    if "seeds_p" in table:
        table["seeds_p_holm"] = holm(table["seeds_p"].fillna(1.0).to_numpy())
    sig = table["users_p_holm"] < ALPHA
    table["verdict"] = np.where(sig & (table["users_ci_low"] > 0), "coupled better",
                                np.where(sig & (table["users_ci_high"] < 0), "baseline better",
                                         "no significant difference"))  # fmt: skip
    return table


def unreached(matched: pd.DataFrame, levels: pd.DataFrame) -> pd.DataFrame:
    """The (protocol, goal, level, method) where a method reached the level on no seed.

    Every method is tried on the exposure goals and coverage; only the coupled solve and
    CPFair on the consumer gap.

    Parameters
    ----------
    matched : pandas.DataFrame
        ``run_protocol``'s ``matched`` rows.
    levels : pandas.DataFrame
        ``run_protocol``'s ``levels`` rows (protocol, goal, level).

    Returns
    -------
    pandas.DataFrame
        One row per (protocol, goal, level, method) not reached.
    """
    rows = []
    methods = sorted(set(matched["method"]) | {"coupled", *BASELINES})
    for r in levels.itertuples():
        for method in methods:
            if r.goal == "consumer" and method not in ("coupled", "cpfair"):
                continue
            hit = matched[(matched["protocol"] == r.protocol) & (matched["goal"] == r.goal)
                          & (matched["method"] == method) & np.isclose(matched["level"], r.level)]
            if hit.empty:
                rows.append({"protocol": r.protocol, "goal": r.goal, "level": r.level,
                             "method": method})  # fmt: skip
    return pd.DataFrame(rows, columns=["protocol", "goal", "level", "method"])


def _curve(front: pd.DataFrame, method: str, goal: str = "exposure") -> pd.DataFrame:
    """A method's sweep averaged over seeds: the coupled solve's feasible levels of
    ``goal``, a baseline's strengths."""
    f = front[front["method"] == method]
    if method == "coupled":
        f = f[f["feasible"].astype(bool) & (f["goal"] == goal)]
    key = "level" if method == "coupled" else "theta"
    cols = ["ndcg", "min_share_ratio", "tail_share_ratio", "consumer_gap", "coverage"]
    return f.groupby(key, dropna=False)[cols].mean().reset_index()


def plot_fronts(front: pd.DataFrame, matched: pd.DataFrame, path) -> Path:
    """NDCG@K against both max-min shares, the consumer gap and coverage, every method.

    One row per protocol. A baseline's curve is its strength sweep (validated knobs)
    averaged over seeds; the coupled solve's is its level sweep of the panel's goal (the
    popularity buckets' on the consumer-gap and coverage panels), and its consumer-gap
    solutions and CPFair's are marked on that panel. The y axis stops at half the base
    ranker's NDCG@K: baselines' strongest settings fall below it.

    Parameters
    ----------
    front, matched : pandas.DataFrame
        ``run_protocol``'s ``front`` and ``matched`` rows (one or several protocols).
    path : str or path
        The PNG to write (atomically).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from moopt.files import atomic_path

    protos = list(dict.fromkeys(front["protocol"]))
    fig, axes = plt.subplots(len(protos), 4, figsize=(19, 4.3 * len(protos) + 0.9),
                             squeeze=False)  # fmt: skip
    methods = [m for m in LABELS if m in set(front["method"])]
    colours = dict(zip(methods, plt.get_cmap("tab10").colors, strict=False))
    xs = (("min_share_ratio", "exposure", "max-min exposure share ratio, popularity buckets"),
          ("tail_share_ratio", "tail", "max-min share ratio, short head vs long tail"),
          ("consumer_gap", "exposure", "consumer gap: NDCG@K, 5% most active minus the rest"),
          ("coverage", "coverage", "catalogue coverage"))  # fmt: skip
    handles = {}
    for i, proto in enumerate(protos):
        fr = front[front["protocol"] == proto]
        top = float(fr["ndcg"].max())
        base = float(fr.loc[fr["method"] == "base", "ndcg"].mean())
        for j, (x, goal, xlabel) in enumerate(xs):
            ax = axes[i, j]
            for m in methods:
                c = _curve(fr, m, goal)
                style = dict(marker="o", ms=3) if m != "base" else dict(marker="*", ms=13, ls="")
                (h,) = ax.plot(c[x], c["ndcg"], color=colours[m], label=LABELS[m],
                               lw=2.4 if m == "coupled" else 1.2, **style)  # fmt: skip
                handles.setdefault(LABELS[m], h)
            if x == "consumer_gap":
                mt = matched[(matched["protocol"] == proto) & (matched["goal"] == "consumer")]
                for m, g in mt.groupby("method"):
                    g = g.groupby("level")[["consumer_gap", "ndcg"]].mean()
                    label = f"{LABELS.get(m, m)}, consumer-gap goal"
                    (h,) = ax.plot(g["consumer_gap"], g["ndcg"], ls="", marker="s", mfc="none",
                                   color=colours.get(m, "k"), ms=8, label=label)  # fmt: skip
                    handles.setdefault(label, h)
            ax.set_ylim(0.5 * base, 1.04 * top)
            ax.xaxis.set_major_locator(MaxNLocator(6))
            ax.set_xlabel(xlabel)
            ax.set_ylabel("NDCG@K (test)")
            ax.set_title(f"{proto} protocol")
            ax.grid(alpha=0.3)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=5, fontsize=9)
    fig.tight_layout(rect=(0, 0.9 / (4.3 * len(protos) + 0.9), 1, 1))
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def _catalogue(cands: dict, valid: dict, dataset: str | None):
    """Genres, each stage's popularity and each stage's per-user training counts."""
    from recommenders.data import make_split
    from recommenders.pipeline import load_data

    name = dataset or str(cands["meta_dataset"])
    data = load_data(name)
    if data.n_items != int(cands["meta_n_items"]):
        raise ValueError(f"the candidates were made on {int(cands['meta_n_items'])} items but "
                         f"{name} has {data.n_items}; pass the right --dataset")  # fmt: skip
    split = make_split(data.interactions, str(cands["meta_split"]))
    out = {}
    for stage, c in (("test", cands), ("valid", valid)):
        hist = split.history(stage)
        out[stage] = (hist.item_counts().astype(np.float64),
                      hist.user_counts()[np.asarray(c["users"])])  # fmt: skip
    return data.item_genres, out, name


def _markdown_summary(comparison: pd.DataFrame, cost: pd.DataFrame, missing: pd.DataFrame,
                     matched: pd.DataFrame) -> str:  # fmt: skip
    """The study's tables as markdown."""
    lines = ["## Coupled solve against each baseline at matched levels (NDCG@K, test)", ""]
    if comparison.empty:
        lines.append("No level was reached by the coupled solve and a baseline.")
    else:
        lines += ["| protocol | goal | level | baseline | coupled | baseline | diff | "
                  "95% CI over users | Holm p | verdict |",
                  "|---|---|---:|---|---:|---:|---:|---|---:|---|"]
        for r in comparison.itertuples():
            lines.append(f"| {r.protocol} | {r.goal} | {r.level:.4g} | {LABELS.get(r.baseline)} "
                         f"| {r.ndcg_coupled:.4f} | {r.ndcg_baseline:.4f} | {r.diff:+.4f} | "
                         f"[{r.users_ci_low:+.4f}, {r.users_ci_high:+.4f}] | "
                         f"{r.users_p_holm:.2g} | {r.verdict} |")  # fmt: skip
    lines += ["", "## Every method at every matched level (mean over seeds, test)", "",
              "| protocol | goal | level | method | NDCG@K | HR@K | share ratio | "
              "tail ratio | consumer gap | coverage |",
              "|---|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    cols = ["ndcg", "hr", "min_share_ratio", "tail_share_ratio", "consumer_gap", "coverage"]
    keys = ["protocol", "goal", "level", "method"]
    for key, g in matched.groupby(keys, sort=True)[cols]:
        m = g.mean()
        lines.append(f"| {key[0]} | {key[1]} | {key[2]:.4g} | {LABELS.get(key[3], key[3])} | "
                     + " | ".join(f"{m[c]:.4f}" for c in cols) + " |")
    lines += ["", "## Seconds per full sweep (mean over seeds)", "",
              "| protocol | method | set-up s | sweep s | max violation |",
              "|---|---|---:|---:|---:|"]
    for (proto, m), g in cost.groupby(["protocol", "method"], sort=False):
        lines.append(f"| {proto} | {LABELS.get(m, m)} | {g['setup_seconds'].mean():.2f} | "
                     f"{g['sweep_seconds'].mean():.2f} | {g['max_violation'].max():.2g} |")
    if len(missing):
        lines += ["", "## Levels a method did not reach", "",
                  "| protocol | goal | level | method |", "|---|---|---:|---|"]
        lines += [f"| {r.protocol} | {r.goal} | {r.level:.4g} | {LABELS.get(r.method, r.method)} |"
                  for r in missing.itertuples()]  # fmt: skip
    viol = matched[matched["method"] == "coupled"]["violation"]
    lines += ["", f"Largest relative violation of the coupled solve at the matched levels: "
              f"{viol.max() if len(viol) else float('nan'):.2g}.", ""]
    return "\n".join(lines)


def fairness_job(candidates_path, valid_candidates_path, out, cfg: FairnessEvalConfig | None = None,
                 protocols=("full", "sampled"), dataset: str | None = None,
                 progress: bool = False) -> list[Path]:  # fmt: skip
    """Run the system-level study and write its files into ``out``.

    Parameters
    ----------
    candidates_path, valid_candidates_path : str or path
        The test and validation candidates files of one model (``moopt train`` writes
        both, calibrated).
    out : str or path
        The output folder (created).
    cfg : FairnessEvalConfig, optional
        The study's settings.
    protocols : sequence of {"full", "sampled"}
        The candidate protocols to run.
    dataset : str, optional
        The dataset the files were made on (default the name they record).
    progress : bool, default False
        Print each step.

    Returns
    -------
    list of pathlib.Path
        The files written: ``fairness_front.csv``, ``fairness_matched.csv``,
        ``fairness_comparison.csv``, ``fairness_cost.csv``, ``fairness_tuning.csv``,
        ``fairness_summary.md``, ``fairness.png`` and ``run.json``.

    Raises
    ------
    FileNotFoundError
        A candidates file is missing.
    ValueError
        An unknown protocol, or files that do not fit the dataset.
    """
    from moopt.files import versions
    from moopt.persist import jsonable
    from recommenders.evaluate import load_candidates
    from recommenders.io import atomic_path, write_csv, write_json

    cfg = cfg or FairnessEvalConfig()
    for p in protocols:
        if p not in ("full", "sampled"):
            raise ValueError(f"protocols must be 'full' or 'sampled', got {p!r}")
    for p in (candidates_path, valid_candidates_path):
        if not Path(p).exists():
            raise FileNotFoundError(f"{p} does not exist; write it with moopt train "
                                    "sasrec --out runs/sasrec")  # fmt: skip
    t0 = time.perf_counter()
    cands, valid = load_candidates(candidates_path), load_candidates(valid_candidates_path)
    genres, stages, name = _catalogue(cands, valid, dataset)
    note = (lambda msg: print(f"[{time.perf_counter() - t0:7.1f} s] {msg}", flush=True)) \
        if progress else None  # fmt: skip
    parts = []
    for proto in protocols:
        v = FairStage(valid, proto, genres, *stages["valid"], cfg)
        t = FairStage(cands, proto, genres, *stages["test"], cfg)
        parts.append(run_protocol(v, t, cfg, note))
    res = {key: pd.concat([p[key] for p in parts], ignore_index=True) for key in parts[0]}
    comparison = compare_matched(res["per_user"], cfg.seeds, cfg.n_boot)
    missing = unreached(res["matched"], res["levels"])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_csv(out / f"fairness_{key}.csv", res[key])
               for key in ("front", "matched", "cost", "tuning", "tuned", "levels")]  # fmt: skip
    written.append(write_csv(out / "fairness_comparison.csv", comparison))
    written.append(write_csv(out / "fairness_unreached.csv", missing))
    with atomic_path(out / "fairness_summary.md", suffix=".md") as tmp:
        tmp.write_text(_markdown_summary(comparison, res["cost"], missing, res["matched"]))
    written.append(out / "fairness_summary.md")
    written.append(plot_fronts(res["front"], res["matched"], out / "fairness.png"))
    record = {"config": _settings_dict(cfg), "protocols": list(protocols), "dataset": name,
              "candidates": str(candidates_path), "valid_candidates": str(valid_candidates_path),
              "seconds": time.perf_counter() - t0, "versions": versions()}  # fmt: skip
    written.append(write_json(out / "run.json", jsonable(record)))
    return written

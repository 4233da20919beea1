"""Figures of the re-ranking comparison.

The trade-off paths, the calibration reliability diagrams and one user's archive with
each method's list.
"""

from __future__ import annotations

import numpy as np

from moopt.engine import evaluate_lists
from moopt.objectives import make_inputs, pack_objectives

from .curves import tradeoff_curves
from .evaluation import RerankEvaluation
from .stages import GREEDY, LABELS, NSGA, PARAM, Context, protocol_arrays
from .tuning import ANGULAR_FROM_TRANSFER, _label, apply_choice


def _draw_path(top, bottom, path, k: int, colour, label: str, style: str = "-"):
    hr, div, nov = (path[f"{m}@{k}"].to_numpy() for m in ("HR", "Div", "Nov"))
    top.plot((div + nov) / 2, hr, style, marker=".", color=colour, label=label, lw=1.2)
    bottom.plot(nov, div, style, marker=".", color=colour, lw=1.2)


def plot_tradeoff(evaluation: RerankEvaluation, path, k: int | None = None, curves=None):
    """Mean test HR@k against (Div@k + Nov@k) / 2, and Div@k against Nov@k.

    The greedy paths are curves over their parameter, NSGA-II's utility path (averaged
    over seeds) a curve over ``w``, validated choices filled markers; one column per
    protocol.

    Parameters
    ----------
    evaluation : RerankEvaluation
        A finished evaluation.
    path : str or pathlib.Path
        Image file to write.
    k : int or None, default None
        Cut-off of the metrics; None means the configured key cut-off.
    curves : pandas.DataFrame or None, default None
        The frame of ``problems.rerank_eval.curves.tradeoff_curves``, computed when not
        given.

    Returns
    -------
    pathlib.Path
        The file written (``moopt.plots.save_figure``).
    """
    from moopt.plots import save_figure, subplots

    curves = tradeoff_curves(evaluation) if curves is None else curves
    protocols = list(evaluation.details)
    fig, axes = subplots(2, len(protocols), size=4.2)
    colours = {"mmr": "C0", "dpp": "C1", "ssd": "C2", "nsga2": "C3", "nsga2_seeded": "C4",
               "nsga2_kt": "C5", "base": "k"}  # fmt: skip
    for col, protocol in enumerate(protocols):
        cfg = evaluation.details[protocol]["test"].cfg
        k = k or cfg.key_k
        top, bottom = axes[0][col], axes[1][col]
        tested = curves[(curves.stage == "test") & (curves.protocol == protocol)]
        for m in (*GREEDY, *NSGA):
            if m in cfg.methods:
                label = (f"{LABELS[m]} path ({PARAM[m]})" if m in GREEDY
                         else f"{LABELS[m]}, utility path (w)")  # fmt: skip
                _draw_path(top, bottom, tested[tested.key == m], k, colours[m], label,
                           style="-" if m in GREEDY else "--")  # fmt: skip
        rows = evaluation.table[evaluation.table.protocol == protocol].to_dict("records")
        for row in rows:
            m = next(key for key, lab in LABELS.items() if lab == row["method"])
            if m != "base" and "tuned" not in row["choice"] and "utility" not in row["choice"]:
                continue
            marker = "s" if m == "base" else ("D" if "dominating" in row["choice"] else "o")
            hr, div, nov = row[f"HR@{k}"], row[f"Div@{k}"], row[f"Nov@{k}"]
            top.plot((div + nov) / 2, hr, marker, color=colours[m], ms=6, mec="k")
            bottom.plot(nov, div, marker, color=colours[m], ms=6, mec="k")
        top.set(title=f"{protocol} protocol (test)", xlabel=f"(Div@{k} + Nov@{k}) / 2",
                ylabel=f"HR@{k}")  # fmt: skip
        bottom.set(xlabel=f"Nov@{k}", ylabel=f"Div@{k}")
        top.grid(alpha=0.3)
        bottom.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="best")
    return save_figure(fig, path)


def plot_calibration(cands_valid: dict, path, protocols=("full", "sampled"), n_bins: int = 15):
    """Reliability diagrams of the calibrated hit probabilities on the validation stage.

    Equal-mass bins of q over every user's candidates, on log axes (most q are tiny),
    with the mean top-10 sum of q against HR@10 in each title.

    Parameters
    ----------
    cands_valid : dict of str to numpy.ndarray
        The validation candidates file, written by ``moopt train`` (calibrated).
    path : str or pathlib.Path
        Image file to write.
    protocols : sequence of str, default ("full", "sampled")
        One panel per protocol.
    n_bins : int, default 15
        Number of equal-mass bins.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from moopt.plots import save_figure, subplots
    from recommenders.calibration import calibration_table
    from recommenders.evaluate import calibration_summary

    fig, axes = subplots(1, len(protocols), size=4.0)
    for ax, protocol in zip(axes[0], protocols, strict=True):
        q, items, target = protocol_arrays(cands_valid, protocol, 0, "calibrated")
        table = calibration_table(q.ravel(), (items == target[:, None]).ravel(), n_bins=n_bins)
        table = table[table.hit_rate > 0]  # log axes; the lowest bins may hold no hit
        lo = min(table.mean_q.min(), table.hit_rate.min()) * 0.5
        ax.loglog([lo, 1], [lo, 1], ":", color="grey")
        ax.loglog(table.mean_q, table.hit_rate, "o-", color="C0")
        sum_q, hr = calibration_summary(cands_valid, protocol, 10)
        ax.set(xlabel="predicted hit probability q (bin mean)", ylabel="observed hit rate",
               title=f"{protocol} protocol, validation\nmean top-10 sum of q {sum_q:.3f}, "
                     f"HR@10 {hr:.3f}")  # fmt: skip
        ax.title.set_fontsize(9)
        ax.grid(alpha=0.3, which="both")
    return save_figure(fig, path)


def plot_user_front(evaluation: RerankEvaluation, protocol: str, user: int, path):
    """One user's archive (NSGA-II seeded when present) with each method's chosen list.

    Parameters
    ----------
    evaluation : RerankEvaluation
        A finished evaluation with an NSGA-II method.
    protocol : str
        ``"full"`` or ``"sampled"`` (one the evaluation ran).
    user : int
        Row of the user in the test stage.
    path : str or pathlib.Path
        Image file to write.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        If the evaluation ran no NSGA-II method.
    """
    from moopt.plots import plot_front, save_figure

    d = evaluation.details[protocol]
    test: Context = d["test"]
    runs = d["nsga_runs"]
    method = next((m for m in ("nsga2_seeded", "nsga2_kt", "nsga2") if (m, test.cfg.seeds[0])
                   in runs), None)  # fmt: skip
    if method is None:
        raise ValueError("plotting the front needs an NSGA-II method in the evaluation")
    res = runs[method, test.cfg.seeds[0]][0]
    inputs = make_inputs(test.stage.q[user], test.stage.items[user], test.genres, test.pop,
                         test.cfg.k)  # fmt: skip
    packed = pack_objectives(res.objectives, inputs)
    marks = {}
    for choice in d["choices"]:
        if choice.method in NSGA and (choice.method, test.cfg.seeds[0]) not in runs:
            continue
        if choice.rule in ("paper", ANGULAR_FROM_TRANSFER) or choice.rule.endswith("F2"):
            continue
        r = runs[choice.method, test.cfg.seeds[0]][0] if choice.method in NSGA else None
        pos = apply_choice(test, choice, r)[user]
        marks[f"{LABELS[choice.method]}, {_label(choice)}"] = evaluate_lists(
            pos[None, None], packed)[0, 0]  # fmt: skip
    n = int(res.archive_size[user])
    rank = np.zeros(n, dtype=np.int64)
    fig = plot_front(res.archive_F[user, :n], res.objectives, rank, marks,
                     title=f"user {user}, {protocol} protocol: {LABELS[method]} archive")
    return save_figure(fig, path)

"""The test stage, scored once with the validated choices.

The results table, every NSGA-II seed's row, the significance rows and the dominance of
the greedy lists by the archives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from moopt import stats
from moopt.engine import evaluate_lists
from moopt.objectives import make_inputs, pack_objectives

from .headline import headline_table, over_users
from .stages import (
    GREEDY,
    LABELS,
    NSGA,
    PARAM,
    Context,
    RerankEvalConfig,
    make_stage,
    per_user_beyond,
    per_user_hits,
)  # fmt: skip
from .tuning import ANGULAR_FROM_TRANSFER, _label, apply_choice, tune, validated_choice


def dominated_share(ctx: Context, res, positions: np.ndarray) -> float:
    """Share of users whose list is weakly dominated by a list in their final archive.

    Parameters
    ----------
    ctx : Context
        The stage the run searched.
    res : moopt.engine.RerankResult
        The NSGA-II run; its archives and objectives are used.
    positions : numpy.ndarray
        (U, K) one list of candidate positions per user (e.g. a greedy baseline's).

    Returns
    -------
    float
        Share in [0, 1] of users with an archive list at least as good on every
        objective (equal counts).
    """
    inputs = make_inputs(ctx.stage.q, ctx.stage.items, ctx.genres, ctx.pop, ctx.cfg.k)
    packed = pack_objectives(res.objectives, inputs)
    f = evaluate_lists(np.ascontiguousarray(positions[:, None, :]), packed)[:, 0]  # (U, M)
    A = res.archive_F  # (U, A, M); unused rows are NaN and compare False
    covered = np.all(A >= f[:, None, :] - 1e-12, axis=2).any(axis=1)
    return float(covered.mean())


@dataclass
class RerankEvaluation:
    """Results of ``rerank_evaluation``.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per protocol, method and choice rule (NSGA-II rows averaged over seeds,
        with ``n_seeds`` and the 95% CI half-widths of F1/F2).
    runs : pandas.DataFrame
        One row per NSGA-II seed.
    significance : pandas.DataFrame
        NSGA-II seeded (validated utility) against the best validation-tuned greedy
        baseline, over seeds and over users (Holm).
    dominance : pandas.DataFrame
        Share of users whose F1-tuned greedy list is weakly dominated by their archive.
    details : dict
        Per protocol, what the plots need: ``valid_curves``, ``choices``, the ``valid``
        and ``test`` contexts, ``nsga_runs`` and ``lists`` (every choice's test lists,
        item ids (U, K), first seed).
    headline : pandas.DataFrame, default empty
        The primary test, the same comparison over users
        (``problems.rerank_eval.headline.headline_table``).
    """

    table: pd.DataFrame
    runs: pd.DataFrame
    significance: pd.DataFrame
    dominance: pd.DataFrame
    details: dict
    headline: pd.DataFrame = field(default_factory=pd.DataFrame)


def _significance(protocol, choices, rows, runs, per_user, test: Context, cfg):
    """NSGA-II seeded with its validated choice (the utility rule with the best
    validation F, see ``validated_choice``) against the best validation-tuned greedy
    baseline, for F1 and F2: over seeds (the F-measure of each seed), and over users for
    HR and (Div + Nov) / 2 on the first seed."""
    kk, out = cfg.key_k, []
    for beta in ("F1", "F2"):
        head = validated_choice(choices, "nsga2_seeded", beta)
        best = validated_choice(choices, GREEDY, beta)
        vs = f"NSGA-II seeded vs {LABELS[best.method]} ({PARAM[best.method]}={best.param:g})"
        b_row = next(r for r in rows if r["protocol"] == protocol
                     and r["method"] == LABELS[best.method] and r["choice"] == _label(best))
        a = np.array([r[f"{beta}@{kk}"] for r in runs if r["protocol"] == protocol
                      and r["method"] == LABELS["nsga2_seeded"]
                      and r["choice"] == _label(head)])  # fmt: skip
        if len(a) >= 2:
            b = np.full(len(a), b_row[f"{beta}@{kk}"])  # greedy lists do not vary by seed
            out.append((f"{protocol}, {beta}@{kk} over seeds: {vs}",
                        stats.paired_over_seeds(a, b)))  # fmt: skip
        lists_a, lists_b = per_user["nsga2_seeded", head.rule], per_user[best.method, best.rule]
        target, first = test.stage.target, cfg.seeds[0]
        out.append((f"{protocol}, {beta}-tuned, HR@{kk} over users (seed {first}): {vs}",
                    stats.paired_over_users(per_user_hits(lists_a, target, kk),
                                            per_user_hits(lists_b, target, kk), seed=0)))
        out.append((f"{protocol}, {beta}-tuned, (Div+Nov)/2@{kk} over users (seed {first}): {vs}",
                    stats.paired_over_users(
                        per_user_beyond(lists_a, test.genres, test.pop, kk),
                        per_user_beyond(lists_b, test.genres, test.pop, kk), seed=0)))
    return out


def rerank_evaluation(
    cands: dict,
    valid_cands: dict,
    item_genres: np.ndarray,
    popularity: np.ndarray,
    cfg: RerankEvalConfig | None = None,
    protocols: tuple[str, ...] = ("full", "sampled"),
    valid_popularity: np.ndarray | None = None,
) -> RerankEvaluation:
    """Tune on ``valid_cands``, score ``cands`` (test) once; see the package docstring.

    Runs every method (NSGA-II once per seed on each stage), so it takes as long as the
    searches.

    Parameters
    ----------
    cands : dict of str to numpy.ndarray
        The test stage's candidates file.
    valid_cands : dict of str to numpy.ndarray
        The validation stage's candidates file (targets: the validation items).
    item_genres : numpy.ndarray
        (I, G) bool genres.
    popularity : numpy.ndarray
        (I,) the test stage's training popularity (novelty).
    cfg : RerankEvalConfig or None, default None
        Settings; None means ``RerankEvalConfig()``.
    protocols : tuple of str, default ("full", "sampled")
        Candidate protocols to evaluate.
    valid_popularity : numpy.ndarray or None, default None
        The validation stage's popularity; None means ``popularity``.

    Returns
    -------
    RerankEvaluation
        The tables and the per-protocol details.
    """
    cfg = cfg or RerankEvalConfig()
    vpop = popularity if valid_popularity is None else valid_popularity
    kk = cfg.key_k
    rows, runs, sig_rows, user_rows, dom_rows, details = [], [], [], [], [], {}
    for protocol in protocols:
        valid = Context(make_stage(valid_cands, "valid", protocol, cfg), item_genres, vpop, cfg)
        test = Context(make_stage(cands, "test", protocol, cfg), item_genres, popularity, cfg)
        choices, curves = tune(valid, cfg)
        per_user: dict[tuple, np.ndarray] = {}
        measures: dict[tuple, np.ndarray] = {}  # per-user (hit, Div, Nov), seed-averaged
        nsga_runs: dict[tuple[str, int], tuple] = {}
        for m in NSGA:
            if m in cfg.methods:
                for s in cfg.seeds:
                    nsga_runs[m, s] = test.nsga(m, s)
        for choice in choices:
            label = _label(choice)
            base = {"protocol": protocol, "method": LABELS[choice.method], "choice": label,
                    "rule": choice.rule, "valid F": choice.valid_f}  # fmt: skip
            if choice.method in NSGA:
                per_seed, user_values = [], []
                for s in cfg.seeds:
                    res, secs = nsga_runs[choice.method, s]
                    anchors = (nsga_runs["nsga2_kt", s][0].anchors
                               if choice.rule == ANGULAR_FROM_TRANSFER else None)  # fmt: skip
                    pos = apply_choice(test, choice, res, anchors)
                    met = test.metrics(pos)
                    per_seed.append(met)
                    user_values.append(test.measures(pos))
                    runs.append({**base, "seed": s, **met, "seconds": secs,
                                 "evals/user": float(res.n_evals.mean())})  # fmt: skip
                    if s == cfg.seeds[0]:
                        per_user[choice.method, choice.rule] = test.items_of(pos)
                measures[choice.method, choice.rule] = np.mean(user_values, axis=0)
                frame = pd.DataFrame(per_seed)
                row = {**base, **frame.mean().to_dict(), "n_seeds": len(cfg.seeds)}
                for beta in ("F1", "F2"):
                    vals = frame[f"{beta}@{kk}"].to_numpy()
                    row[f"{beta}@{kk} ci"] = (
                        stats.mean_ci(vals)[2] - vals.mean() if len(vals) > 1 else np.nan
                    )
                secs = [nsga_runs[choice.method, s][1] for s in cfg.seeds]
                evals = [nsga_runs[choice.method, s][0].n_evals.mean() for s in cfg.seeds]
                row.update({"seconds": float(np.mean(secs)), "evals/user": float(np.mean(evals))})
            else:
                pos = apply_choice(test, choice)
                row = {**base, **test.metrics(pos), "n_seeds": 1,
                       "seconds": test.greedy_seconds.get((choice.method, choice.param), 0.0),
                       "evals/user": np.nan}  # fmt: skip
                per_user[choice.method, choice.rule] = test.items_of(pos)
                measures[choice.method, choice.rule] = test.measures(pos)
            rows.append(row)
        if "nsga2_seeded" in cfg.methods and any(m in cfg.methods for m in GREEDY):
            sig_rows += _significance(protocol, choices, rows, runs, per_user, test, cfg)
            user_rows += over_users(protocol, choices, measures, cfg)
        # Dominance of each F1-tuned greedy list by each NSGA-II variant's archive.
        for m in NSGA:
            if m not in cfg.methods:
                continue
            res = nsga_runs[m, cfg.seeds[0]][0]
            for c in choices:
                if c.method in GREEDY and c.rule == "tuned F1":
                    dom_rows.append({
                        "protocol": protocol, "archive of": LABELS[m],
                        "greedy list": f"{LABELS[c.method]} ({PARAM[c.method]}={c.param:g})",
                        "share weakly dominated": dominated_share(test, res, test.greedy(
                            c.method, c.param)),
                    })  # fmt: skip
        details[protocol] = {"valid_curves": curves, "choices": choices, "valid": valid,
                             "test": test, "nsga_runs": nsga_runs,
                             "lists": per_user}  # fmt: skip
    sig = (stats.compare_table(dict(sig_rows), correction="holm").reset_index() if sig_rows
           else pd.DataFrame())
    return RerankEvaluation(pd.DataFrame(rows), pd.DataFrame(runs), sig,
                            pd.DataFrame(dom_rows), details,
                            headline_table(user_rows, sig))  # fmt: skip

"""The headline test over users.

NSGA-II seeded with greedy lists against the greedy baseline validation picked.

The aggregate F-beta is a function of means (of HR, Div and Nov over users), not a mean of
per-user values, so the tests resample users and recompute it (``moopt.stats``):

* a paired bootstrap of the F-beta difference (users drawn with replacement, the same
  users for both methods; both F-betas recomputed from the resample's means): percentile
  95% CI and p-value (``moopt.stats.bootstrap_of_means``);
* a paired sign-flip permutation test (``moopt.stats.sign_flip_of_means``): each
  pattern swaps the two methods' (hit, Div, Nov) for the flipped users, i.e. flips the
  sign of those users' contributions to the difference of the means; the statistic is the
  F-beta difference recomputed from the swapped means, ``p`` the share of patterns at
  least as far from 0 as the observed one.

NSGA-II runs with several seeds; each user's hit, Div and Nov are averaged over the seeds
before the test, so the method compared is "NSGA-II over its seeds" and the test's
randomness is the users'. Its F-beta here (of the seed-averaged users' means) therefore
differs slightly from the table's, which is the mean over seeds of each seed's F-beta.
The p-values are Holm-corrected over the cells (protocols x F1, F2) of one run, each test
separately. The comparison over NSGA-II's seeds (which measures only the optimiser's
randomness, as the greedy list does not change with the seed) stays as a secondary column.

**The strict rule.** The validated choice guarantees that NSGA-II's list weakly dominates
the best greedy list in the objectives (calibrated expectations), not in realised hits, so
it can lose on test, and it is taken even where its validation F is below the baseline's.
The strict rule, decided on validation only, keeps NSGA-II's pick where its validation F
beats the best greedy list's (``validation margin > 0``) and returns that greedy list
otherwise, an exact tie on test. Its columns (``strict ...``) are the validated row's where
the margin is positive and a zero difference (CI [0, 0], p 1) elsewhere, Holm-corrected
over the cells as a family of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from moopt import stats

from .stages import GREEDY, LABELS, PARAM, RerankEvalConfig, f_beta_of_means
from .tuning import Choice, _label, validated_choice


def compared_label(best: Choice) -> str:
    """The comparison's name in both tables, e.g. ``"NSGA-II seeded vs MMR (lambda=0.8)"``.

    Parameters
    ----------
    best : Choice
        The validated greedy choice.

    Returns
    -------
    str
        ``"NSGA-II seeded vs <method> (<parameter>=<value>)"``.

    Examples
    --------
    >>> from problems.rerank_eval import Choice
    >>> from problems.rerank_eval.headline import compared_label
    >>> compared_label(Choice("dpp", "tuned F1", 0.5, 0.24))
    'NSGA-II seeded vs DPP (theta=0.5)'
    """
    return f"NSGA-II seeded vs {LABELS[best.method]} ({PARAM[best.method]}={best.param:g})"


def over_users(protocol: str, choices: list[Choice], measures: dict, cfg: RerankEvalConfig):
    """Headline rows (without the Holm columns) of one protocol, F1 and F2.

    The seeded NSGA-II's validated choice against the best validation-tuned greedy
    baseline: paired bootstrap and sign-flip test of the aggregate F-beta difference,
    resampling users (``cfg.n_resamples`` each, seeded by ``cfg.stats_seed``).

    Parameters
    ----------
    protocol : str
        The protocol's name, copied into the rows.
    choices : list of Choice
        ``tune``'s choices, with ``"nsga2_seeded"`` and at least one greedy method.
    measures : dict
        (method, rule) -> (U, 3) per-user (hit, Div, Nov) of that choice's test lists
        (NSGA-II's averaged over seeds).
    cfg : RerankEvalConfig
        Supplies ``key_k``, ``seeds``, ``n_resamples`` and ``stats_seed``.

    Returns
    -------
    list of dict
        Two rows (F1, F2): labels, ``n_users``, both F values, ``diff``, its 95%
        ``ci_low``/``ci_high``, ``p bootstrap``, ``p sign-flip``, the validation F
        values, ``validation margin`` and ``strict choice`` (``"NSGA-II"`` where the
        margin is positive, else ``"baseline"``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from problems.rerank_eval import (Choice, RerankEvalConfig, headline_table,
    ...                                   over_users)
    >>> choices = [Choice("mmr", "tuned F1", 0.8, 0.20), Choice("mmr", "tuned F2", 0.6, 0.25),
    ...            Choice("nsga2_seeded", "utility F1", 2.0, 0.22),
    ...            Choice("nsga2_seeded", "utility F2", 1.0, 0.24)]
    >>> a = np.array([[1, .6, .5], [0, .8, .6], [1, .4, .5], [0, .6, .7]])  # (hit, Div, Nov)
    >>> b = np.array([[1, .4, .4], [0, .6, .5], [0, .4, .4], [0, .4, .5]])
    >>> measures = {("nsga2_seeded", "utility F1"): a, ("nsga2_seeded", "utility F2"): a,
    ...             ("mmr", "tuned F1"): b, ("mmr", "tuned F2"): b}
    >>> rows = over_users("full", choices, measures, RerankEvalConfig(n_resamples=200))
    >>> table = headline_table(rows, pd.DataFrame())
    >>> table[["F-beta", "diff", "validation margin", "strict choice", "strict diff"]].round(4)
      F-beta    diff  validation margin strict choice  strict diff
    0  F1@10  0.2188               0.02       NSGA-II       0.2188
    1  F2@10  0.1797              -0.01      baseline       0.0000
    """
    kk, out = cfg.key_k, []
    for beta in ("F1", "F2"):
        head = validated_choice(choices, "nsga2_seeded", beta)
        best = validated_choice(choices, GREEDY, beta)
        a, b = measures["nsga2_seeded", head.rule], measures[best.method, best.rule]
        statistic = f_beta_of_means(float(beta[1:]))
        boot = stats.bootstrap_of_means(a, b, statistic, n_boot=cfg.n_resamples,
                                        seed=cfg.stats_seed)  # fmt: skip
        flip = stats.sign_flip_of_means(a, b, statistic, n_perm=cfg.n_resamples,
                                        seed=cfg.stats_seed)  # fmt: skip
        margin = float(head.valid_f) - float(best.valid_f)
        out.append({
            "protocol": protocol, "F-beta": f"{beta}@{kk}",
            "method": f"{LABELS['nsga2_seeded']}, {_label(head)}",
            "baseline": f"{LABELS[best.method]} ({PARAM[best.method]}={best.param:g})",
            "comparison": compared_label(best), "n_users": boot.n, "n_seeds": len(cfg.seeds),
            "F method": boot.stat_a, "F baseline": boot.stat_b, "diff": boot.diff,
            "ci_low": boot.ci_low, "ci_high": boot.ci_high, "p bootstrap": boot.p,
            "p sign-flip": flip.p, "n_resamples": boot.n_resamples,
            "valid F method": float(head.valid_f), "valid F baseline": float(best.valid_f),
            "validation margin": margin,
            "strict choice": "NSGA-II" if margin > 0 else "baseline",
        })  # fmt: skip
    return out


def headline_table(rows: list[dict], significance: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``over_users`` for every protocol, Holm-corrected, with the strict rule.

    Each test's p-values are Holm-corrected over the cells; the strict rule's columns
    (``strict ...``) are a family of their own; the over-seeds comparison of
    ``significance`` (its difference, 95% t interval and Holm p over that table) comes as
    secondary columns (``over seeds ...``, NaN where it has no row).

    Parameters
    ----------
    rows : list of dict
        ``over_users``' rows of every protocol.
    significance : pandas.DataFrame
        ``RerankEvaluation.significance`` (may be empty).

    Returns
    -------
    pandas.DataFrame
        One row per protocol and F-beta; empty without rows. See ``over_users`` for an
        example.
    """
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows)
    for test in ("bootstrap", "sign-flip"):
        table[f"p {test} Holm"] = stats.adjust(table[f"p {test}"].to_numpy(), "holm")
    keep = (table["strict choice"] == "NSGA-II").to_numpy()
    for col in ("diff", "ci_low", "ci_high"):
        table[f"strict {col}"] = np.where(keep, table[col].to_numpy(), 0.0)
    for test in ("bootstrap", "sign-flip"):
        raw = np.where(keep, table[f"p {test}"].to_numpy(), 1.0)
        table[f"strict p {test}"] = raw
        table[f"strict p {test} Holm"] = stats.adjust(raw, "holm")
    seeds = (pd.DataFrame(columns=["comparison"]) if significance.empty
             else significance).set_index("comparison")  # fmt: skip
    keys = [f"{r['protocol']}, {r['F-beta']} over seeds: {r['comparison']}"
            for r in table.to_dict("records")]  # fmt: skip
    for col, name in (("diff", "diff"), ("ci_low", "ci_low"), ("ci_high", "ci_high"),
                      ("p_adj", "Holm p")):  # fmt: skip
        table[f"over seeds {name}"] = [
            float(seeds.loc[key, col]) if key in seeds.index else np.nan for key in keys
        ]
    return table


def headline_markdown(table: pd.DataFrame) -> str:
    """The headline as a markdown section: one row per protocol and F-beta.

    Parameters
    ----------
    table : pandas.DataFrame
        A ``headline_table``.

    Returns
    -------
    str
        A paragraph saying what was tested, then a markdown table; empty for an empty
        table.
    """
    if table.empty:
        return ""
    r0 = table.iloc[0]
    lines = [
        f"Headline: {LABELS['nsga2_seeded']} (its validated choice) against the greedy "
        "baseline validation picked, over users: paired bootstrap of the aggregate F "
        f"difference ({int(r0['n_resamples'])} resamples of the {int(r0['n_users'])} users, "
        "95% percentile CI and p) and paired sign-flip permutation test, each Holm-corrected "
        f"over the {len(table)} cells; NSGA-II's per-user values averaged over its "
        f"{int(r0['n_seeds'])} seeds. Then the same difference over NSGA-II's seeds "
        "(the optimiser's randomness only; mean of each seed's F), the validation margin "
        "(NSGA-II's validation F minus the baseline's) and the strict rule (NSGA-II's "
        "pick only where that margin is positive, else the baseline: a tie), with its "
        "own Holm p.",
        "",
        "| protocol | F-beta | NSGA-II seeded vs | difference | 95% CI | p | Holm p | "
        "sign-flip Holm p | over seeds: difference, Holm p | validation margin | "
        "strict rule: difference, Holm p |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        seeds = ("" if not np.isfinite(r["over seeds diff"])
                 else f"{r['over seeds diff']:+.4f}, {r['over seeds Holm p']:.2g}")  # fmt: skip
        lines.append(
            f"| {r['protocol']} | {r['F-beta']} | {r['baseline']} | {r['diff']:+.4f} | "
            f"[{r['ci_low']:+.4f}, {r['ci_high']:+.4f}] | {r['p bootstrap']:.2g} | "
            f"{r['p bootstrap Holm']:.2g} | {r['p sign-flip Holm']:.2g} | {seeds} | "
            f"{r['validation margin']:+.4f} | {r['strict diff']:+.4f}, "
            f"{r['strict p bootstrap Holm']:.2g} |"
        )
    return "\n".join(lines) + "\n"

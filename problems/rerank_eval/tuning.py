"""Tuning on the validation stage.

The utility path of an NSGA-II run, every method's validated choices (``tune``),
applying a choice on a stage and picking the validated choice among methods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .stages import GREEDY, LABELS, NSGA, PARAM, Context, RerankEvalConfig


def utility_weights(cfg: RerankEvalConfig, w: float) -> dict[str, float]:
    """The utility ``w * accuracy + (diversity + novelty) / 2`` as objective weights.

    Parameters
    ----------
    cfg : RerankEvalConfig
        Supplies the accuracy objective's name.
    w : float
        Non-negative weight of accuracy.

    Returns
    -------
    dict of str to float
        Objective name -> weight, as ``RerankResult.choose`` takes it.

    Examples
    --------
    >>> from problems.rerank_eval import RerankEvalConfig, utility_weights
    >>> utility_weights(RerankEvalConfig(), 2.0)
    {'expected_hits': 2.0, 'diversity': 0.5, 'novelty': 0.5}
    """
    return {cfg.accuracy: float(w), "diversity": 0.5, "novelty": 0.5}


def utility_path(ctx: Context, res, dominating=None) -> list[tuple[float, np.ndarray]]:
    """The chosen positions (ordered by q) at every utility weight of the grid.

    Parameters
    ----------
    ctx : Context
        The stage the run searched.
    res : moopt.engine.RerankResult
        An NSGA-II run on that stage.
    dominating : numpy.ndarray or None, default None
        (U, M) objective values per user; if given, each choice is among the archive
        lists that weakly dominate them.

    Returns
    -------
    list of tuple of (float, numpy.ndarray)
        ``(w, positions (U, K))`` for every ``w`` of ``cfg.w_grid``.
    """
    return [(w, ctx.order_by_q(res.choose(utility_weights(ctx.cfg, w), dominating=dominating,
                                          positions=True)))
            for w in ctx.cfg.w_grid]  # fmt: skip


def _mean_metrics(per_seed: list[list[dict[str, float]]]) -> list[dict[str, float]]:
    """Per position of a path, the metrics averaged over seeds (the outer list); the mean
    of each seed's F-measure, as the test table reports it."""
    return [{key: float(np.mean([seed[i][key] for seed in per_seed])) for key in per_seed[0][i]}
            for i in range(len(per_seed[0]))]  # fmt: skip


def _mean_path(ctx: Context, results, dominating=None) -> list[tuple[float, dict]]:
    """``(w, metrics)`` along the utility path, the metrics averaged over the runs
    ``results`` (one per seed)."""
    per_seed = [[ctx.metrics(pos) for _, pos in utility_path(ctx, res, dominating)]
                for res in results]  # fmt: skip
    return list(zip(ctx.cfg.w_grid, _mean_metrics(per_seed), strict=True))


def _best(values: list[float]) -> int:
    """Index of the largest value, the first among ties."""
    return int(np.argmax(np.asarray(values)))


# ------------------------------------------------------------------------------ tuning


@dataclass
class Choice:
    """A validated choice: how a method's final list is picked and the validation F.

    Parameters
    ----------
    method : str
        One of ``METHODS``.
    rule : str
        How the list is picked: ``"top-K"``, ``"paper"``, ``"tuned F1"``,
        ``"utility F2"``, ``"utility F1, dominating MMR"``, ``"knee"``,
        ``"angular region F1"``, ...
    param : float or None
        The rule's parameter: a greedy trade-off, a utility weight ``w`` or an anchor
        region; None where the rule has none.
    valid_f : float or None
        The validation F-beta the rule was tuned on; None for untuned rules.
    ref : tuple of (str, float) or None, default None
        ``(greedy method, parameter)`` of the list the choice must weakly dominate.
    """

    method: str
    rule: str  # "paper", "tuned F1", "utility F2", "angular region F1", "knee", ...
    param: float | None
    valid_f: float | None
    ref: tuple[str, float] | None = None  # a greedy list the choice must weakly dominate


def tune(valid: Context, cfg: RerankEvalConfig) -> tuple[list[Choice], dict]:
    """Every method's choices on the validation stage; also the validation curves.

    Runs every configured method on the validation stage (NSGA-II once per seed of
    ``cfg.seeds``), so it takes as long as the searches.

    Parameters
    ----------
    valid : Context
        The validation stage.
    cfg : RerankEvalConfig
        The comparison's settings.

    Returns
    -------
    choices : list of Choice
        Every method's choices (paper and tuned greedy parameters; NSGA-II utility,
        dominating, knee and angular rules).
    curves : dict
        Per method, its validation metrics along the parameter or utility path.
    """
    kk = cfg.key_k
    choices: list[Choice] = []
    curves: dict = {}
    if "base" in cfg.methods:
        choices.append(Choice("base", "top-K", None, None))
    for m in GREEDY:
        if m not in cfg.methods:
            continue
        path = [valid.metrics(valid.greedy(m, p)) for p in cfg.grid]
        curves[m] = path
        choices.append(Choice(m, "paper", cfg.paper_param, None))
        for beta in ("F1", "F2"):
            j = _best([r[f"{beta}@{kk}"] for r in path])
            choices.append(Choice(m, f"tuned {beta}", cfg.grid[j], path[j][f"{beta}@{kk}"]))
    best_greedy = {}
    for beta in ("F1", "F2"):
        tuned = [c for c in choices if c.method in GREEDY and c.rule == f"tuned {beta}"]
        if tuned:
            best = max(tuned, key=lambda c: c.valid_f)
            best_greedy[beta] = (best.method, best.param)
    for m in NSGA:
        if m not in cfg.methods:
            continue
        # Every knob of a variant is fitted on its validation metrics averaged over all the
        # seeds it runs on test, so a choice does not hinge on one run's randomness.
        results = [valid.nsga(m, s)[0] for s in cfg.seeds]
        path = _mean_path(valid, results)
        curves[m] = path
        for beta in ("F1", "F2"):
            j = _best([r[f"{beta}@{kk}"] for _, r in path])
            choices.append(Choice(m, f"utility {beta}", path[j][0], path[j][1][f"{beta}@{kk}"]))
        for beta, ref in best_greedy.items():
            # The best validated greedy list, or a list of the archive that weakly
            # dominates it, chosen by the same utility: never worse on any objective.
            path = _mean_path(valid, results, valid.objective_values(valid.greedy(*ref)))
            j = _best([r[f"{beta}@{kk}"] for _, r in path])
            choices.append(Choice(m, f"utility {beta}, dominating {LABELS[ref[0]]}",
                                  path[j][0], path[j][1][f"{beta}@{kk}"], ref))  # fmt: skip
        choices.append(Choice(m, "knee", None, None))
        if m == "nsga2_kt":
            choices.append(Choice(m, "angular (all anchors)", None, None))
            n_regions = min(res.anchors.shape[1] for res in results)
            per_region = _mean_metrics([[valid.metrics(valid.order_by_q(
                res.choose("angular", region=r, positions=True))) for r in range(n_regions)]
                for res in results])  # fmt: skip
            for beta in ("F1", "F2"):
                j = _best([r[f"{beta}@{kk}"] for r in per_region])
                choices.append(Choice(m, f"angular region {beta}", j,
                                      per_region[j][f"{beta}@{kk}"]))  # fmt: skip
    if "nsga2" in cfg.methods and "nsga2_kt" in cfg.methods:
        # Separates the transfer's two effects: its search (the transfer rows with utility
        # or knee choice) and its final choice (plain search, angular choice with the
        # anchors the transfer run proposed for the same users and seed).
        choices.append(Choice("nsga2", ANGULAR_FROM_TRANSFER, None, None))
    return choices, curves


ANGULAR_FROM_TRANSFER = "angular (all anchors of the transfer run)"


def apply_choice(ctx: Context, choice: Choice, res=None, anchors=None) -> np.ndarray:
    """Positions of a validated choice on a stage.

    Parameters
    ----------
    ctx : Context
        The stage.
    choice : Choice
        The validated choice.
    res : moopt.engine.RerankResult or None, default None
        The NSGA-II run on that stage (for NSGA-II choices).
    anchors : numpy.ndarray or None, default None
        The transfer run's anchors, for ``ANGULAR_FROM_TRANSFER``.

    Returns
    -------
    numpy.ndarray
        (U, K) candidate positions (NSGA-II lists ordered by q).

    Raises
    ------
    ValueError
        For ``ANGULAR_FROM_TRANSFER`` without ``anchors``.
    """
    m = choice.method
    if m == "base":
        return ctx.base()
    if m in GREEDY:
        return ctx.greedy(m, choice.param)
    if choice.rule.startswith("utility"):
        dom = None if choice.ref is None else ctx.objective_values(ctx.greedy(*choice.ref))
        pos = res.choose(utility_weights(ctx.cfg, choice.param), dominating=dom, positions=True)
    elif choice.rule == "knee":
        pos = res.choose("knee", positions=True)
    elif choice.rule == "angular (all anchors)":
        pos = res.choose("angular", positions=True)
    elif choice.rule == ANGULAR_FROM_TRANSFER:
        if anchors is None:
            raise ValueError(f"the rule {choice.rule!r} needs anchors= from a transfer run")
        pos = res.choose("angular", anchors=anchors, positions=True)
    elif choice.rule.startswith("angular region"):
        pos = res.choose("angular", region=int(choice.param), positions=True)
    else:  # pragma: no cover - tune() makes only the rules above
        raise ValueError(f"unknown rule {choice.rule!r}")
    return ctx.order_by_q(pos)


def _label(choice: Choice) -> str:
    if choice.method in GREEDY:
        name = PARAM[choice.method]
        return f"{choice.rule} ({name}={choice.param:g})"
    if choice.rule.startswith("utility"):
        if choice.ref is not None:
            m, p = choice.ref
            return f"{choice.rule} ({PARAM[m]}={p:g}) (w={choice.param:g})"
        return f"{choice.rule} (w={choice.param:g})"
    if choice.rule.startswith("angular region"):
        return f"{choice.rule} (anchor {int(choice.param)})"
    return choice.rule


def validated_choice(choices: list[Choice], methods, beta: str) -> Choice:
    """The choice with the highest validation F-beta among ``methods``' F-beta choices.

    Candidates are a greedy method's ``tuned F-beta`` parameter or an NSGA-II variant's
    ``utility F-beta`` rules (plain or restricted to lists dominating the best greedy
    list). The test stage never enters this pick; ties go to the first.

    Parameters
    ----------
    choices : list of Choice
        ``tune``'s choices.
    methods : str or sequence of str
        The method or methods to pick among.
    beta : str
        ``"F1"`` or ``"F2"``.

    Returns
    -------
    Choice
        The best of them.

    Raises
    ------
    ValueError
        If none of ``methods`` has a validated ``beta`` choice.

    Examples
    --------
    >>> from problems.rerank_eval import Choice, validated_choice
    >>> choices = [Choice("mmr", "paper", 0.7, None), Choice("mmr", "tuned F1", 0.3, 0.21),
    ...            Choice("dpp", "tuned F1", 0.5, 0.24), Choice("nsga2", "utility F1", 1.0, 0.26)]
    >>> validated_choice(choices, ("mmr", "dpp"), "F1")
    Choice(method='dpp', rule='tuned F1', param=0.5, valid_f=0.24, ref=None)
    >>> validated_choice(choices, "nsga2", "F1").param
    1.0
    """
    methods = (methods,) if isinstance(methods, str) else tuple(methods)
    pool = [c for c in choices if c.method in methods and c.valid_f is not None
            and (c.rule == f"tuned {beta}" or c.rule.startswith(f"utility {beta}"))]  # fmt: skip
    if not pool:
        raise ValueError(f"no validated {beta} choice among {methods}")
    return max(pool, key=lambda c: c.valid_f)


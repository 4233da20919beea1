"""System-level trade-offs: provider exposure against accuracy, over every user's archive.

The per-user engine leaves each user an archive of non-dominated lists
(``moopt.RerankResult``). Choosing one list per user so that item groups (providers) get
a fair share of the exposure couples every user; ``moopt.system.dual_choice`` reaches it
with one price per group. This module turns the archives into the arrays the dual solve
takes (``archive_options``), sweeps the exposure level to trace the front of accuracy
against the max-min share (``exposure_front``; ``coupled_front`` adds column generation:
when the archives cannot reach a level, ``PricedListOracle`` offers every user its best
list under the dual's prices), and states the same trade-off as a pymoo
``Problem`` whose variables are the prices (``ExposurePriceProblem``), so NSGA-II and
Bayesian optimisation can search it too.

The exposure constraint: with position weights w (``recommenders.metrics.position_weights``)
every list hands out ``sum_r w_r``, so the total over U users is fixed, E = U sum_r w_r,
and "group g gets at least ``level`` times its target share t_g" is the linear bound
``E_g >= level * t_g * E``, ``E_g`` the sum over users of their lists' exposure of group g.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pymoo.core.problem import Problem

from moopt.engine import RerankResult
from moopt.system import DualConfig, dual_choice, option_spread
from recommenders.metrics import exposure_gap, list_exposure, min_share_ratio, position_weights


@dataclass
class ArchiveOptions:
    """Every user's archived lists as options of the coupled choice.

    Parameters
    ----------
    utility : numpy.ndarray
        ``(U, A)`` the per-user utility of each archived list (the weighted objectives).
    accuracy : numpy.ndarray
        ``(U, A)`` the accuracy objective's value of each list.
    ndcg : numpy.ndarray
        ``(U, A)`` each list's expected NDCG@K with one held-out item: sum over ranks of
        q / log2(rank + 1) in display order (with ``q``; else the accuracy objective).
        Unlike ``expected_hits``, which is relative to the user's own top-K, it compares
        users, so the consumer gap is measured on it.
    exposure : numpy.ndarray
        ``(U, A, G)`` the exposure each list gives each item group.
    valid : numpy.ndarray
        ``(U, A)`` bool, False for padding rows past a user's archive size.
    positions : numpy.ndarray
        ``(U, A, K)`` candidate positions of each list, in display order.
    target : numpy.ndarray
        ``(G,)`` target shares of the groups, summing to 1.
    per_list : float
        Exposure one list hands out, ``sum_r w_r``.
    context : object, optional
        What ``add_lists`` needs to score new lists (set by ``archive_options``).
    """

    utility: np.ndarray
    accuracy: np.ndarray
    ndcg: np.ndarray
    exposure: np.ndarray
    valid: np.ndarray
    positions: np.ndarray
    target: np.ndarray
    per_list: float
    context: _Context | None = field(default=None, repr=False)

    @property
    def n_users(self) -> int:
        """Number of users U."""
        return int(self.utility.shape[0])

    def shares(self, choice: np.ndarray) -> np.ndarray:
        """The groups' exposure shares when user u shows its list ``choice[u]``.

        Parameters
        ----------
        choice : numpy.ndarray
            ``(U,)`` int option of each user.

        Returns
        -------
        numpy.ndarray
            ``(G,)`` shares summing to 1.
        """
        tot = self.exposure[np.arange(self.n_users), choice].sum(axis=0)
        return tot / tot.sum()

    def lists(self, choice) -> np.ndarray:
        """The item ids every user is shown when user u shows its list ``choice[u]``.

        Parameters
        ----------
        choice : array_like
            ``(U,)`` int option of each user (a row of ``coupled_front``'s choices, or
            ``RerankResult.utility_index``).

        Returns
        -------
        numpy.ndarray
            ``(U, K)`` int64 item ids in display order (the order the exposure counts).

        Raises
        ------
        ValueError
            Options built without a context (not by ``archive_options``), a ``choice`` of
            the wrong shape or type, or one naming a padding option.
        """
        if self.context is None:
            raise ValueError("these options have no context; build them with archive_options")
        c = np.asarray(choice)
        if c.shape != (self.n_users,) or not np.issubdtype(c.dtype, np.integer):
            raise ValueError(f"choice must be ({self.n_users},) int, one option per user, got "
                             f"shape {c.shape} and dtype {c.dtype}")  # fmt: skip
        u = np.arange(self.n_users)
        if np.any(c < 0) or np.any(c >= self.valid.shape[1]) or not self.valid[u, c].all():
            raise ValueError("choice names options a user does not have (negative, past its "
                             "archive, or padding); take it from coupled_front's choices")
        return np.take_along_axis(self.context.candidates, self.positions[u, c], axis=1)

    def bound(self, level: float) -> np.ndarray:
        """The exposure each group needs for a max-min share of ``level``.

        Parameters
        ----------
        level : float
            The max-min share ratio to reach, in ``[0, 1]``.

        Returns
        -------
        numpy.ndarray
            ``(G,)`` ``level * target * U * per_list``.

        Raises
        ------
        ValueError
            ``level`` outside ``[0, 1]``.
        """
        if not 0.0 <= level <= 1.0:
            raise ValueError(f"level must be a max-min share ratio in [0, 1], got {level}")
        return level * self.target * self.n_users * self.per_list

    def add_lists(self, positions: np.ndarray, F: np.ndarray) -> ArchiveOptions:
        """These options with one more list per user (column generation).

        Parameters
        ----------
        positions : numpy.ndarray
            ``(U, m, K)`` candidate positions of m new lists per user.
        F : numpy.ndarray
            ``(U, m, M)`` their maximised objective values, in the run's objective order.

        Returns
        -------
        ArchiveOptions
            New options: the old ones, then the new lists (all valid).

        Raises
        ------
        ValueError
            Options built without a context (not by ``archive_options``), or shapes that
            do not match.
        """
        ctx = self.context
        if ctx is None:
            raise ValueError("these options have no context; build them with archive_options")
        pos = np.asarray(positions, dtype=np.int64)
        if pos.ndim != 3 or pos.shape[0] != self.n_users or pos.shape[2] != self.positions.shape[2]:
            raise ValueError(f"positions must be (U={self.n_users}, m, K="
                             f"{self.positions.shape[2]}), got {pos.shape}")  # fmt: skip
        util, acc, ndcg, expo, shown = ctx.score(pos, np.asarray(F, dtype=np.float64))
        ok = np.ones(pos.shape[:2], dtype=bool)
        return ArchiveOptions(
            utility=np.concatenate([self.utility, util], axis=1),
            accuracy=np.concatenate([self.accuracy, acc], axis=1),
            ndcg=np.concatenate([self.ndcg, ndcg], axis=1),
            exposure=np.concatenate([self.exposure, expo], axis=1),
            valid=np.concatenate([self.valid, ok], axis=1),
            positions=np.concatenate([self.positions, shown], axis=1),
            target=self.target, per_list=self.per_list, context=ctx,
        )  # fmt: skip


@dataclass
class _Context:
    """How lists become options: display order, exposure, utility and accuracy."""

    candidates: np.ndarray
    q: np.ndarray | None
    membership: np.ndarray
    discount: str
    weights: np.ndarray
    acc: int

    def score(self, pos: np.ndarray, F: np.ndarray):
        n_users, n_lists, k = pos.shape
        ndcg = F[:, :, self.acc]
        if self.q is not None:  # shown in descending q, as moopt apply orders its lists
            qs = np.take_along_axis(self.q, pos.reshape(n_users, -1), axis=1)
            qs = qs.reshape(n_users, n_lists, k)
            order = np.argsort(-qs, axis=2, kind="stable")
            pos = np.take_along_axis(pos, order, axis=2)
            ndcg = np.take_along_axis(qs, order, axis=2) @ position_weights(k, "log")
        items = np.take_along_axis(self.candidates, pos.reshape(n_users, -1), axis=1)
        expo = list_exposure(items.reshape(-1, k), self.membership, self.discount)
        expo = expo.reshape(n_users, n_lists, -1)
        return F @ self.weights, F[:, :, self.acc], ndcg, expo, pos


def archive_options(
    res: RerankResult,
    utility: Mapping[str, float],
    membership,
    *,
    q: np.ndarray | None = None,
    accuracy: str = "expected_hits",
    discount: str = "log",
    target=None,
) -> ArchiveOptions:
    """Turn a re-ranking run's archives into options of the coupled choice.

    Parameters
    ----------
    res : RerankResult
        A run with an archive (the default of ``moopt.rerank_batch``).
    utility : Mapping of str to float
        Weights of the per-user utility over ``res.objectives`` (e.g. the validated
        weights of ``moopt apply``).
    membership : array_like
        ``(n_items, G)`` item-to-group weights, rows summing to 1
        (``recommenders.metrics.popularity_groups``, ``genre_groups``).
    q : numpy.ndarray, optional
        ``(U, N)`` scores of the candidates: each list is shown in descending ``q``, as
        ``moopt apply`` orders the chosen lists; default the archive's own order.
    accuracy : str, default "expected_hits"
        The objective reported as accuracy.
    discount : {"log", "uniform"}, default "log"
        Position weights of exposure.
    target : array_like, optional
        ``(G,)`` target shares; default uniform.

    Returns
    -------
    ArchiveOptions
        Utilities, accuracies, group exposures and validity of every archived list.

    Raises
    ------
    ValueError
        A run without an archive, an unknown objective, a ``membership`` that does not
        cover the candidates' items, ``q`` of the wrong shape, or a bad ``target``.
    """
    if not res.has_archive:
        raise ValueError("res has no archive; run rerank_batch with an archive (the default)")
    unknown = (set(utility) | {accuracy}) - set(res.objectives)
    if unknown:
        raise ValueError(f"unknown objectives {sorted(unknown)}; the run has {res.objectives}")
    m = np.asarray(membership, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] <= int(res.candidates.max()):
        raise ValueError(f"membership must have a row for every candidate item (at least "
                         f"{int(res.candidates.max()) + 1}), got shape {m.shape}")  # fmt: skip
    if not np.allclose(m.sum(axis=1), 1.0) or np.any(m < 0):
        raise ValueError("membership rows must be non-negative and sum to 1")
    pos = res.archive_positions.astype(np.int64)
    n_users, n_arch, k = pos.shape
    valid = np.arange(n_arch)[None, :] < res.archive_size[:, None]
    safe = np.where(valid[:, :, None], pos, 0)
    if q is not None:
        q = np.asarray(q, dtype=np.float64)
        if q.shape != res.candidates.shape:
            raise ValueError(f"q must have the candidates' shape {res.candidates.shape}, got "
                             f"{q.shape}")  # fmt: skip
    g = m.shape[1]
    t = np.full(g, 1.0 / g) if target is None else np.asarray(target, dtype=np.float64)
    if t.shape != (g,) or np.any(t <= 0) or not np.isclose(t.sum(), 1.0):
        raise ValueError(f"target must be {g} positive shares summing to 1")
    w = position_weights(k, discount)
    weights = np.array([float(utility.get(o, 0.0)) for o in res.objectives])
    ctx = _Context(candidates=np.asarray(res.candidates, dtype=np.int64), q=q, membership=m,
                   discount=discount, weights=weights,
                   acc=res.objectives.index(accuracy))  # fmt: skip
    util, acc, ndcg, expo, shown = ctx.score(safe,
                                             np.where(valid[:, :, None], res.archive_F, 0.0))
    return ArchiveOptions(utility=util, accuracy=acc, ndcg=ndcg, exposure=expo, valid=valid,
                          positions=shown, target=t, per_list=float(w.sum()),
                          context=ctx)  # fmt: skip


class PricedListOracle:
    """Each user's best list under exposure prices, for column generation.

    Given prices lam on the item groups, a user's pricing problem is the list maximising
    its utility plus ``lam . exposure(list)``. The oracle answers it greedily over item
    values: the objectives that are sums over the list's items enter exactly
    (``expected_hits``: q_i / (sum of the top-K q); ``novelty``: the item's novelty / K),
    the others (diversity, ild, accuracy) with 0, and the exposure at the mean position
    weight; the K best items by value form the list. Every list it returns is then scored
    exactly (the engine's objectives, its exposure in display order) before it becomes an
    option, so the greedy only decides which lists to offer.

    Parameters
    ----------
    q : numpy.ndarray
        ``(U, N)`` calibrated hit probabilities of the candidates (as for
        ``moopt.rerank_batch``).
    candidates : numpy.ndarray
        ``(U, N)`` int item ids.
    item_genres, item_popularity : numpy.ndarray
        The catalogue arrays of the run.
    k : int
        List length.
    objectives : sequence of str
        The run's objectives, in order.
    utility : Mapping of str to float
        Weights of the per-user utility.
    membership : array_like
        ``(n_items, G)`` item-to-group weights.
    discount : {"log", "uniform"}, default "log"
        Position weights of exposure.
    """

    def __init__(self, q, candidates, item_genres, item_popularity, k: int, objectives,
                 utility: Mapping[str, float], membership,
                 discount: str = "log") -> None:  # fmt: skip
        from moopt.objectives import item_novelty, make_inputs, pack_objectives

        self.inputs = make_inputs(q, candidates, item_genres, item_popularity, k)
        self.packed = pack_objectives(tuple(objectives), self.inputs)
        qq = self.inputs.scores
        top = -np.sort(-qq, axis=1)[:, :k].sum(axis=1, keepdims=True)
        value = np.zeros_like(qq)
        if "expected_hits" in utility:
            value += utility["expected_hits"] * qq / np.maximum(top, 1e-300)
        if "novelty" in utility:
            nov = item_novelty(self.inputs.item_popularity)
            value += utility["novelty"] * nov[self.inputs.candidates] / k
        self.value = value
        m = np.asarray(membership, dtype=np.float64)
        self.member = m[self.inputs.candidates]  # (U, N, G)
        self.mean_weight = float(position_weights(k, discount).mean())
        self.mean_discount = float(position_weights(k, "log").mean())
        self.k = int(k)

    def lists(self, prices, coef: np.ndarray | None = None) -> np.ndarray:
        """Each user's greedy best list under ``prices``.

        Parameters
        ----------
        prices : array_like
            ``(G,)`` prices of the groups' exposure; with ``coef``, the two prices of the
            consumer-gap constraints (``-gap >= -eps`` and ``gap >= -eps``).
        coef : numpy.ndarray, optional
            ``(U,)`` each user's coefficient in the consumer gap (``1/|advantaged|`` or
            ``-1/|rest|``): the prices then reward or penalise the list's expected NDCG.

        Returns
        -------
        numpy.ndarray
            ``(U, K)`` int64 candidate positions.
        """
        lam = np.asarray(prices, dtype=np.float64)
        if coef is None:
            v = self.value + self.mean_weight * (self.member @ lam)
        else:  # the gap is in expected NDCG: q at the mean discount
            v = self.value + ((lam[1] - lam[0]) * coef * self.mean_discount)[:, None] * \
                self.inputs.scores  # fmt: skip
        return np.argsort(-v, axis=1, kind="stable")[:, : self.k]

    def evaluate(self, positions: np.ndarray) -> np.ndarray:
        """The engine's objective values of lists.

        Parameters
        ----------
        positions : numpy.ndarray
            ``(U, m, K)`` candidate positions.

        Returns
        -------
        numpy.ndarray
            ``(U, m, M)`` maximised objective values.
        """
        from moopt.engine.rerank import check_lists, evaluate_lists

        return evaluate_lists(check_lists(positions, self.inputs, "positions"), self.packed)

    def extend(self, options: ArchiveOptions, prices_list,
               coef: np.ndarray | None = None) -> ArchiveOptions:  # fmt: skip
        """Add each user's best list under every price vector of ``prices_list``.

        Parameters
        ----------
        options : ArchiveOptions
            The current options.
        prices_list : sequence of array_like
            Price vectors (see ``lists``).
        coef : numpy.ndarray, optional
            Consumer-gap coefficients (see ``lists``).

        Returns
        -------
        ArchiveOptions
            The options with ``len(prices_list)`` more lists per user.
        """
        pos = np.stack([self.lists(p, coef) for p in prices_list], axis=1)
        return options.add_lists(pos, self.evaluate(pos))


GOALS = ("exposure", "consumer")


def gap_coefficients(advantaged) -> np.ndarray:
    """Each user's coefficient in the consumer gap: ``gap = sum_u coef_u acc_u``.

    Parameters
    ----------
    advantaged : array_like
        ``(U,)`` bool, both groups non-empty (``recommenders.metrics.activity_groups``).

    Returns
    -------
    numpy.ndarray
        ``(U,)`` ``1/|advantaged|`` or ``-1/|rest|``, so the sum is the mean accuracy of
        the advantaged users minus the rest's.

    Raises
    ------
    ValueError
        Not a 1-D bool array, or an empty group.

    Examples
    --------
    >>> gap_coefficients(np.array([True, False, False]))
    array([ 1. , -0.5, -0.5])
    """
    a = np.asarray(advantaged)
    if a.ndim != 1 or a.dtype != bool or a.all() or not a.any():
        raise ValueError("advantaged must be a 1-D bool array splitting the users into two "
                         "non-empty groups")  # fmt: skip
    return np.where(a, 1.0 / a.sum(), -1.0 / (~a).sum())


def _constraints(options: ArchiveOptions, goal: str, level: float, coef):
    """The constraints' contributions, bounds and violation units of one level."""
    if goal == "exposure":
        return options.exposure, options.bound(level), None
    if level < 0:
        raise ValueError(f"a consumer gap level is the largest |gap| allowed, >= 0; got {level}")
    gap = options.ndcg * coef[:, None]  # summed over users: the gap of a choice
    # the tolerance is relative to the gap allowed (floored: a level of 0 still has a unit)
    unit = max(level, 1e-3 * float(np.abs(options.ndcg[options.valid]).mean()))
    return np.stack([-gap, gap], axis=2), np.array([-level, -level]), np.full(2, unit)


def _extend_to_reach(options: ArchiveOptions, oracle: PricedListOracle, goal: str,
                     price_coef=None) -> ArchiveOptions:  # fmt: skip
    """The options plus every user's oracle list under a very high price on each
    constraint: the most each constraint can get."""
    n_con = options.exposure.shape[2] if goal == "exposure" else 2
    scale = options.per_list if goal == "exposure" else 1.0 / options.n_users
    big = 1e3 * max(option_spread(options.utility, options.valid), 1e-12) / scale
    return oracle.extend(options, [big * np.eye(n_con)[j] for j in range(n_con)], price_coef)


def exposure_reach(options: ArchiveOptions, oracle: PricedListOracle | None = None) -> float:
    """The highest max-min share level every group allows on its own.

    Each group's most exposure is the sum over users of their options' largest exposure
    of it (with an ``oracle``, among the archives and every user's oracle list under a
    very high price on that group, as ``coupled_front`` adds them). A level above the
    returned value is refused by the dual solve; one at or below it may still be out of
    reach jointly (the groups compete for the same slots), which the solve then reports
    as not feasible.

    Parameters
    ----------
    options : ArchiveOptions
        The users' options.
    oracle : PricedListOracle, optional
        The pricing oracle of the column generation.

    Returns
    -------
    float
        ``min_g most_g / (t_g U sum_r w_r)``, at most 1 (lowered by the rounding of
        ``ArchiveOptions.bound`` where needed, so the dual solve never refuses it).
    """
    if oracle is not None:
        options = _extend_to_reach(options, oracle, "exposure")
    most = np.where(options.valid[:, :, None], options.exposure, -np.inf).max(axis=1).sum(axis=0)
    need = options.target * options.n_users * options.per_list
    reach = float(min(1.0, (most / need).min()))
    while reach > 0 and np.any(options.bound(reach) > most):  # the bound's own rounding
        reach = float(np.nextafter(reach, 0.0))
    return reach


def coupled_front(options: ArchiveOptions, oracle: PricedListOracle | None, levels,
                  config: DualConfig | None = None, rounds: int = 4, *,
                  goal: str = "exposure", advantaged=None):  # fmt: skip
    """Trace accuracy against a system-level goal, generating lists as prices demand.

    The archives alone may not reach strict levels (the per-user search never aimed at
    system goals). With an ``oracle`` the solve is column generation: first every user
    gets its list under a very high price on each constraint (the reach of every
    constraint), then at each level the dual is solved over the options, every user's
    best list under the dual's prices is added, and the dual is solved again, until the
    utility stops rising or ``rounds`` is spent. Without an oracle the options are the
    archives.

    Parameters
    ----------
    options : ArchiveOptions
        The users' archived lists (``archive_options``).
    oracle : PricedListOracle or None
        The pricing problem's solver; None: the archives only.
    levels : iterable of float
        ``goal="exposure"``: max-min share ratios to reach, each in ``[0, 1]`` (solved in
        ascending order); ``goal="consumer"``: the largest absolute gap allowed between
        the advantaged users' mean accuracy and the rest's (solved in descending order).
    config : DualConfig, optional
        Settings of each dual solve.
    rounds : int, default 4
        Most oracle calls per level.
    goal : {"exposure", "consumer"}, default "exposure"
        The system-level constraint.
    advantaged : array_like, optional
        ``(U,)`` bool user groups; required for ``goal="consumer"``.

    Returns
    -------
    front : pandas.DataFrame
        One row per level: ``level``, ``feasible``, ``violation``, ``min_share_ratio``,
        ``exposure_gap``, ``utility``, ``accuracy`` and ``ndcg`` (expected NDCG@K; means
        over users), ``gap`` (the consumer gap of expected NDCG@K, with ``advantaged``),
        ``rounds`` (of the last dual solve), ``options`` (lists per user), ``seconds``.
    choices : numpy.ndarray
        ``(L, U)`` option chosen per level.
    options : ArchiveOptions
        The final options (the chosen rows index them).

    Raises
    ------
    ValueError
        An unknown ``goal``, a missing or bad ``advantaged``, a level out of range or out
        of reach of every option (and of the oracle's lists), or ``rounds`` below 1.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    if goal not in GOALS:
        raise ValueError(f"goal must be one of {GOALS}, got {goal!r}")
    coef = None
    if advantaged is not None or goal == "consumer":
        if advantaged is None:
            raise ValueError("goal='consumer' needs advantaged, the (U,) bool user groups")
        coef = gap_coefficients(advantaged)
        if coef.shape != (options.n_users,):
            raise ValueError(f"advantaged must have one entry per user ({options.n_users})")
    price_coef = coef if goal == "consumer" else None
    if oracle is not None:
        options = _extend_to_reach(options, oracle, goal, price_coef)
    rows, choices, prices = [], [], None
    u = np.arange(options.n_users)
    for level in sorted((float(x) for x in levels), reverse=goal == "consumer"):
        t0 = time.perf_counter()
        best = None
        for _ in range(rounds if oracle is not None else 1):
            contrib, bound, unit = _constraints(options, goal, level, coef)
            try:
                res = dual_choice(options.utility, contrib, bound, valid=options.valid,
                                  config=config, prices=prices, scale=unit)  # fmt: skip
            except ValueError as err:
                if goal == "consumer" and "unreachable" in str(err):
                    raise ValueError(f"a consumer gap of at most {level} is out of reach of "
                                     "these lists; allow a larger gap") from None
                raise
            prices = res.prices
            if best is not None and res.utility <= best.utility + 1e-9 * abs(best.utility):
                best = res if res.feasible and not best.feasible else best
                break
            best = res
            if oracle is not None:
                options = oracle.extend(options, [prices], price_coef)
        shares = options.shares(best.choice)
        acc = options.accuracy[u, best.choice]
        ndcg = options.ndcg[u, best.choice]
        rows.append({
            "level": level, "feasible": best.feasible, "violation": best.violation,
            "min_share_ratio": min_share_ratio(shares, options.target),
            "exposure_gap": exposure_gap(shares, options.target),
            "utility": float(options.utility[u, best.choice].mean()),
            "accuracy": float(acc.mean()), "ndcg": float(ndcg.mean()),
            "gap": float(ndcg @ coef) if coef is not None else np.nan,
            "rounds": best.rounds, "options": int(options.valid.shape[1]),
            "seconds": time.perf_counter() - t0,
        })  # fmt: skip
        choices.append(best.choice)
    return pd.DataFrame(rows), np.stack(choices), options


def exposure_front(options: ArchiveOptions, levels, config: DualConfig | None = None):
    """Trace accuracy against the max-min exposure share by sweeping the level.

    Each level is a dual solve (``moopt.system.dual_choice``) warm-started from the
    previous level's prices; levels are solved in ascending order.

    Parameters
    ----------
    options : ArchiveOptions
        The users' options (``archive_options``).
    levels : iterable of float
        Max-min share ratios to reach, each in ``[0, 1]``.
    config : DualConfig, optional
        Settings of each dual solve.

    Returns
    -------
    front : pandas.DataFrame
        One row per level: ``level``, ``feasible``, ``violation``, ``min_share_ratio``,
        ``exposure_gap``, ``utility`` and ``accuracy`` (means over users), ``rounds`` (of
        the last dual solve), ``options`` (lists per user), ``seconds``.
    choices : numpy.ndarray
        ``(L, U)`` the option chosen for each user at each level (rows in ``front`` order).

    Raises
    ------
    ValueError
        A level outside ``[0, 1]``, or one no choice of archived lists reaches (the
        message says the most that can be reached).
    """
    front, choices, _ = coupled_front(options, None, levels, config)
    return front, choices


class ExposurePriceProblem(Problem):
    """Prices on the item groups' exposure as a pymoo problem: accuracy against max-min share.

    A point is one price per group; every user then shows its archived list maximising
    utility + prices . exposure (``moopt.system.priced_choice``). Both objectives are
    minimised: the negated mean accuracy and the negated max-min share ratio. So NSGA-II,
    Bayesian optimisation or any pymoo algorithm can search the system-level front that
    ``exposure_front`` traces by the dual.

    Parameters
    ----------
    options : ArchiveOptions
        The users' options.
    price_max : float, optional
        Upper bound of every price; default four times the mean per-user utility spread
        over the mean per-user exposure spread (prices beyond it change no choice in
        practice).
    """

    def __init__(self, options: ArchiveOptions, price_max: float | None = None) -> None:
        self.options = options
        if price_max is None:
            ok = options.valid
            r_spread = option_spread(options.utility, ok)
            c_spread = np.mean([option_spread(options.exposure[:, :, g], ok)
                                for g in range(options.exposure.shape[2])])  # fmt: skip
            price_max = 4.0 * r_spread / max(c_spread, 1e-12)
        if not np.isfinite(price_max) or price_max <= 0:
            raise ValueError(f"price_max must be positive, got {price_max}")
        g = options.exposure.shape[2]
        super().__init__(n_var=g, n_obj=2, xl=np.zeros(g), xu=np.full(g, float(price_max)))

    def _evaluate(self, X, out, *args, **kwargs):
        # every point's choice at once: (U, A, P) priced utilities, argmax over the lists
        o = self.options
        X = np.atleast_2d(X)
        priced = np.where(o.valid[:, :, None], o.utility[:, :, None] + o.exposure @ X.T, -np.inf)
        choice = priced.argmax(axis=1)  # (U, P)
        acc = np.take_along_axis(o.accuracy, choice, axis=1).mean(axis=0)
        totals = o.exposure[np.arange(o.n_users)[:, None], choice].sum(axis=0)  # (P, G)
        shares = totals / totals.sum(axis=1, keepdims=True)
        out["F"] = np.column_stack([-acc, [-min_share_ratio(sh, o.target) for sh in shares]])


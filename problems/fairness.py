"""System-level trade-offs: provider exposure against accuracy, over every user's archive.

The per-user engine leaves each user an archive of non-dominated lists
(``moopt.RerankResult``). Choosing one list per user so that item groups (providers) get
a fair share of the exposure couples every user; ``moopt.system.dual_choice`` reaches it
with one price per group. This module turns the archives into the arrays the dual solve
takes (``archive_options``), sweeps the exposure level to trace the front of accuracy
against the max-min share (``exposure_front``), and states the same trade-off as a pymoo
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
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pymoo.core.problem import Problem

from moopt.engine import RerankResult
from moopt.system import DualConfig, dual_choice, option_spread, priced_choice
from recommenders.metrics import exposure_gap, min_share_ratio, position_weights


@dataclass
class ArchiveOptions:
    """Every user's archived lists as options of the coupled choice.

    Parameters
    ----------
    utility : numpy.ndarray
        ``(U, A)`` the per-user utility of each archived list (the weighted objectives).
    accuracy : numpy.ndarray
        ``(U, A)`` the accuracy objective's value of each list.
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
    """

    utility: np.ndarray
    accuracy: np.ndarray
    exposure: np.ndarray
    valid: np.ndarray
    positions: np.ndarray
    target: np.ndarray
    per_list: float

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
        qs = np.take_along_axis(q[:, None, :], safe.reshape(n_users, 1, -1), axis=2)
        order = np.argsort(-qs.reshape(n_users, n_arch, k), axis=2, kind="stable")
        safe = np.take_along_axis(safe, order, axis=2)
    items = np.take_along_axis(res.candidates, safe.reshape(n_users, -1), axis=1)
    w = position_weights(k, discount)
    expo = np.einsum("uakg,k->uag", m[items.reshape(n_users, n_arch, k)], w)
    weights = np.array([float(utility.get(o, 0.0)) for o in res.objectives])
    F = np.where(valid[:, :, None], res.archive_F, 0.0)
    g = m.shape[1]
    t = np.full(g, 1.0 / g) if target is None else np.asarray(target, dtype=np.float64)
    if t.shape != (g,) or np.any(t <= 0) or not np.isclose(t.sum(), 1.0):
        raise ValueError(f"target must be {g} positive shares summing to 1")
    return ArchiveOptions(utility=F @ weights, accuracy=F[:, :, res.objectives.index(accuracy)],
                          exposure=expo, valid=valid, positions=safe, target=t,
                          per_list=float(w.sum()))  # fmt: skip


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
        ``exposure_gap``, ``utility`` and ``accuracy`` (means over users), ``rounds``,
        ``seconds``.
    choices : numpy.ndarray
        ``(L, U)`` the option chosen for each user at each level (rows in ``front`` order).

    Raises
    ------
    ValueError
        A level outside ``[0, 1]``, or one no choice of archived lists reaches (the
        message says the most that can be reached).
    """
    rows, choices, prices = [], [], None
    u = np.arange(options.n_users)
    for level in sorted(float(x) for x in levels):
        t0 = time.perf_counter()
        res = dual_choice(options.utility, options.exposure, options.bound(level),
                          valid=options.valid, config=config, prices=prices)  # fmt: skip
        prices = res.prices
        shares = options.shares(res.choice)
        rows.append({
            "level": level, "feasible": res.feasible, "violation": res.violation,
            "min_share_ratio": min_share_ratio(shares, options.target),
            "exposure_gap": exposure_gap(shares, options.target),
            "utility": float(options.utility[u, res.choice].mean()),
            "accuracy": float(options.accuracy[u, res.choice].mean()),
            "rounds": res.rounds, "seconds": time.perf_counter() - t0,
        })  # fmt: skip
        choices.append(res.choice)
    return pd.DataFrame(rows), np.stack(choices)


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
        o = self.options
        u = np.arange(o.n_users)
        F = np.empty((X.shape[0], 2))
        for i, lam in enumerate(np.atleast_2d(X)):
            choice = priced_choice(o.utility, o.exposure, lam, o.valid)
            F[i] = (-o.accuracy[u, choice].mean(), -min_share_ratio(o.shares(choice), o.target))
        out["F"] = F


"""Coupled choice under system-level constraints, by dual prices.

Every unit u (a user) picks one option a_u from its own finite set (its archive of
non-dominated lists); option a brings a utility ``r[u, a]`` and a contribution vector
``c[u, a]`` to G system-level totals (a provider group's exposure, say). The coupled
problem is the multiple-choice programme

    maximise  sum_u r[u, a_u]   subject to   sum_u c[u, a_u] >= b   (G constraints).

Its Lagrangian relaxation with prices lam >= 0 separates over units: each unit picks
``argmax_a r[u, a] + lam . c[u, a]`` on its own, and

    D(lam) = sum_u max_a (r[u, a] + lam . c[u, a]) - lam . b

bounds the optimum from above for every lam >= 0 (weak duality). D is convex and
piecewise linear with subgradient ``b - sum_u c[u, a_u(lam)]``; the prices follow the
projected subgradient method (Shor; Bertsekas, *Nonlinear Programming*, section 6.3),
lam <- max(0, lam - eta_t (sum_u c - b) / U) with eta_t = eta_0 / sqrt(t). This is the
dual scheme the provider-fairness re-rankers use one scalarisation at a time; here it
chooses among each user's archived lists, so one round costs a pass over the archives
and no search.

A discrete choice can leave a duality gap: a round's choice may miss a constraint by a
few units or overshoot it. The best feasible round (within ``tol``) is kept; when no
round was feasible, a repair switches units to options that add what is missing at the
least utility lost per unit added. A last pass spends any slack left: units switch to
better options, most utility gained per unit of slack used first, while every
constraint keeps holding.

Every pass over the options works on each unit's own row and reduces over units only
the per-unit results ((U,) or (U, G) arrays), so ``block=`` (units per pass) bounds the
temporaries at ``block x A x G`` and lets float32 inputs stay float32 (each block is
read as float64): any block size gives the same bits as one block of every unit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np

#: Relative shortfall that counts as rounding, whatever ``DualConfig.tol`` is.
ROUNDING = 1e-12


@dataclass(frozen=True)
class DualConfig:
    """Settings of ``dual_choice``.

    Parameters
    ----------
    rounds : int, default 300
        Most price updates.
    step : float, default 1.0
        eta_0 as a multiple of the scale ``utility spread / contribution spread**2``
        (both averaged over units), so the default suits any units of r and c.
    tol : float, default 0.01
        Relative violation accepted (at least ``ROUNDING``, 1e-12): constraint g holds when
        ``sum_u c[u, a_u, g] >= b_g - tol * max(|b_g|, scale_g)``, ``scale_g`` the mean
        absolute contribution times the number of units.
    patience : int, default 30
        Stop after this many rounds without a better feasible utility once one is
        feasible.
    """

    rounds: int = 300
    step: float = 1.0
    tol: float = 0.01
    patience: int = 30

    def __post_init__(self) -> None:
        for name in ("rounds", "patience"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not np.isfinite(self.step) or self.step <= 0:
            raise ValueError(f"step must be positive, got {self.step}")
        if not 0 <= self.tol < 1:
            raise ValueError(f"tol must be in [0, 1), got {self.tol}")


@dataclass
class DualResult:
    """The outcome of ``dual_choice``.

    Parameters
    ----------
    choice : numpy.ndarray
        ``(U,)`` int64 option chosen by each unit.
    prices : numpy.ndarray
        ``(G,)`` final prices, one per constraint.
    utility : float
        ``sum_u r[u, choice[u]]``.
    totals : numpy.ndarray
        ``(G,)`` ``sum_u c[u, choice[u]]``.
    bound : numpy.ndarray
        ``(G,)`` the constraints' right-hand sides b.
    violation : float
        Largest relative shortfall ``max_g max(0, b_g - totals_g) / scale_g`` (0 when
        every constraint holds).
    feasible : bool
        Every constraint holds within the tolerance.
    upper_bound : float
        The least dual value seen, an upper bound on the optimal utility.
    rounds : int
        Price updates made.
    history : dict of str to list of float
        Per round: ``dual`` value, ``utility`` and ``violation`` of that round's choice,
        and the round's wall ``seconds`` (choice, totals and price update).
    """

    choice: np.ndarray
    prices: np.ndarray
    utility: float
    totals: np.ndarray
    bound: np.ndarray
    violation: float
    feasible: bool
    upper_bound: float
    rounds: int
    history: dict[str, list[float]] = field(default_factory=dict)


def _blocks(n_units: int, block: int | None):
    """Consecutive slices of at most ``block`` units (one slice of every unit for None)."""
    step = n_units if block is None else block
    return [slice(s, min(s + step, n_units)) for s in range(0, n_units, step)]


def _rows(x: np.ndarray, s: slice) -> np.ndarray:
    """Rows ``s`` of an option array, as float64 unless it holds flags."""
    return x[s] if x.dtype == bool else np.asarray(x[s], dtype=np.float64)


def _at(x: np.ndarray, units, options) -> np.ndarray:
    """``x[units, options]`` as float64 (a gather: one row per unit)."""
    return np.asarray(x[units, options], dtype=np.float64)


def _per_unit(fn, block, *arrays):
    """``fn`` over the units' rows block by block, each output concatenated over blocks.

    ``fn`` takes the arrays' rows of a block (floating arrays as float64) and returns a
    tuple of per-unit arrays; its results for a unit depend on that unit's rows only.
    """
    parts = [fn(*(_rows(a, s) for a in arrays)) for s in _blocks(arrays[0].shape[0], block)]
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))


def _dot(c: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``c @ v`` over the last axis, summed in order of the axis: the same bits for any
    number of rows (a BLAS product may change its order with the shape)."""
    out = c[..., 0] * v[0]
    for g in range(1, c.shape[-1]):
        out += c[..., g] * v[g]
    return out


def _check_block(block) -> None:
    if block is not None and (isinstance(block, bool) or not isinstance(block, (int, np.integer))
                              or block < 1):  # fmt: skip
        raise ValueError(f"block must be a positive number of units or None, got {block!r}")


def _check(utility, contrib, bound, valid, block=None):
    _check_block(block)
    r, c = np.asarray(utility), np.asarray(contrib)
    if block is None or r.dtype not in (np.float32, np.float64):
        r = np.asarray(r, dtype=np.float64)
    if block is None or c.dtype not in (np.float32, np.float64):
        c = np.asarray(c, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] == 0 or r.shape[1] == 0:
        raise ValueError(f"utility must be a non-empty (units, options) array, got shape "
                         f"{r.shape}")  # fmt: skip
    if c.ndim != 3 or c.shape[:2] != r.shape or c.shape[2] == 0:
        raise ValueError(f"contrib must have shape {r.shape + ('G',)} (one contribution "
                         f"vector per option), got {c.shape}")  # fmt: skip
    b = np.asarray(bound, dtype=np.float64)
    if b.shape != (c.shape[2],) or not np.all(np.isfinite(b)):
        raise ValueError(f"bound must be {c.shape[2]} finite values, one per constraint, got "
                         f"shape {b.shape}")  # fmt: skip
    if valid is None:
        ok = np.ones(r.shape, dtype=bool)
    else:
        ok = np.asarray(valid)
        if ok.shape != r.shape or ok.dtype != bool:
            raise ValueError(f"valid must be a bool array of shape {r.shape}")
    if not ok.any(axis=1).all():
        raise ValueError("every unit needs at least one valid option; drop empty units")
    for s in _blocks(r.shape[0], block):
        if not (np.all(np.isfinite(r[s][ok[s]])) and np.all(np.isfinite(c[s][ok[s]]))):
            raise ValueError("utility and contrib must be finite on the valid options")
    return r, c, b, ok


def _ranges(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Per unit: the range of ``x`` over its valid options."""
    return np.where(ok, x, -np.inf).max(axis=1) - np.where(ok, x, np.inf).min(axis=1)


def option_spread(x, valid) -> float:
    """Mean over units of the range of a value across the unit's valid options.

    The natural unit of prices: a price of (utility spread) / (contribution spread)
    makes a typical unit indifferent between its extreme options.

    Parameters
    ----------
    x : array_like
        ``(U, A)`` a value (utility, or one contribution) of every option.
    valid : array_like
        ``(U, A)`` bool, every unit with at least one True.

    Returns
    -------
    float
        ``mean_u (max_a x[u, a] - min_a x[u, a])`` over valid options.

    Examples
    --------
    >>> option_spread([[1.0, 3.0], [2.0, 9.0]], [[True, True], [True, False]])
    1.0
    """
    return float(np.mean(_ranges(np.asarray(x, dtype=np.float64), np.asarray(valid, dtype=bool))))


def priced_choice(utility, contrib, prices, valid=None, block: int | None = None) -> np.ndarray:
    """Each unit's best option once the prices are added: ``argmax_a r[u, a] + lam . c[u, a]``.

    Parameters
    ----------
    utility : array_like
        ``(U, A)`` utility of each option.
    contrib : array_like
        ``(U, A, G)`` contribution of each option to the G totals.
    prices : array_like
        ``(G,)`` non-negative prices.
    valid : numpy.ndarray, optional
        ``(U, A)`` bool, False for padding options (an archive shorter than A).
    block : int, optional
        Units per pass (float32 arrays then stay float32); the same choice for any value.

    Returns
    -------
    numpy.ndarray
        ``(U,)`` int64 chosen option (the lowest index among equals).

    Raises
    ------
    ValueError
        Shapes that disagree, non-finite values on valid options, negative prices, a
        unit without a valid option, or a ``block`` that is not a positive integer.

    Examples
    --------
    >>> r = np.array([[1.0, 0.6]]); c = np.array([[[0.0], [1.0]]])
    >>> priced_choice(r, c, [0.3]), priced_choice(r, c, [0.5])
    (array([0]), array([1]))
    """
    r, c, _, ok = _check(utility, contrib, np.zeros(np.shape(contrib)[-1]), valid, block)
    lam = np.asarray(prices, dtype=np.float64)
    if lam.shape != (c.shape[2],) or not np.all(np.isfinite(lam)) or np.any(lam < 0):
        raise ValueError(f"prices must be {c.shape[2]} finite non-negative values")
    return _choose(r, c, lam, ok, block)


def _choose(r, c, lam, ok, block=None) -> np.ndarray:
    return _per_unit(lambda rb, cb, okb: (np.argmax(np.where(okb, rb + _dot(cb, lam), -np.inf),
                                                    axis=1),), block, r, c, ok)[0]  # fmt: skip


def dual_choice(utility, contrib, bound, valid=None, config: DualConfig | None = None,
                prices=None, scale=None, block: int | None = None) -> DualResult:  # fmt: skip
    """Choose one option per unit to maximise total utility subject to ``sum c >= bound``.

    Projected subgradient descent on the Lagrangian dual (module docstring), the best
    feasible round kept, then a greedy repair of any remaining shortfall.

    Parameters
    ----------
    utility : array_like
        ``(U, A)`` utility of each unit's options.
    contrib : array_like
        ``(U, A, G)`` contribution of each option to the G constrained totals. An upper
        bound ``sum c <= d`` is the lower bound ``sum (-c) >= -d``.
    bound : array_like
        ``(G,)`` right-hand sides b.
    valid : numpy.ndarray, optional
        ``(U, A)`` bool, False for padding options.
    config : DualConfig, optional
        Rounds, step, tolerance, patience.
    prices : array_like, optional
        ``(G,)`` starting prices (a warm start from a neighbouring bound); default 0.
    scale : array_like, optional
        ``(G,)`` positive unit of each constraint's violation (``tol`` is relative to it);
        default ``max(|b_g|, mean_{u,a} |c[u, a, g]| * U)``. Give the bound's own size
        when the totals are differences that are small next to the contributions (a gap
        between two groups' means, say).
    block : int, optional
        Units per pass over the options: temporaries of ``block x A x G`` instead of
        ``U x A x G``, and float32 ``utility``/``contrib`` are not copied to float64. The
        result is the same, bit for bit, for every block size.

    Returns
    -------
    DualResult
        The choice, prices, totals, violation, feasibility and the dual upper bound.

    Raises
    ------
    ValueError
        Shapes that disagree, non-finite values, a unit without a valid option, or a
        bound no choice can reach (``sum_u max_a c[u, a, g] < b_g`` for some g): the
        message names the constraint and the most it can reach; a ``block`` that is not a
        positive integer.

    Examples
    --------
    Three users, each keeping its top list (utility 1, contribution 0) or a list that
    adds 1 at a cost of 0.1, 0.3 or 0.2; two units are needed, so the two cheapest pay:

    >>> r = np.array([[1.0, 0.9], [1.0, 0.7], [1.0, 0.8]])
    >>> c = np.array([[[0.0], [1.0]], [[0.0], [1.0]], [[0.0], [1.0]]])
    >>> res = dual_choice(r, c, [2.0])
    >>> res.choice, round(res.utility, 6), res.feasible
    (array([1, 0, 1]), 2.7, True)
    """
    cfg = config or DualConfig()
    r, c, b, ok = _check(utility, contrib, bound, valid, block)
    n_units, n_opts, n_con = c.shape
    reach = _per_unit(lambda cb, okb: (np.where(okb[:, :, None], cb, -np.inf).max(axis=1),),
                      block, c, ok)[0].sum(axis=0)  # fmt: skip
    short = np.flatnonzero(reach < b)
    if short.size:
        g = int(short[0])
        raise ValueError(f"bound[{g}] = {b[g]:.6g} is unreachable: the most any choice gives "
                         f"is {reach[g]:.6g}; lower the target")  # fmt: skip
    if scale is None:
        size = _per_unit(lambda cb, okb: (np.abs(np.where(okb[:, :, None], cb, 0.0)).sum(axis=1),),
                         block, c, ok)[0].sum(axis=0) / (n_units * n_opts)  # fmt: skip
        scale = np.maximum(np.abs(b), size * n_units)
        scale = np.where(scale > 0, scale, 1.0)
    else:
        scale = np.asarray(scale, dtype=np.float64)
        if scale.shape != (n_con,) or not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise ValueError(f"scale must be {n_con} positive finite values")
    spreads = _per_unit(lambda rb, cb, okb: (_ranges(rb, okb),
                                             *(_ranges(cb[:, :, g], okb) for g in range(n_con))),
                        block, r, c, ok)  # fmt: skip
    c_spread = np.mean([np.mean(x) for x in spreads[1:]])
    eta0 = cfg.step * max(float(np.mean(spreads[0])), 1e-12) / max(c_spread, 1e-12) ** 2
    lam = np.zeros(n_con) if prices is None else np.asarray(prices, dtype=np.float64).copy()
    if lam.shape != (n_con,) or np.any(lam < 0) or not np.all(np.isfinite(lam)):
        raise ValueError(f"prices must be {n_con} finite non-negative values")
    # a bound met to rounding is met: totals summed in another order differ in the last bits
    tol = max(cfg.tol, ROUNDING)
    rows = np.arange(n_units)
    hist: dict[str, list[float]] = {"dual": [], "utility": [], "violation": [], "seconds": []}
    best, best_u, upper, since = None, -np.inf, np.inf, 0
    t = 0
    for t in range(1, cfg.rounds + 1):
        start = time.perf_counter()
        choice = _choose(r, c, lam, ok, block)
        tot = _at(c, rows, choice).sum(axis=0)
        util = float(_at(r, rows, choice).sum())
        dual = util + float(lam @ (tot - b))
        viol = float(np.max(np.maximum(0.0, b - tot) / scale))
        upper = min(upper, dual)
        hist["dual"].append(dual)
        hist["utility"].append(util)
        hist["violation"].append(viol)
        feasible_better = viol <= tol and util > best_u
        if feasible_better:
            best, best_u, since = choice.copy(), util, 0
        new_lam = np.maximum(0.0, lam - eta0 / np.sqrt(t) * (tot - b) / n_units)
        hist["seconds"].append(time.perf_counter() - start)
        if not feasible_better and best is not None:
            since += 1
            if since >= cfg.patience:
                break
        lam = new_lam
    if best is None:
        best = _repair(r, c, b, ok, _choose(r, c, lam, ok, block), scale, tol, block)
        best = _repair_single(r, c, b, ok, best, scale, tol, block)
    best = _tighten(r, c, b, ok, best, scale, tol, block)
    tot = _at(c, rows, best).sum(axis=0)
    viol = float(np.max(np.maximum(0.0, b - tot) / scale))
    return DualResult(choice=best, prices=lam, utility=float(_at(r, rows, best).sum()),
                      totals=tot, bound=b, violation=viol, feasible=viol <= tol,
                      upper_bound=upper, rounds=t, history=hist)  # fmt: skip


def _repair(r, c, b, ok, choice, scale, tol, block=None) -> np.ndarray:
    """Switch units, cheapest utility per unit of shortfall covered first, until feasible."""
    choice = choice.copy()
    rows = np.arange(r.shape[0])
    for _ in range(r.shape[0]):
        cur = _at(c, rows, choice)
        tot = cur.sum(axis=0)
        need = np.maximum(0.0, b - tot)
        if np.max(need / scale) <= tol:
            break
        w = need / scale  # what is still missing, in relative units
        alt, best_ratio = _per_unit(partial(_cover, w=w / max(w.sum(), 1e-300), scale=scale),
                                    block, r, c, ok, cur, _at(r, rows, choice))  # fmt: skip
        order = np.argsort(best_ratio, kind="stable")
        order = order[np.isfinite(best_ratio[order])]
        if order.size == 0:
            break
        # switch the cheapest units, as many as lower the total shortfall most: a prefix
        # that covers one constraint may break another (opposite constraints, such as a
        # gap bounded on both sides), so the prefix is chosen by the shortfall it leaves
        gains = _at(c, order, alt[order]) - cur[order]
        after = np.maximum(0.0, b - (tot + np.cumsum(gains, axis=0))) / scale
        left = after.sum(axis=1)
        n = int(np.argmin(left)) + 1
        if left[n - 1] >= (need / scale).sum() - 1e-15:
            break  # no prefix lowers the shortfall: give up
        choice[order[:n]] = alt[order[:n]]
    return choice


def _cover(rb, cb, okb, cur_b, r_b, *, w, scale):
    """Per unit: the option losing the least utility per unit of weighted shortfall covered."""
    gain = _dot((cb - cur_b[:, None, :]) / scale, w)
    loss = r_b[:, None] - rb
    ratio = np.where(okb & (gain > 1e-15), loss / np.where(gain > 1e-15, gain, 1.0), np.inf)
    alt = np.argmin(ratio, axis=1)
    return alt, ratio[np.arange(alt.size), alt]


def _left(cb, okb, cur_b, *, tot, b, scale):
    """The shortfall left after each single switch of each unit."""
    new_tot = tot + (cb - cur_b[:, None, :])
    return np.where(okb, (np.maximum(0.0, b - new_tot) / scale).sum(axis=2), np.inf)


def _least_left(cb, okb, cur_b, **kw):
    return (_left(cb, okb, cur_b, **kw).min(axis=1),)


def _least_loss(rb, cb, okb, cur_b, r_b, *, best, **kw):
    """Per unit: the least utility lost among switches leaving at most ``best`` shortfall."""
    loss = np.where(_left(cb, okb, cur_b, **kw) <= best + 1e-15, r_b[:, None] - rb, np.inf)
    return loss.min(axis=1), np.argmin(loss, axis=1)


def _repair_single(r, c, b, ok, choice, scale, tol, block=None,
                   max_steps: int = 10_000) -> np.ndarray:  # fmt: skip
    """One switch at a time: the one leaving the least shortfall (then losing the least
    utility), while the shortfall falls; fine steps where batches overshoot."""
    choice = choice.copy()
    rows = np.arange(r.shape[0])
    tot = _at(c, rows, choice).sum(axis=0)
    short = float((np.maximum(0.0, b - tot) / scale).sum())
    for _ in range(max_steps):
        if np.max(np.maximum(0.0, b - tot) / scale) <= tol:
            break
        cur, r_cur = _at(c, rows, choice), _at(r, rows, choice)
        kw = {"tot": tot, "b": b, "scale": scale}
        least = _per_unit(partial(_least_left, **kw), block, c, ok, cur)[0]
        best = float(least.min())
        if best >= short - 1e-15:
            break
        # the first unit of least loss, then its first option: the row-major argmin
        near = np.flatnonzero(least <= best + 1e-15)
        loss, alt = _per_unit(partial(_least_loss, best=best, **kw), block, r[near], c[near],
                              ok[near], cur[near], r_cur[near])  # fmt: skip
        j = int(np.argmin(loss))
        u, a = int(near[j]), int(alt[j])
        tot = tot + _at(c, u, a) - cur[u]
        choice[u] = a
        short = best
    return choice


def _best_switch(rb, cb, okb, cur_b, r_b, *, slack, scale):
    """Per unit: the switch gaining the most utility per unit of slack used, among those
    that fit the slack; its ratio, what it takes from each total, and whether any fits."""
    gain = rb - r_b[:, None]
    use = np.maximum(0.0, cur_b[:, None, :] - cb)  # what a switch takes from each total
    fits = okb & (gain > 1e-12) & np.all(use <= slack + 1e-12, axis=2)
    cost = (use / scale).sum(axis=2)
    ratio = np.where(fits, gain / np.maximum(cost, 1e-300), -np.inf)
    alt = np.argmax(ratio, axis=1)
    at = np.arange(alt.size)
    return alt, ratio[at, alt], use[at, alt], fits.any(axis=1)


def _tighten(r, c, b, ok, choice, scale, tol, block=None) -> np.ndarray:
    """Spend the slack of a feasible choice on the switches that gain the most utility."""
    choice = choice.copy()
    rows = np.arange(r.shape[0])
    floor = b - tol * scale
    for _ in range(r.shape[0]):
        cur = _at(c, rows, choice)
        slack = cur.sum(axis=0) - floor
        if np.any(slack < 0):
            break
        alt, ratio, use, fits = _per_unit(partial(_best_switch, slack=slack, scale=scale), block,
                                          r, c, ok, cur, _at(r, rows, choice))  # fmt: skip
        if not fits.any():
            break
        cand = np.flatnonzero(np.isfinite(ratio))
        cand = cand[np.argsort(-ratio[cand], kind="stable")]
        taken = np.cumsum(use[cand], axis=0)
        n = int(np.argmin(np.all(taken <= slack + 1e-12, axis=1))) if not np.all(
            taken <= slack + 1e-12) else cand.size  # fmt: skip
        n = max(n, 1)  # the first switch fits on its own
        choice[cand[:n]] = alt[cand[:n]]
    return choice

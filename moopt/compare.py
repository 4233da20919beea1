"""Solvers compared head to head on one problem under one budget.

Every solver is a pymoo ``Algorithm`` (NSGA-II, :class:`moopt.algorithms.MGDA`,
:class:`moopt.algorithms.BayesOpt`, ...) run by pymoo's own ``minimize`` with the same
termination: a number of evaluations or of seconds. After every generation a callback
merges the algorithm's population into a non-dominated archive of everything it has
kept, so the hypervolume can be followed against evaluations. All hypervolumes use one
reference point shared by the solvers (given, or the worst archived value per objective
plus 10% of its range). A solver that cannot handle the problem (MGDA on a problem
without gradients, say) gets a row with its error rather than stopping the comparison.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pymoo.core.algorithm import Algorithm
from pymoo.core.callback import Callback
from pymoo.indicators.hv import HV
from pymoo.optimize import minimize
from pymoo.termination.max_eval import MaximumFunctionCallTermination
from pymoo.termination.max_time import TimeBasedTermination
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
from tqdm.auto import tqdm


def nondominated(F: np.ndarray) -> np.ndarray:
    """The non-dominated rows of ``F`` (minimisation), duplicates kept once."""
    F = np.unique(np.asarray(F, dtype=float), axis=0)
    if len(F) <= 1:
        return F
    return F[NonDominatedSorting().do(F, only_non_dominated_front=True)]


class _Archive(Callback):
    """Records (evaluations, seconds, archive) after every generation."""

    def __init__(self, bar=None, by_time: bool = False) -> None:
        super().__init__()
        self.start = time.perf_counter()
        self.front = np.zeros((0, 0))
        self.trace: list[tuple[int, float, np.ndarray]] = []
        self.bar, self.by_time = bar, by_time

    def notify(self, algorithm) -> None:
        F = algorithm.pop.get("F")
        if F is None or len(F) == 0:
            return
        F = np.asarray(F, dtype=float)
        feasible = algorithm.pop.get("FEAS")
        if feasible is not None:
            F = F[np.asarray(feasible).ravel()] if np.any(feasible) else F[:0]
        merged = F if self.front.size == 0 else np.vstack([self.front, F])
        self.front = nondominated(merged) if len(merged) else merged
        self.trace.append((int(algorithm.evaluator.n_eval), time.perf_counter() - self.start,
                           self.front.copy()))  # fmt: skip
        if self.bar is not None:
            done = self.trace[-1][1] if self.by_time else self.trace[-1][0]
            self.bar.update(min(done, self.bar.total) - self.bar.n)


@dataclass
class Comparison:
    """What :func:`compare` returns: ``table`` (one row per solver), per-solver ``curves``
    (evaluations, seconds, hypervolume) and final ``fronts``, and the ``ref_point``."""

    table: pd.DataFrame
    curves: dict[str, pd.DataFrame]
    fronts: dict[str, np.ndarray]
    ref_point: np.ndarray
    results: dict = field(default_factory=dict)

    def plot_hypervolume(self, x: str = "evaluations"):
        """Hypervolume against evaluations (or ``x="seconds"``), one line per solver."""
        from .plots import plot_curves

        curves = {name: (c[x].to_numpy(), c["hypervolume"].to_numpy())
                  for name, c in self.curves.items() if len(c)}  # fmt: skip
        return plot_curves(curves, x, "hypervolume", title="hypervolume during the run")

    def plot_fronts(self, names=None):
        """Final non-dominated points of every solver, objectives pairwise."""
        from itertools import combinations

        from .plots import _figure

        m = len(self.ref_point)
        pairs = list(combinations(range(m), 2)) or [(0, 0)]
        fig, axes = _figure(len(pairs))
        for ax, (a, b) in zip(axes, pairs, strict=True):
            for name, F in self.fronts.items():
                if len(F):
                    ax.scatter(F[:, a], F[:, b], s=16, label=name)
            ax.set_xlabel(names[a] if names else f"f{a + 1}")
            ax.set_ylabel(names[b] if names else f"f{b + 1}")
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        return fig


def compare(
    problem,
    solvers: Mapping[str, Algorithm],
    budget: int | float = 100,
    budget_type: str = "evaluations",
    seed: int = 0,
    ref_point: np.ndarray | None = None,
    verbose: bool = False,
    progress: bool = False,
) -> Comparison:
    """Run every solver on ``problem`` under the same budget and compare them.

    Parameters
    ----------
    problem:
        A pymoo ``Problem``. Each solver gets its own copy, so a problem that keeps state
        between evaluations (a warm start, a history) starts afresh for every solver;
        ``Comparison.results[name].problem`` is the copy that solver used.
    solvers:
        Name -> pymoo ``Algorithm`` (copied before running, so one instance can be reused).
    budget, budget_type:
        ``"evaluations"`` (problem evaluations, as pymoo's evaluator counts them) or
        ``"seconds"`` of wall time.
    ref_point:
        Hypervolume reference point (minimisation); default: the worst archived value of
        each objective plus 10% of its range, over all solvers.
    verbose, progress:
        pymoo's per-generation display; a tqdm bar per solver over the budget.

    Returns
    -------
    Comparison
        ``.table`` columns: solver, status, evaluations, seconds, hypervolume, n_front and
        ``best f1..fM`` (the best archived value of each objective).
    """
    if not solvers:
        raise ValueError("solvers is empty; pass a mapping of names to pymoo algorithms")
    if budget_type not in ("evaluations", "seconds"):
        raise ValueError(f"budget_type must be 'evaluations' or 'seconds', got {budget_type!r}")
    if not budget > 0:
        raise ValueError(f"budget must be positive, got {budget}")
    runs = {}
    for name, algorithm in solvers.items():
        if not isinstance(algorithm, Algorithm):
            raise TypeError(f"solver {name!r} must be a pymoo Algorithm, got {type(algorithm)}")
        term = (MaximumFunctionCallTermination(int(budget)) if budget_type == "evaluations"
                else TimeBasedTermination(float(budget)))  # fmt: skip
        unit = "eval" if budget_type == "evaluations" else "s"
        bar = tqdm(total=budget, desc=name, unit=unit, disable=not progress, leave=False)
        archive = _Archive(bar, by_time=budget_type == "seconds")
        t0 = time.perf_counter()
        try:
            res = minimize(copy.deepcopy(problem), copy.deepcopy(algorithm), term, seed=seed,
                           callback=archive, verbose=verbose)  # fmt: skip
            status = "ok"
        except (ValueError, TypeError) as exc:
            res, status = None, f"error: {exc}"
        finally:
            bar.close()
        runs[name] = (res, archive, time.perf_counter() - t0, status)

    fronts = {n: a.front for n, (_, a, _, _) in runs.items() if a.front.size}
    if ref_point is None:
        if not fronts:
            errors = "; ".join(f"{n}: {r[3]}" for n, r in runs.items())
            raise ValueError(f"no solver produced any solution ({errors})")
        allF = np.vstack(list(fronts.values()))
        lo, hi = allF.min(axis=0), allF.max(axis=0)
        ref_point = hi + 0.1 * np.where(hi > lo, hi - lo, 1.0)
    ref_point = np.asarray(ref_point, dtype=float)
    hv = HV(ref_point=ref_point)

    rows, curves = [], {}
    for name, (_res, archive, seconds, status) in runs.items():
        trace = archive.trace
        curves[name] = pd.DataFrame(
            [{"evaluations": e, "seconds": s, "hypervolume": float(hv(F)) if len(F) else 0.0}
             for e, s, F in trace]
        )  # fmt: skip
        front = archive.front
        row = {"solver": name, "status": status,
               "evaluations": trace[-1][0] if trace else 0, "seconds": seconds,
               "hypervolume": float(hv(front)) if front.size else 0.0,
               "n_front": len(front)}  # fmt: skip
        for j in range(problem.n_obj):
            row[f"best f{j + 1}"] = float(front[:, j].min()) if front.size else np.nan
        rows.append(row)
    return Comparison(pd.DataFrame(rows), curves, fronts, ref_point,
                      {n: r[0] for n, r in runs.items()})  # fmt: skip

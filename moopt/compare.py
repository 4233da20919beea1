"""Solvers compared head to head on one problem under one budget, over several seeds.

Every solver is a pymoo ``Algorithm`` (NSGA-II, ``moopt.algorithms.MGDA``,
``moopt.algorithms.BayesOpt``, ``moopt.algorithms.MOBO``, ...) run by pymoo's
own ``minimize`` with the same termination: a number of evaluations or of seconds. After
every generation a callback merges the algorithm's population into a non-dominated
archive of everything it has kept, so the hypervolume can be followed against
evaluations (or seconds).

Budgets are charged honestly: pymoo stops a run at the end of the generation that
crosses an evaluation budget, so a population-based solver may evaluate more than the
budget; every final number is read off the archive at the last generation that fits in
the budget (``evaluations``), and ``evaluations_spent`` says what the run used in all.
Before anything runs, a solver whose first generation cannot fit is refused: its
``n_initial`` or ``pop_size``, and for a solver that says how many evaluations each of its
starts costs (``moopt.algorithms.MGDA.evaluations_per_start``: one plus 2 n_var
finite-difference probes) starts times that. A run whose first generation still ends
past the budget is an error row, never scored; curves stop at the budget.

All hypervolumes of one comparison share one reference point (given, or the worst
archived value per objective over every solver and seed plus 10% of its range; where an
objective took one value only, 10% of that value's magnitude, at least 1e-8, so the
point stays in the problem's units). Where the problem knows its Pareto front (pymoo's
ZDT and DTLZ problems, the two-objective quadratics), the inverted generational distance
(IGD) to it is reported too.

With several seeds every solver runs once per seed; the table gives the mean and a
t-based 95% CI of each indicator (``moopt.stats.mean_ci``), the curves get
confidence bands, and the two best solvers by mean hypervolume (and by IGD) are compared
by a paired t-test over seeds (``moopt.stats.paired_over_seeds``).

A run that fails, whatever it raises (a solver that cannot handle the problem, a BoTorch
fitting error, a ``FloatingPointError`` from a training problem, non-finite objective
values, which are an error for every solver), gets a row in ``runs`` with its error and
no indicators, and the comparison goes on. The summary's means are over the runs that
finished (``seeds``), and it says how many failed (``runs_failed``) and how many
finished with an empty front (``runs_empty``: hypervolume 0, IGD infinite, and then the
mean IGD is infinite too), so no mean is over a silent subset.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pymoo.core.algorithm import Algorithm
from pymoo.core.callback import Callback
from pymoo.indicators.hv import HV
from pymoo.indicators.igd import IGD
from pymoo.optimize import minimize
from pymoo.termination.max_eval import MaximumFunctionCallTermination
from pymoo.termination.max_time import TimeBasedTermination
from tqdm.auto import tqdm

from . import stats
from .indicators import (
    _nondominated_index,
    known_front,
    nondominated,  # noqa: F401 - moopt.compare.nondominated, as before
    reference_point,
)


class _Archive(Callback):
    """Records (evaluations, seconds, archive F, archive X) after every generation.

    The progress bar is the run's only: it is dropped from the archive once the run ends
    (``__getstate__`` leaves it out too), so a result holding the archive pickles."""

    def __init__(self, bar=None, by_time: bool = False) -> None:
        super().__init__()
        self.start = time.perf_counter()
        self.front = np.zeros((0, 0))
        self.front_X = np.zeros((0, 0))
        self.trace: list[tuple[int, float, np.ndarray, np.ndarray]] = []
        self.bar, self.by_time = bar, by_time

    def __getstate__(self) -> dict:
        return {**self.__dict__, "bar": None}

    def notify(self, algorithm) -> None:
        F = algorithm.pop.get("F")
        if F is None or len(F) == 0:
            return
        F = np.asarray(F, dtype=float)
        X = np.asarray(algorithm.pop.get("X")).reshape(len(F), -1)
        feasible = algorithm.pop.get("FEAS")
        if feasible is not None:
            keep = np.asarray(feasible).ravel() if np.any(feasible) else np.zeros(len(F), bool)
            F, X = F[keep], X[keep]
        if self.front.size:
            F, X = np.vstack([self.front, F]), np.vstack([self.front_X, X])
        if len(F):
            idx = _nondominated_index(F)
            F, X = F[idx], X[idx]
        self.front, self.front_X = F, X
        self.trace.append((int(algorithm.evaluator.n_eval), time.perf_counter() - self.start,
                           F.copy(), X.copy()))  # fmt: skip
        if self.bar is not None:
            done = self.trace[-1][1] if self.by_time else self.trace[-1][0]
            self.bar.update(min(done, self.bar.total) - self.bar.n)

    def within(self, budget: float, budget_type: str) -> tuple | None:
        """The last record (evaluations, seconds, F, X) that fits in an evaluation budget
        (None if none does); with a budget in seconds the last record (pymoo's time limit
        is already per generation). A run with no record at all gives (0, 0.0, an empty
        front, no decision vectors)."""
        if not self.trace:
            return 0, 0.0, np.zeros((0, 0)), np.zeros((0, 0))
        if budget_type == "seconds":
            return self.trace[-1]
        fits = [rec for rec in self.trace if rec[0] <= budget]
        return fits[-1] if fits else None


def _check_finite(pop) -> None:
    """Evaluator callback: non-finite objectives stop the run, for every solver."""
    F = pop.get("F")
    if F is None or len(F) == 0:
        return
    F = np.asarray(F, dtype=float)
    bad = ~np.isfinite(F).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"the problem returned non-finite objectives {F[i].tolist()} at x = "
            f"{np.asarray(pop.get('X'))[i].tolist()}; fix the problem (a NaN or inf is no "
            "objective value any solver can rank)"
        )


class _FiniteCheck:
    """The evaluator callback of a run: ``_check_finite``, then the algorithm's own
    callback (a class, not a closure, so that the run's result pickles)."""

    def __init__(self, previous=None) -> None:
        self.previous = previous

    def __call__(self, pop) -> None:
        _check_finite(pop)
        if self.previous is not None:
            self.previous(pop)


def initial_design(algorithm: Algorithm, problem=None) -> int | None:
    """Return the evaluations ``algorithm`` spends before it can adapt (None when unknown).

    Parameters
    ----------
    algorithm : pymoo.core.algorithm.Algorithm
        The solver: ``n_initial`` of the Bayesian optimisers, ``pop_size`` of the others.
    problem : pymoo.core.problem.Problem, optional
        For solvers with ``evaluations_per_start(problem)`` (MGDA): starts times that.

    Returns
    -------
    int or None
        The evaluations of the first generation, gradient probes included.
    """
    per_start = getattr(algorithm, "evaluations_per_start", None)
    if problem is not None and callable(per_start) and hasattr(algorithm, "n_starts"):
        return int(algorithm.n_starts) * int(per_start(problem))
    for attr in ("n_initial", "pop_size"):
        value = getattr(algorithm, attr, None)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
    return None


def _refusal(name: str, algorithm, problem, need: int, budget: float) -> str:
    """Why a solver cannot start within the budget, and what to change."""
    per_start = getattr(algorithm, "evaluations_per_start", None)
    if callable(per_start) and hasattr(algorithm, "n_starts"):
        each = int(per_start(problem))
        fit = int(budget // each)
        probes = f", {each - 1} of them gradient probes" if each > 1 else ""
        fix = (f"lower pop_size to {fit} or raise the budget" if fit >= 1 else
               f"raise the budget to at least {each}")  # fmt: skip
        starts = f"{algorithm.n_starts} start{'s' if algorithm.n_starts > 1 else ''}"
        return (f"solver {name!r} needs {need} evaluations for its first generation "
                f"({starts} x {each} evaluations{probes}) but the budget is {budget:g}; "
                f"{fix}")  # fmt: skip
    return (f"solver {name!r} needs {need} evaluations for its initial design but the "
            f"budget is {budget:g}; raise the budget or shrink n_initial / pop_size")


def _seed_list(seed: int, seeds) -> list[int]:
    if seeds is None:
        return [int(seed)]
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be at least 1 (the number of runs per solver), "
                             f"got {seeds}")  # fmt: skip
        return [int(seed) + i for i in range(int(seeds))]
    if isinstance(seeds, Sequence) and not isinstance(seeds, str):
        out = [int(s) for s in seeds]
        if not out:
            raise ValueError("seeds is an empty list; pass a number of seeds or their values")
        if len(set(out)) != len(out):
            raise ValueError(f"seeds has repeated values {out}; each seed once")
        return out
    raise TypeError(f"seeds must be an int (how many) or a list of ints, got {type(seeds)}")


@dataclass
class Comparison:
    """What ``compare`` returns.

    ``save`` writes it to a folder (the layout of ``moopt compare --out``) and
    ``load`` reads such a folder back; pickling works too.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per solver: status, ``seeds`` (runs that finished), ``runs_failed``,
        ``runs_empty`` (finished with an empty front), ``evaluations`` (within
        the budget) and ``evaluations_spent``, ``seconds`` (wall time per run),
        ``hypervolume`` and ``igd`` (when the front is known), ``n_front``, ``best f1..fM``,
        ``gradients`` (where a solver's gradients came from, for MGDA);
        all means over seeds, and with several seeds ``hypervolume_ci_low/high`` (and
        ``igd_ci_low/high``): the 95% t interval of the mean.
    runs : pandas.DataFrame
        One row per (solver, seed) with the same indicators; a failed run has its error
        in ``status`` and no indicators.
    curves : dict of str to pandas.DataFrame
        Solver -> DataFrame (seed, evaluations, seconds, hypervolume[, igd]) after every
        generation.
    bands : dict of str to pandas.DataFrame
        Solver -> DataFrame (x, mean, ci_low, ci_high) of the hypervolume on a grid of
        evaluations (or seconds) shared by the seeds; the CI is zero-width with one seed.
    fronts : dict of str to numpy.ndarray
        Solver -> final non-dominated points of the first seed; ``fronts_by_seed`` has all.
    significance : pandas.DataFrame
        The two best solvers by mean hypervolume (and by IGD) compared by a paired t-test
        over seeds: a, b, diff (a - b), its CI, t, p, Cohen's d. Empty with one seed.
    fronts_by_seed, fronts_X_by_seed : dict of str to list of numpy.ndarray
        Solver -> one array per seed (in ``seeds`` order) of the final front's objective
        values (n, n_obj) and decision vectors (n, n_var); an empty or failed run has
        (0, n_obj) and (0, n_var).
    ref_point, pareto_front : numpy.ndarray
        The hypervolume reference point (M,) and the known front (or None).
    budget, budget_type, seeds, alpha : float, str, list of int, float
        The settings of ``compare``.
    results : dict
        Solver -> the first seed's pymoo ``Result`` (not saved by ``save``).
    record : dict
        Empty; in a loaded comparison, its ``comparison.json`` (problem, settings,
        package versions, ...).
    """

    table: pd.DataFrame
    curves: dict[str, pd.DataFrame]
    fronts: dict[str, np.ndarray]
    ref_point: np.ndarray
    results: dict = field(default_factory=dict)
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    bands: dict[str, pd.DataFrame] = field(default_factory=dict)
    significance: pd.DataFrame = field(default_factory=pd.DataFrame)
    fronts_by_seed: dict[str, list[np.ndarray]] = field(default_factory=dict)
    pareto_front: np.ndarray | None = None
    budget_type: str = "evaluations"
    fronts_X_by_seed: dict[str, list[np.ndarray]] = field(default_factory=dict)
    budget: float | None = None
    seeds: list[int] = field(default_factory=list)
    alpha: float = 0.05
    record: dict = field(default_factory=dict)

    def save(self, folder, problem: str | None = None, settings: Mapping | None = None) -> list:
        """Write the comparison to ``folder``; ``load`` reads it back equal (``results`` aside).

        The layout is the one ``moopt compare --out`` writes (``moopt.persist``), each file
        written atomically.

        Parameters
        ----------
        folder : str or os.PathLike
            Output folder (created if missing).
        problem : str, optional
            The problem's name, kept in ``comparison.json``.
        settings : Mapping, optional
            Anything else that made the run (JSON values), kept in ``comparison.json``.

        Returns
        -------
        list of pathlib.Path
            The files written.
        """
        from .persist import save_comparison

        return save_comparison(self, folder, problem, settings)

    @classmethod
    def load(cls, folder) -> Comparison:
        """Load the comparison saved in ``folder`` by ``save`` or by ``moopt compare --out``.

        Parameters
        ----------
        folder : str or os.PathLike
            The folder; ``record`` gets its comparison.json, ``results`` stays empty.

        Returns
        -------
        Comparison
            The comparison.
        """
        from .persist import load_comparison

        return load_comparison(folder, cls)

    def plot_hypervolume(self, x: str | None = None, band: bool = True):
        """Plot the mean hypervolume with its 95% band over seeds (``moopt.plots``).

        Parameters
        ----------
        x, band : str or None, and bool
            As in ``moopt.plots.plot_hypervolume``: the x axis (default the budget's unit) and
            whether to draw the bands.

        Returns
        -------
        matplotlib.figure.Figure
            The figure.
        """
        from .plots import plot_hypervolume

        return plot_hypervolume(self, x, band)

    def plot_fronts(self, names=None, marks=None, seeds: str = "all"):
        """Plot every solver's final non-dominated points, objectives pairwise (``moopt.plots``).

        Parameters
        ----------
        names, marks, seeds : sequence of str, Mapping, and {"all", "first"}
            As in ``moopt.plots.plot_comparison_fronts``: objective names, labelled objective
            vectors drawn as stars, and every seed's fronts or the first seed's.

        Returns
        -------
        matplotlib.figure.Figure
            The figure.
        """
        from .plots import plot_comparison_fronts

        return plot_comparison_fronts(self, names, marks, seeds)

    def dominated_by(self, f) -> list[str]:
        """Return the solvers with an archived point (any seed) that dominates ``f``.

        Parameters
        ----------
        f : array_like, shape (M,)
            An objective vector (minimisation).

        Returns
        -------
        list of str
            Solver names, in the comparison's order.
        """
        f = np.asarray(f, dtype=float)
        out = []
        for name, fronts in self.fronts_by_seed.items():
            if any(F.size and np.any(np.all(F <= f, axis=1) & np.any(F < f, axis=1))
                   for F in fronts):  # fmt: skip
                out.append(name)
        return out


def _run_one(problem, algorithm, budget, budget_type, seed, verbose, progress, label):
    term = (MaximumFunctionCallTermination(int(budget)) if budget_type == "evaluations"
            else TimeBasedTermination(float(budget)))  # fmt: skip
    unit = "eval" if budget_type == "evaluations" else "s"
    bar = tqdm(total=budget, desc=label, unit=unit, disable=not progress, leave=False)
    archive = _Archive(bar, by_time=budget_type == "seconds")
    algorithm = copy.deepcopy(algorithm)
    algorithm.evaluator.callback = _FiniteCheck(algorithm.evaluator.callback)
    t0 = time.perf_counter()
    try:
        res = minimize(copy.deepcopy(problem), algorithm, term, seed=seed, callback=archive,
                       verbose=verbose)  # fmt: skip
        status = "ok"
    except (ValueError, TypeError) as exc:
        res, status = None, f"error: {exc}"
    except Exception as exc:  # a fitting error, a FloatingPointError: this run only fails
        res, status = None, f"error: {type(exc).__name__}: {exc}"
    finally:
        bar.close()
        archive.bar = None
    return res, archive, time.perf_counter() - t0, status


def _step_values(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Value of the step function through (x, y) at each grid point (0 before the first)."""
    idx = np.searchsorted(x, grid, side="right") - 1
    return np.where(idx >= 0, y[np.clip(idx, 0, None)], 0.0)


def _bands(curves: dict[str, pd.DataFrame], budget: float, budget_type: str, alpha: float):
    x_col = budget_type
    points = [c[x_col].to_numpy() for c in curves.values() if len(c)]
    if budget_type == "seconds":
        grid = np.linspace(0.0, float(budget), 101)
    else:
        grid = np.unique(np.concatenate(points + [np.array([float(budget)])]))
        grid = grid[grid <= budget]
    out = {}
    for name, c in curves.items():
        if not len(c):
            out[name] = pd.DataFrame(columns=["x", "mean", "ci_low", "ci_high"])
            continue
        Y = np.array([_step_values(s[x_col].to_numpy(), s["hypervolume"].to_numpy(), grid)
                      for _, s in c.groupby("seed")])  # fmt: skip
        mean = Y.mean(axis=0)
        if len(Y) > 1:
            lo, hi = np.array([stats.mean_ci(col, alpha)[1:] for col in Y.T]).T
        else:
            lo, hi = mean.copy(), mean.copy()
        out[name] = pd.DataFrame({"x": grid, "mean": mean, "ci_low": lo, "ci_high": hi})
    return out


def _significance(runs: pd.DataFrame, indicators: list[tuple[str, bool]], alpha: float):
    """Best against second best (by mean) for each (indicator, larger_is_better)."""
    ok = runs[runs["status"] == "ok"]
    rows = []
    for col, larger in indicators:
        pivot = ok.pivot(index="seed", columns="solver", values=col)
        pivot = pivot.replace([np.inf, -np.inf], np.nan).dropna(axis=0)  # empty fronts' IGD
        if pivot.shape[0] < 2 or pivot.shape[1] < 2:
            continue
        order = pivot.mean().sort_values(ascending=not larger).index
        a, b = order[0], order[1]
        r = stats.paired_over_seeds(pivot[a].to_numpy(), pivot[b].to_numpy(), alpha=alpha)
        rows.append({"indicator": col, "a": a, "b": b, **r.as_dict()})
    return pd.DataFrame(rows)


def compare(
    problem,
    solvers: Mapping[str, Algorithm],
    budget: int | float = 100,
    budget_type: str = "evaluations",
    seed: int = 0,
    ref_point: np.ndarray | None = None,
    verbose: bool = False,
    progress: bool = False,
    seeds: int | Sequence[int] | None = None,
    pareto_front: np.ndarray | None = None,
    alpha: float = 0.05,
) -> Comparison:
    """Run every solver on ``problem`` under the same budget, on one or several seeds.

    Parameters
    ----------
    problem : pymoo.core.problem.Problem
        The problem. Each run gets its own copy, so a problem that keeps state
        between evaluations (a warm start, a history) starts afresh for every solver and
        seed; ``Comparison.results[name]`` is the first seed's pymoo ``Result``.
    solvers : Mapping of str to pymoo.core.algorithm.Algorithm
        Name -> ``Algorithm`` (copied before every run, so one instance can be reused).
    budget, budget_type : float, and {"evaluations", "seconds"}
        A positive budget (default 100) of ``"evaluations"`` (default; problem
        evaluations as pymoo's evaluator counts them, gradient probes included) or
        ``"seconds"`` of wall time per run. An evaluation budget smaller than a solver's
        initial design (``n_initial`` or ``pop_size``; for MGDA its starts with their
        finite-difference probes) is an error.
    seed, seeds : int, and int or sequence of int, optional
        ``seeds=None`` runs once with ``seed``; ``seeds=5`` runs seeds ``seed .. seed+4``;
        a list gives the seeds themselves. Every solver sees the same seeds, so they pair.
    ref_point : array_like, shape (M,), optional
        Hypervolume reference point (minimisation); default: ``reference_point`` of
        the archived fronts of all solvers and seeds (the worst value of each objective
        plus 10% of its range, or of its magnitude where the range is zero). A given point
        that no archived solution dominates is an error (every hypervolume would be 0).
    pareto_front : array_like, shape (n, M), optional
        The true front for IGD; default: ``problem.pareto_front()`` where it exists.
    verbose, progress : bool, default False
        pymoo's per-generation display; a tqdm bar per run over the budget.
    alpha : float, default 0.05
        Level of the confidence intervals and tests (95% by default).

    Returns
    -------
    Comparison
        Tables, curves, bands, fronts and tests of every solver and seed.

    Raises
    ------
    ValueError or TypeError
        For no solvers, a bad budget or seeds, a solver that is no pymoo ``Algorithm`` or
        cannot start within the budget, a bad front or reference point.
    """
    if not solvers:
        raise ValueError("solvers is empty; pass a mapping of names to pymoo algorithms")
    if budget_type not in ("evaluations", "seconds"):
        raise ValueError(f"budget_type must be 'evaluations' or 'seconds', got {budget_type!r}")
    if not budget > 0:
        raise ValueError(f"budget must be positive, got {budget}")
    seed_values = _seed_list(seed, seeds)
    for name, algorithm in solvers.items():
        if not isinstance(algorithm, Algorithm):
            raise TypeError(f"solver {name!r} must be a pymoo Algorithm, got {type(algorithm)}")
        need = initial_design(algorithm, problem)
        if budget_type == "evaluations" and need is not None and need > budget:
            raise ValueError(_refusal(name, algorithm, problem, need, budget))
    pf = known_front(problem) if pareto_front is None else np.asarray(pareto_front, float)
    if pf is not None and (pf.ndim != 2 or pf.shape[1] != problem.n_obj):
        raise ValueError(f"pareto_front must be (n, n_obj={problem.n_obj}), got {pf.shape}")

    runs: dict[tuple[str, int], tuple] = {}
    for s in seed_values:
        for name, algorithm in solvers.items():
            label = name if len(seed_values) == 1 else f"{name} seed {s}"
            runs[name, s] = _run_one(problem, algorithm, budget, budget_type, s, verbose,
                                     progress, label)  # fmt: skip

    scored = {}
    for key, (res, arch, seconds, status) in runs.items():
        record = arch.within(budget, budget_type)
        if record is None:  # the first generation already ended past the budget
            status = (f"error: over budget: its first generation ended at {arch.trace[0][0]} "
                      f"evaluations, past the budget of {budget:g}")  # fmt: skip
            runs[key] = (res, arch, seconds, status)
        evals, _, F, X = record if status == "ok" else (0, 0.0, np.zeros((0, 0)), None)
        if not F.size:  # one shape for every empty front: no points of M objectives
            F, X = np.zeros((0, problem.n_obj)), np.zeros((0, problem.n_var))
        scored[key] = evals, F, X
    fronts_all = [F for (_, F, _) in scored.values() if F.size]
    if ref_point is None:
        if not fronts_all:
            errors = "; ".join(f"{n}: {r[3]}" for (n, s), r in runs.items() if s == seed_values[0])
            raise ValueError(f"no solver produced any solution ({errors})")
        ref_point = reference_point(fronts_all)
    ref_point = np.asarray(ref_point, dtype=float)
    if ref_point.shape != (problem.n_obj,) or not np.all(np.isfinite(ref_point)):
        raise ValueError(f"ref_point must be {problem.n_obj} finite values, got {ref_point}")
    if fronts_all and not any(np.any(np.all(F < ref_point, axis=1)) for F in fronts_all):
        raise ValueError(
            f"no solution of any solver dominates ref_point {ref_point.tolist()}, so every "
            "hypervolume would be 0; pass a worse reference point or ref_point=None"
        )
    hv = HV(ref_point=ref_point)
    igd = IGD(pf) if pf is not None else None

    run_rows, curves, fronts_by_seed, fronts_X_by_seed = [], {}, {}, {}
    for name in solvers:
        frames = []
        for s in seed_values:
            res, archive, seconds, status = runs[name, s]
            evals, front, front_X = scored[name, s]
            trace = pd.DataFrame(
                [{"seed": s, "evaluations": e, "seconds": t,
                  "hypervolume": float(hv(F)) if len(F) else 0.0,
                  **({"igd": float(igd(F)) if len(F) else np.inf} if igd else {})}
                 for e, t, F, _ in archive.trace
                 if budget_type == "seconds" or e <= budget],
                columns=["seed", "evaluations", "seconds", "hypervolume"]
                + (["igd"] if igd else []),
            )  # fmt: skip
            frames.append(trace)
            fronts_by_seed.setdefault(name, []).append(front)
            fronts_X_by_seed.setdefault(name, []).append(front_X)
            ok = status == "ok"
            row = {"solver": name, "seed": s, "status": status, "evaluations": evals,
                   "evaluations_spent": archive.trace[-1][0] if archive.trace else 0,
                   "seconds": seconds,
                   "hypervolume": (float(hv(front)) if front.size else 0.0) if ok else np.nan}
            if igd is not None:
                row["igd"] = (float(igd(front)) if front.size else np.inf) if ok else np.nan
            row["n_front"] = len(front)
            source = getattr(getattr(res, "algorithm", None), "gradient_source_", None)
            if source is not None:  # MGDA says where its gradients came from
                row["gradients"] = source
            for j in range(problem.n_obj):
                row[f"best f{j + 1}"] = float(front[:, j].min()) if front.size else np.nan
            run_rows.append(row)
        # Seeds without a trace add no rows (nor their empty columns' dtype).
        frames = [f for f in frames if len(f)] or frames
        curves[name] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    runs_table = pd.DataFrame(run_rows)

    table = _summary(runs_table, list(solvers), len(seed_values) > 1, igd is not None, alpha)
    bands = _bands(curves, budget, budget_type, alpha)
    indicators = [("hypervolume", True)] + ([("igd", False)] if igd is not None else [])
    significance = (_significance(runs_table, indicators, alpha) if len(seed_values) > 1
                    else pd.DataFrame())  # fmt: skip
    first = seed_values[0]
    return Comparison(
        table=table, curves=curves,
        fronts={n: fronts_by_seed[n][0] for n in solvers if fronts_by_seed[n][0].size},
        ref_point=ref_point, results={n: runs[n, first][0] for n in solvers},
        runs=runs_table, bands=bands, significance=significance,
        fronts_by_seed=fronts_by_seed, pareto_front=pf, budget_type=budget_type,
        fronts_X_by_seed=fronts_X_by_seed, budget=float(budget), seeds=seed_values, alpha=alpha,
    )  # fmt: skip


def _summary(runs: pd.DataFrame, names: list[str], with_ci: bool, with_igd: bool, alpha):
    """One row per solver: indicator means over the runs that finished (every one of them:
    an empty front counts, with hypervolume 0 and infinite IGD), evaluations spent and
    seconds over all runs, how many failed and how many were empty, CIs with several
    seeds."""
    rows = []
    metric_cols = [c for c in runs.columns if c not in ("solver", "seed", "status", "gradients")]
    for name in names:
        mine = runs[runs["solver"] == name]
        ok = mine[mine["status"] == "ok"]
        if len(ok) == len(mine):
            status = "ok"
        elif len(ok) == 0:
            status = mine["status"].iloc[0]
        else:
            first_error = mine["status"][mine["status"] != "ok"].iloc[0]
            status = f"ok on {len(ok)} of {len(mine)} seeds; {first_error}"
        row = {"solver": name, "status": status, "seeds": len(ok),
               "runs_failed": len(mine) - len(ok), "runs_empty": int((ok["n_front"] == 0).sum())}
        if "gradients" in mine.columns:
            sources = mine["gradients"].dropna().unique()
            row["gradients"] = ", ".join(sources) if len(sources) else "-"
        for col in metric_cols:  # costs over every run, indicators over finished ones
            values = (mine if col in ("evaluations_spent", "seconds") else ok)[col]
            values = values.to_numpy(dtype=float)
            row[col] = float(values.mean()) if values.size else np.nan
        if with_ci:
            for col in ["hypervolume"] + (["igd"] if with_igd else []):
                values = ok[col].to_numpy(dtype=float)
                if values.size >= 2 and np.all(np.isfinite(values)):
                    _, lo, hi = stats.mean_ci(values, alpha)
                else:
                    lo = hi = float(values.mean()) if values.size else np.nan
                row[f"{col}_ci_low"], row[f"{col}_ci_high"] = lo, hi
        rows.append(row)
    table = pd.DataFrame(rows)
    order = ["solver", "status", "seeds", "runs_failed", "runs_empty", "evaluations",
             "evaluations_spent", "seconds", "hypervolume", "hypervolume_ci_low",
             "hypervolume_ci_high", "igd", "igd_ci_low", "igd_ci_high", "n_front"]  # fmt: skip
    cols = [c for c in order if c in table.columns]
    return table[cols + [c for c in table.columns if c not in cols]]

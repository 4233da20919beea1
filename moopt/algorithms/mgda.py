"""MGDA: multiple-gradient descent as a pymoo ``Algorithm``.

Desideri, "Multiple-gradient descent algorithm (MGDA) for multiobjective optimization",
Comptes Rendus Mathematique 350 (2012): the minimum-norm element of the convex hull of the
objectives' gradients (:func:`moopt.gradient.min_norm`) is zero at a Pareto-stationary
point and otherwise its negation is a direction that decreases every objective. Steps
follow Fliege and Svaiter, "Steepest descent methods for multicriteria optimization"
(2000): a backtracking (Armijo) line search accepting the first step t with

    f_j(x') <= f_j(x) + c g_j . (x' - x)   for every objective j,   x' = clip(x + t d),

where the clip keeps iterates in the problem's box. ``pop_size`` independent descents run
side by side from seeded random starts, so a run returns several Pareto-stationary points.
A descent stops when its point is Pareto stationary (min-norm <= ``tol``), when the box
blocks its direction (``blocked``) or when its line search finds no acceptable step within
``max_backtracks`` halvings (``failed``: the point keeps its place, and since its values
and gradients do not change it is not searched again); the run ends when every descent has
stopped. ``pop.get("failed")`` and ``pop.get("blocked")`` say which stopped how.
The problem must fill ``out["dF"]`` (shape (n, n_obj, n_var)).
"""

from __future__ import annotations

import numpy as np
from pymoo.core.algorithm import Algorithm
from pymoo.core.population import Population
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from ..gradient import min_norm


class MGDA(Algorithm):
    """Multiple-gradient descent for problems with gradients.

    Parameters
    ----------
    pop_size:
        Independent descents run side by side.
    lr:
        The first trial step of each line search (the fixed step without Armijo).
    armijo, beta, c:
        Backtracking line search: shrink the step by ``beta`` until every objective meets
        the sufficient-decrease condition with constant ``c`` (at most ``max_backtracks``).
    tol:
        A point whose min-norm is at most ``tol`` is Pareto stationary and stops.
    normalize:
        Normalise each gradient to unit length before the min-norm solve.
    sampling:
        Starting points as an (n, n_var) array; default: seeded uniform in the box.
    """

    def __init__(
        self,
        pop_size: int = 1,
        lr: float = 1.0,
        armijo: bool = True,
        beta: float = 0.5,
        c: float = 1e-4,
        tol: float = 1e-4,
        normalize: bool = False,
        max_backtracks: int = 30,
        sampling: np.ndarray | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(pop_size, bool) or not isinstance(pop_size, (int, np.integer)):
            raise ValueError(f"pop_size must be a positive integer, got {pop_size!r}")
        if pop_size < 1:
            raise ValueError(f"pop_size must be a positive integer, got {pop_size!r}")
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not 0 < beta < 1:
            raise ValueError(f"beta must be in (0, 1), got {beta}")
        if not 0 < c < 1:
            raise ValueError(f"c must be in (0, 1), got {c}")
        if not tol >= 0:
            raise ValueError(f"tol must be non-negative, got {tol}")
        self.pop_size = int(pop_size)
        self.lr, self.armijo, self.beta, self.c, self.tol = lr, armijo, beta, c, tol
        self.normalize = normalize
        self.max_backtracks = int(max_backtracks)
        self.sampling = None if sampling is None else np.asarray(sampling, dtype=float)
        self.norms_: list[np.ndarray] = []

    # ------------------------------------------------------------------ setup

    def _setup(self, problem, **kwargs) -> None:
        xl, xu = problem.xl, problem.xu
        if xl is None or xu is None or not (np.all(np.isfinite(xl)) and np.all(np.isfinite(xu))):
            raise ValueError("MGDA needs finite bounds xl and xu on every variable")
        if np.any(np.asarray(xl) > np.asarray(xu)):
            raise ValueError("the problem's bounds have xl > xu; fix the bounds")
        if self.sampling is not None and self.sampling.shape[1:] != (problem.n_var,):
            raise ValueError(
                f"sampling must be (n, n_var={problem.n_var}) starting points, "
                f"got shape {self.sampling.shape}"
            )
        # Every evaluation returns gradients too: the line search needs them at the
        # accepted point anyway, so no point is evaluated twice.
        self.evaluator.evaluate_values_of = ["F", "dF"]

    def _initialize_infill(self):
        if self.sampling is not None:
            X = np.clip(self.sampling, self.problem.xl, self.problem.xu)
        else:
            rng = self.random_state
            X = self.problem.xl + rng.random((self.pop_size, self.problem.n_var)) * (
                self.problem.xu - self.problem.xl
            )
        return Population.new("X", X)

    def _initialize_advance(self, infills=None, **kwargs):
        self._check(infills)
        self._update_norms(self.pop)

    # ------------------------------------------------------------------ iteration

    def _check(self, pop) -> tuple[np.ndarray, np.ndarray]:
        F, dF = pop.get("F"), pop.get("dF")
        if dF is None or (isinstance(dF, np.ndarray) and dF.dtype == object):
            raise ValueError(
                "MGDA needs gradients: the problem's _evaluate must fill out['dF'] with "
                "shape (n, n_obj, n_var)"
            )
        dF = np.asarray(dF, dtype=float)
        if dF.size and not np.any(np.isfinite(dF)):  # pymoo fills a missing dF with inf
            raise ValueError(
                "MGDA needs gradients: the problem's _evaluate must fill out['dF'] with "
                "shape (n, n_obj, n_var)"
            )
        n_obj, n_var = self.problem.n_obj, self.problem.n_var
        if dF.shape != (len(pop), n_obj, n_var):
            raise ValueError(f"dF must have shape (n, {n_obj}, {n_var}), got {dF.shape}")
        if not np.all(np.isfinite(F)):
            raise ValueError("the problem returned non-finite objective values (F)")
        if not np.all(np.isfinite(dF)):
            raise ValueError("the problem returned non-finite gradients (dF)")
        return np.asarray(F, dtype=float), dF

    def _direction(self, G: np.ndarray) -> tuple[np.ndarray, float]:
        if self.normalize:
            norms = np.linalg.norm(G, axis=1, keepdims=True)
            G = np.divide(G, norms, out=np.zeros_like(G), where=norms > 0)
        w, norm = min_norm(G)
        return -(w @ G), float(norm)

    def _update_norms(self, pop) -> None:
        _, dF = self._check(pop)
        norms = np.array([self._direction(g)[1] for g in dF])
        pop.set("norm", norms)
        self.norms_.append(norms)

    def _advance(self, infills=None, **kwargs):
        pop = self.pop
        X = pop.get("X").astype(float)
        F, dF = self._check(pop)
        norms = pop.get("norm").astype(float)
        blocked = self._flag(pop, "blocked")
        failed = self._flag(pop, "failed")
        active = np.flatnonzero((norms > self.tol) & ~blocked & ~failed)
        if active.size == 0:
            self.termination.force_termination = True
            return
        dirs = np.array([self._direction(dF[i])[0] for i in active])
        step = np.full(active.size, self.lr)
        pending = np.arange(active.size)
        new_pop = [None] * active.size
        stuck = np.zeros(active.size, bool)
        for _ in range(self.max_backtracks + 1):
            idx = active[pending]
            trial_X = np.clip(X[idx] + step[pending, None] * dirs[pending], self.problem.xl,
                              self.problem.xu)  # fmt: skip
            moved = np.linalg.norm(trial_X - X[idx], axis=1) > 1e-15
            trial = Population.new("X", trial_X)
            self.evaluator.eval(self.problem, trial, algorithm=self)
            tF, _ = self._check(trial)
            # Multi-objective Armijo on the projected step x' - x.
            bound = F[idx] + self.c * np.einsum("pmv,pv->pm", dF[idx], trial_X - X[idx])
            ok = np.all(tF <= bound + 1e-15, axis=1) | ~moved | (not self.armijo)
            for t, p in enumerate(pending):
                if ok[t]:
                    new_pop[p] = trial[t]
                    # The box blocks the descent direction: stationary for the
                    # box-constrained problem, so it stops here.
                    stuck[p] = not moved[t]
            pending = pending[~ok]
            if pending.size == 0:
                break
            step[pending] *= self.beta
        # Points whose line search failed stay where they are, marked: their F and dF do
        # not change, so a later search from them would repeat this one exactly.
        parts = [pop[i] for i in range(len(pop))]
        for p, i in enumerate(active):
            if new_pop[p] is not None:
                parts[i] = new_pop[p]
        self.pop = Population.create(*parts)
        blocked[active] = stuck
        failed[active[pending]] = True
        self.pop.set("blocked", blocked)
        self.pop.set("failed", failed)
        self._update_norms(self.pop)

    @staticmethod
    def _flag(pop, name: str) -> np.ndarray:
        """A boolean attribute of every member (False where never set)."""
        values = pop.get(name)
        if values is None:
            return np.zeros(len(pop), bool)
        return np.array([bool(v) for v in values], dtype=bool)

    def _set_optimum(self) -> None:
        F = self.pop.get("F")
        if F is None or len(F) == 0:
            self.opt = self.pop
            return
        self.opt = self.pop[NonDominatedSorting().do(F, only_non_dominated_front=True)]

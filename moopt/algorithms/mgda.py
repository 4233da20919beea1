"""MGDA: multiple-gradient descent as a pymoo ``Algorithm``.

Desideri, "Multiple-gradient descent algorithm (MGDA) for multiobjective optimization",
Comptes Rendus Mathematique 350 (2012): the minimum-norm element of the convex hull of the
objectives' gradients (``moopt.gradient.min_norm``) is zero at a Pareto-stationary
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

Gradients (``gradient=``): the problem's own ``out["dF"]`` (shape (n, n_obj, n_var)) where
it fills them; else torch autograd through a method ``evaluate_torch(X) -> F`` of the
problem (float64 tensors, shapes (n, n_var) -> (n, n_obj)); else central finite
differences with step ``h_i = fd_step * max(1, |x_i|)``, one-sided where a central probe
would leave the box, so no point outside [xl, xu] is ever evaluated. Finite-difference
probes are ordinary evaluations (1 + 2 n_var per gradient at most): they go through
pymoo's evaluator, so ``n_eval`` and any evaluation budget count them. As with any
algorithm that evaluates a batch per generation, a run under pymoo's evaluation limit may
end a little past the limit (the generation in progress completes);
``moopt.compare.compare`` reads results at the last generation within the budget,
and refuses a run whose first generation cannot fit (``MGDA.evaluations_per_start``).
``gradient_source_`` says which source a run used.
"""

from __future__ import annotations

import numpy as np
from pymoo.core.algorithm import Algorithm
from pymoo.core.population import Population
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from ..gradient import min_norm

GRADIENTS = ("auto", "problem", "autograd", "fd")


def _missing(dF) -> bool:
    """Whether a population's dF is absent: unset, or pymoo's inf placeholders."""
    if dF is None or (isinstance(dF, np.ndarray) and dF.dtype == object):
        return True
    dF = np.asarray(dF, dtype=float)
    return bool(dF.size) and not np.any(np.isfinite(dF))


class MGDA(Algorithm):
    """Multiple-gradient descent for problems with gradients.

    After a run has started, ``gradient_source_`` is ``"analytic"``, ``"autograd"`` or
    ``"finite differences"``, and ``norms_`` holds the min-norm of every generation.

    Parameters
    ----------
    pop_size : int, default 1
        Independent descents run side by side (positive; ignored when ``sampling`` is
        given).
    lr : float, default 1.0
        The first trial step of each line search (the fixed step without Armijo); positive.
    armijo : bool, default True
        Backtracking line search; False takes the fixed step ``lr``.
    beta : float, default 0.5
        Factor the step shrinks by per backtrack, in (0, 1).
    c : float, default 1e-4
        Sufficient-decrease constant of the Armijo condition, in (0, 1).
    tol : float, default 1e-4
        A point whose min-norm is at most ``tol`` is Pareto stationary and stops; >= 0.
    normalize : bool, default False
        Normalise each gradient to unit length before the min-norm solve.
    max_backtracks : int, default 30
        Halvings of the step before a line search fails.
    sampling : numpy.ndarray, shape (n, n_var), optional
        Starting points (clipped to the box); default: ``pop_size`` seeded uniform points.
    gradient : {"auto", "problem", "autograd", "fd"}, default "auto"
        ``"auto"``: the problem's ``out["dF"]`` if it fills them, else ``evaluate_torch``
        autograd if the problem has it, else finite differences.
    fd_step : float, default 1e-6
        Relative finite-difference step, in (0, 1).
    **kwargs
        Passed to ``pymoo.core.algorithm.Algorithm``.

    Raises
    ------
    ValueError
        For a setting outside the ranges above; at setup, for infinite bounds, ``xl > xu``,
        mis-shaped ``sampling`` or ``"autograd"`` without ``evaluate_torch``.
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
        gradient: str = "auto",
        fd_step: float = 1e-6,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if gradient not in GRADIENTS:
            raise ValueError(f"gradient must be one of {GRADIENTS}, got {gradient!r}")
        if isinstance(fd_step, bool) or not isinstance(fd_step, (int, float, np.floating)) \
                or not np.isfinite(fd_step) or not 0 < fd_step < 1:  # fmt: skip
            raise ValueError(f"fd_step must be a number in (0, 1), e.g. 1e-6, got {fd_step!r}")
        self.gradient, self.fd_step = gradient, float(fd_step)
        self.gradient_source_: str | None = None
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

    @property
    def n_starts(self) -> int:
        """How many descents run side by side: the rows of ``sampling``, else ``pop_size``."""
        return len(self.sampling) if self.sampling is not None else self.pop_size

    def evaluations_per_start(self, problem) -> int:
        """Return the evaluations one start costs in the first generation.

        That is 1, plus 2 n_var probes when its gradient may come from finite differences:
        ``gradient="fd"``, or ``"auto"`` on a problem without ``evaluate_torch`` (whether such a
        problem fills ``out["dF"]`` shows only once it is evaluated, so the count is the worst
        case; pass ``gradient="problem"`` for a problem that does). At a start on the box's
        edge a one-sided difference takes one probe, not two, so this is an upper bound there.

        Parameters
        ----------
        problem : pymoo.core.problem.Problem
            The problem the algorithm will run on.

        Returns
        -------
        int
            ``1 + 2 * problem.n_var`` or 1.
        """
        has_torch = callable(getattr(problem, "evaluate_torch", None))
        fd = self.gradient == "fd" or (self.gradient == "auto" and not has_torch)
        return 1 + 2 * int(problem.n_var) if fd else 1

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
        if self.gradient == "autograd" and not callable(getattr(problem, "evaluate_torch", None)):
            raise ValueError(
                "gradient='autograd' needs a problem method evaluate_torch(X) -> F on torch "
                "tensors; add it or use gradient='fd'"
            )
        # With the problem's gradients every evaluation returns them too: the line search
        # needs them at the accepted point anyway, so no point is evaluated twice. "auto"
        # asks for them once and falls back if the problem leaves them out.
        self.gradient_source_ = {"autograd": "autograd", "fd": "finite differences"}.get(
            self.gradient)  # fmt: skip
        self.evaluator.evaluate_values_of = ["F"] if self.gradient_source_ else ["F", "dF"]

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
        if self.gradient_source_ is None:
            if _missing(self.pop.get("dF")) and self.gradient == "auto":
                has_torch = callable(getattr(self.problem, "evaluate_torch", None))
                self.gradient_source_ = "autograd" if has_torch else "finite differences"
                self.evaluator.evaluate_values_of = ["F"]
                self.pop.set("dF", [None] * len(self.pop))  # pymoo's placeholders
            else:
                self.gradient_source_ = "analytic"
        self._fill_gradients(self.pop)
        self._check(self.pop)
        self._update_norms(self.pop)

    # ------------------------------------------------------------------ gradients

    def _fill_gradients(self, pop) -> None:
        """Set ``dF`` of the members that lack it, by autograd or finite differences."""
        if self.gradient_source_ == "analytic" or len(pop) == 0:
            return
        todo = [i for i, ind in enumerate(pop) if np.ndim(ind.get("dF")) != 2]
        if not todo:
            return
        X = np.array([pop[i].X for i in todo], dtype=float)
        F = np.array([pop[i].F for i in todo], dtype=float)
        if not np.all(np.isfinite(F)):
            raise ValueError("the problem returned non-finite objective values (F)")
        G = self._autograd(X) if self.gradient_source_ == "autograd" else self._fd(X, F)
        for k, i in enumerate(todo):
            pop[i].set("dF", G[k])

    def _autograd(self, X: np.ndarray) -> np.ndarray:
        import torch

        x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
        Y = self.problem.evaluate_torch(x)
        if not isinstance(Y, torch.Tensor) or tuple(Y.shape) != (len(X), self.problem.n_obj):
            raise ValueError(
                f"evaluate_torch must return a tensor of shape (n, {self.problem.n_obj}), "
                f"got {getattr(Y, 'shape', type(Y))}"
            )
        grads = [torch.autograd.grad(Y[:, j].sum(), x, retain_graph=True, allow_unused=True)[0]
                 for j in range(Y.shape[1])]  # fmt: skip
        G = np.stack([np.zeros(X.shape) if g is None else g.detach().cpu().numpy()
                      for g in grads], axis=1)  # fmt: skip
        return G

    def _fd(self, X: np.ndarray, F: np.ndarray) -> np.ndarray:
        """Central differences, one-sided at the box; probes evaluated as one batch."""
        xl, xu = np.asarray(self.problem.xl, float), np.asarray(self.problem.xu, float)
        n, d = X.shape
        h = self.fd_step * np.maximum(1.0, np.abs(X))
        up_ok = X + h <= xu
        down_ok = X - h >= xl
        # Probe p, j, +/-: X[p] with h[p, j] added to / taken from variable j.
        step = h[:, :, None] * np.eye(d)[None]  # (n, d, d)
        probes = np.concatenate([(X[:, None, :] + step)[up_ok], (X[:, None, :] - step)[down_ok]])
        G = np.zeros((n, self.problem.n_obj, d))
        if not len(probes):
            return G
        trial = Population.new("X", probes)
        self.evaluator.eval(self.problem, trial, algorithm=self)
        PF = np.asarray(trial.get("F"), dtype=float)
        if not np.all(np.isfinite(PF)):
            raise ValueError("the problem returned non-finite objective values (F) near "
                             "a point; finite differences need finite values around it")
        # f(x + h e_j) where probed, else f(x); likewise below: the one-sided differences
        # at the box then fall out of (up - down) / (distance between them).
        up = np.broadcast_to(F[:, None, :], (n, d, F.shape[1])).copy()
        down = up.copy()
        n_up = int(up_ok.sum())
        up[up_ok], down[down_ok] = PF[:n_up], PF[n_up:]
        span = h * (up_ok.astype(float) + down_ok.astype(float))  # 2h, h or 0
        G[:] = np.divide(up - down, span[:, :, None], out=np.zeros_like(up),
                         where=span[:, :, None] > 0).transpose(0, 2, 1)  # fmt: skip
        return G

    # ------------------------------------------------------------------ iteration

    def _check(self, pop) -> tuple[np.ndarray, np.ndarray]:
        F, dF = pop.get("F"), pop.get("dF")
        if _missing(dF):
            raise ValueError(
                "MGDA needs gradients: the problem's _evaluate must fill out['dF'] with "
                "shape (n, n_obj, n_var)"
            )
        dF = np.asarray(dF, dtype=float)
        n_obj, n_var = self.problem.n_obj, self.problem.n_var
        if dF.shape != (len(pop), n_obj, n_var):
            raise ValueError(f"dF must have shape (n, {n_obj}, {n_var}), got {dF.shape}")
        if not np.all(np.isfinite(F)):
            raise ValueError("the problem returned non-finite objective values (F)")
        if not np.all(np.isfinite(dF)):
            raise ValueError("the problem returned non-finite gradients (dF)")
        return np.asarray(F, dtype=float), dF

    def _values(self, pop) -> np.ndarray:
        F = np.asarray(pop.get("F"), dtype=float)
        if not np.all(np.isfinite(F)):
            raise ValueError("the problem returned non-finite objective values (F)")
        if self.gradient_source_ == "analytic":
            self._check(pop)
        return F

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
            tF = self._values(trial)
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
        self._fill_gradients(self.pop)
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

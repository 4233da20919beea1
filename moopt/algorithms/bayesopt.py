"""Bayesian optimisation as a pymoo ``Algorithm`` (scikit-optimize underneath).

A Gaussian-process surrogate with expected improvement (Jones, Schonlau and Welch,
"Efficient Global Optimization of Expensive Black-Box Functions", 1998; Snoek, Larochelle
and Adams, NeurIPS 2012) proposes one point per iteration over the problem's box, through
``skopt.Optimizer``'s ask/tell. Several objectives are scalarised:

* ``"parego"`` (Knowles, "ParEGO", IEEE TEVC 2006): every iteration draws a new weight
  vector w on the simplex and minimises the augmented Chebyshev function
  max_j w_j f'_j + rho sum_j w_j f'_j of the objectives normalised to [0, 1] by the ideal
  and nadir seen so far, so successive proposals spread along the front;
* ``"sum"``: the mean of the normalised objectives; ``"harmonic"``: minus the harmonic mean
  of their utilities 1 - f';
* ``"booml_ressum"`` and ``"booml_harmean"``: BOOML's rescaled sum NDCG + sigmoid(ILD) +
  sigmoid(1/ARP) and harmonic mean 3 / (1/NDCG + 1/sigmoid(ILD) + 1/sigmoid(1/ARP))
  (section 4.1.2), for objective vectors ordered (-NDCG, -ILD, ARP) as
  ``problems.LossWeightProblem`` returns them;
* any callable ``F (M,) -> float`` to minimise.

Soft constraints (BOOML eq. 12): with inequality constraints G (pymoo: G <= 0 feasible)
the surrogate's target gets ``kappa * sum_j max(G_j, 0)``. BOOML asks for kappa >> 0, but
a very large kappa turns the target into a cliff a GP models badly: on min (x - 3)^2
subject to x <= 2, kappa = 10 reached the constrained optimum within 0.04 in 20
evaluations for 5 seeds out of 5, kappa = 100 stopped 0.2 to 0.8 short in 3 of them.

Because normalisation and weights change as points arrive, every iteration refits the
surrogate on all points with their current scalarised values. Both the weights and the
surrogate's random state derive from (seed, iteration), so a run is reproducible and a
run resumed from its checkpoint (written atomically after every evaluation) continues
exactly as the uninterrupted run would, without evaluating any point again. The checkpoint
records the problem's sizes and bounds, the seed and every setting that shapes the
proposals (``n_initial``, ``scalarization``, ``kappa``, ``log_scale``, ``acq_func``,
``rho``, ``n_points``); a resume with any of them changed stops with a ValueError naming
it. A callable scalarisation is the same when its name, source and captured values are
(see ``moopt.algorithms._checkpoint``). Only the budget may grow between runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
from pymoo.core.algorithm import Algorithm
from pymoo.core.population import Population

from ._checkpoint import Checkpoint, CheckpointedSearch, callable_identity

SCALARIZATIONS = ("parego", "sum", "harmonic", "booml_ressum", "booml_harmean")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def booml_ressum(F: np.ndarray) -> float:
    """BOOML's rescaled sum ``NDCG + sigmoid(ILD) + sigmoid(1 / ARP)``; larger is better.

    Parameters
    ----------
    F : numpy.ndarray, shape (3,)
        Objective vector ordered (-NDCG, -ILD, ARP), as ``problems.LossWeightProblem``
        returns it; ARP must be positive.

    Returns
    -------
    float
        The rescaled sum.

    Raises
    ------
    ValueError
        If ARP is not positive.

    Examples
    --------
    >>> from moopt.algorithms.bayesopt import booml_ressum
    >>> round(booml_ressum([-0.3, 0.0, 2.0]), 4)
    1.4225
    """
    ndcg, ild, arp = -F[0], -F[1], F[2]
    if arp <= 0:
        raise ValueError("ARP must be positive for BOOML's scalarisations")
    return float(ndcg + _sigmoid(ild) + _sigmoid(1.0 / arp))


def booml_harmean(F: np.ndarray) -> float:
    """BOOML's harmonic mean of (NDCG, sigmoid(ILD), sigmoid(1 / ARP)); larger is better.

    Parameters
    ----------
    F : numpy.ndarray, shape (3,)
        Objective vector ordered (-NDCG, -ILD, ARP); ARP must be positive.

    Returns
    -------
    float
        ``3 / (1 / NDCG + 1 / sigmoid(ILD) + 1 / sigmoid(1 / ARP))``; 0 when NDCG <= 0.

    Raises
    ------
    ValueError
        If ARP is not positive.

    Examples
    --------
    >>> from moopt.algorithms.bayesopt import booml_harmean
    >>> round(booml_harmean([-0.3, 0.0, 2.0]), 4)
    0.4323
    """
    ndcg, ild, arp = -F[0], -F[1], F[2]
    if arp <= 0:
        raise ValueError("ARP must be positive for BOOML's scalarisations")
    if ndcg <= 0:
        return 0.0
    return float(3.0 / (1.0 / ndcg + 1.0 / _sigmoid(ild) + 1.0 / _sigmoid(1.0 / arp)))


def augmented_chebyshev(Fn: np.ndarray, w: np.ndarray, rho: float = 0.05) -> np.ndarray:
    """Augmented Chebyshev scalarisation ``max_j w_j f_j + rho sum_j w_j f_j`` (minimised).

    Parameters
    ----------
    Fn : numpy.ndarray, shape (n, M)
        Objective values normalised to [0, 1] (minimised).
    w : numpy.ndarray, shape (M,)
        Non-negative weights (ParEGO draws them on the simplex).
    rho : float, default 0.05
        Weight of the augmentation sum, which breaks ties between weakly dominated points.

    Returns
    -------
    numpy.ndarray, shape (n,)
        The scalarised value of every point.

    Examples
    --------
    >>> import numpy as np
    >>> from moopt.algorithms.bayesopt import augmented_chebyshev
    >>> augmented_chebyshev(np.array([[0.0, 1.0], [0.5, 0.5]]), np.array([0.5, 0.5]), rho=0.1)
    array([0.55, 0.3 ])
    """
    wf = Fn * w
    return wf.max(axis=1) + rho * wf.sum(axis=1)


def _normalise(F: np.ndarray) -> np.ndarray:
    lo, hi = F.min(axis=0), F.max(axis=0)
    return (F - lo) / np.where(hi > lo, hi - lo, 1.0)


def random_search(problem, n_evals: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_evals`` uniform points in the problem's box and evaluate them (a baseline).

    Parameters
    ----------
    problem : pymoo.core.problem.Problem
        A problem with finite bounds ``xl``, ``xu``.
    n_evals : int
        Number of points.
    seed : int, default 0
        Seed of the draw.

    Returns
    -------
    X : numpy.ndarray, shape (n_evals, n_var)
        The points.
    F : numpy.ndarray
        ``problem.evaluate(X)``.
    """
    rng = np.random.default_rng(seed)
    X = problem.xl + rng.random((n_evals, problem.n_var)) * (problem.xu - problem.xl)
    return X, problem.evaluate(X)


class BayesOpt(CheckpointedSearch, Algorithm):
    """GP + expected-improvement Bayesian optimisation over a problem's box.

    Run it with ``pymoo.optimize.minimize(problem, BayesOpt(...), termination, seed=s)``;
    one evaluation per generation.

    Parameters
    ----------
    n_initial : int, default 10
        Random initial points before the surrogate proposes (BOOML: 10); positive.
    scalarization : str or callable, default "parego"
        How several objectives become one: ``"parego"``, ``"sum"``, ``"harmonic"``,
        ``"booml_ressum"``, ``"booml_harmean"`` (see the module docstring), or a callable
        ``F (M,) -> float`` to minimise.
    kappa : float, default 0.0
        Soft-constraint penalty (BOOML eq. 12), non-negative; 0 ignores constraints in the
        surrogate.
    log_scale : bool or numpy.ndarray of bool, default False
        Log-uniform priors (all variables, or a bool per variable); needs ``xl > 0`` there.
    acq_func : {"EI", "PI", "LCB", "gp_hedge"}, default "EI"
        Acquisition function of ``skopt.Optimizer``.
    checkpoint : str or os.PathLike, optional
        A JSON file: written after every evaluation; if it exists, the run resumes from it
        (settings must match, see the module docstring).
    rho : float, default 0.05
        Augmentation weight of ParEGO's Chebyshev function (``augmented_chebyshev``).
    budget : int, optional
        The evaluation budget, when the termination does not state one.
    n_points : int, default 2000
        Random candidates the acquisition function is maximised over.
    **kwargs
        Passed to ``pymoo.core.algorithm.Algorithm``.

    Raises
    ------
    ValueError
        For a non-positive ``n_initial``, an unknown ``scalarization`` or ``acq_func``, or a
        negative ``kappa``; at setup, for infinite bounds, ``xl > xu`` or ``log_scale`` on a
        variable with ``xl <= 0``.
    """

    def __init__(
        self,
        n_initial: int = 10,
        scalarization: str | Callable = "parego",
        kappa: float = 0.0,
        log_scale: bool | np.ndarray = False,
        acq_func: str = "EI",
        checkpoint: str | os.PathLike | None = None,
        rho: float = 0.05,
        budget: int | None = None,
        n_points: int = 2000,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(n_initial, bool) or not isinstance(n_initial, (int, np.integer)):
            raise ValueError(f"n_initial must be a positive integer, got {n_initial!r}")
        if n_initial < 1:
            raise ValueError(f"n_initial must be a positive integer, got {n_initial}")
        if not callable(scalarization) and scalarization not in SCALARIZATIONS:
            raise ValueError(
                f"scalarization must be one of {SCALARIZATIONS} or a callable, "
                f"got {scalarization!r}"
            )
        if kappa < 0:
            raise ValueError(f"kappa must be non-negative, got {kappa}")
        if acq_func not in ("EI", "PI", "LCB", "gp_hedge"):
            raise ValueError(f"acq_func must be EI, PI, LCB or gp_hedge, got {acq_func!r}")
        self.n_initial = int(n_initial)
        self.scalarization = scalarization
        self.kappa = float(kappa)
        self.log_scale = log_scale
        self.acq_func = acq_func
        self.checkpoint = None if checkpoint is None else Checkpoint(checkpoint, "BayesOpt")
        self.rho = rho
        self.budget = budget
        self.n_points = n_points
        self._X: list[list[float]] = []
        self._F: list[list[float]] = []
        self._G: list[list[float]] = []
        self._seed = 0
        self._budget = np.inf

    # ------------------------------------------------------------------ setup

    def _setup(self, problem, **kwargs) -> None:
        xl, xu = np.asarray(problem.xl, float), np.asarray(problem.xu, float)
        if not (np.all(np.isfinite(xl)) and np.all(np.isfinite(xu))):
            raise ValueError("BayesOpt needs finite bounds xl and xu on every variable")
        if np.any(xl > xu):
            raise ValueError("the problem's bounds have xl > xu; fix the bounds")
        log = np.broadcast_to(np.asarray(self.log_scale, bool), xl.shape)
        if np.any(log & (xl <= 0)):
            raise ValueError("log_scale needs xl > 0 on the log-scaled variables")
        self._log = log
        seed = kwargs.get("seed")
        self._seed = int(seed) if seed is not None else 0
        self._start(problem, self.n_initial, generations_are_evaluations=True)

    def _signature(self, problem) -> dict:
        """Everything a resumed run must share with the run that wrote the checkpoint."""
        s = self.scalarization
        return {
            "n_var": int(problem.n_var), "n_obj": int(problem.n_obj),
            "xl": np.asarray(problem.xl, float).tolist(),
            "xu": np.asarray(problem.xu, float).tolist(),
            "scalarization": s if isinstance(s, str) else callable_identity(s),
            "kappa": self.kappa, "n_initial": self.n_initial, "seed": self._seed,
            "log_scale": self._log.tolist(), "acq_func": self.acq_func,
            "rho": float(self.rho), "n_points": int(self.n_points),
        }  # fmt: skip

    # ------------------------------------------------------------------ scalarisation

    def scalarise(self, F: np.ndarray, G: np.ndarray | None, iteration: int) -> np.ndarray:
        """Return the surrogate's targets (minimised) of all points at ``iteration``.

        Parameters
        ----------
        F : numpy.ndarray, shape (n, M)
            Objective values of the points evaluated so far (minimised).
        G : numpy.ndarray, shape (n, J), optional
            Their inequality constraints (G <= 0 feasible), penalised by ``kappa``.
        iteration : int
            The iteration; with ``"parego"`` it seeds the weight vector.

        Returns
        -------
        numpy.ndarray, shape (n,)
            The targets.

        Raises
        ------
        ValueError
            If a target is not finite.
        """
        F = np.asarray(F, float)
        m = F.shape[1]
        s = self.scalarization
        if callable(s):
            y = np.array([float(s(f)) for f in F])
        elif m == 1:
            y = F[:, 0].copy()
        elif s == "parego":
            w = np.random.default_rng([self._seed, iteration, 7]).dirichlet(np.ones(m))
            y = augmented_chebyshev(_normalise(F), w, self.rho)
        elif s == "sum":
            y = _normalise(F).mean(axis=1)
        elif s == "harmonic":
            u = 1.0 - _normalise(F) + 1e-9
            y = -m / (1.0 / u).sum(axis=1)
        elif s == "booml_ressum":
            y = -np.array([booml_ressum(f) for f in F])
        else:
            y = -np.array([booml_harmean(f) for f in F])
        if self.kappa > 0 and G is not None and G.size:
            y = y + self.kappa * np.maximum(G, 0.0).sum(axis=1)
        if not np.all(np.isfinite(y)):
            raise ValueError("the scalarised objective is not finite; check the problem's F")
        return y

    def _optimizer(self, iteration: int):
        from skopt import Optimizer
        from skopt.space import Real

        dims = [
            Real(float(lo), float(hi), prior="log-uniform" if lg else "uniform")
            for lo, hi, lg in zip(self.problem.xl, self.problem.xu, self._log, strict=True)
        ]
        seed = int(np.random.default_rng([self._seed, iteration, 11]).integers(2**31 - 1))
        return Optimizer(
            dims, base_estimator="GP", acq_func=self.acq_func, acq_optimizer="sampling",
            n_initial_points=self.n_initial, initial_point_generator="random",
            random_state=seed, acq_optimizer_kwargs={"n_points": self.n_points},
        )  # fmt: skip

    def _ask(self) -> np.ndarray:
        iteration = len(self._X)
        opt = self._optimizer(iteration)
        if iteration < self.n_initial:
            # Initial design: uniform (or log-uniform) points, seeded by the iteration.
            seed = int(np.random.default_rng([self._seed, iteration, 13]).integers(2**31 - 1))
            x = opt.space.rvs(n_samples=1, random_state=seed)[0]
            return np.asarray(x, float)
        G = np.asarray(self._G, float) if self._G and len(self._G[0]) else None
        y = self.scalarise(np.asarray(self._F), G, iteration)
        opt.tell([list(map(float, x)) for x in self._X], y.tolist())
        return np.asarray(opt.ask(), float)

    # ------------------------------------------------------------------ pymoo hooks

    def _infill(self):
        if len(self._X) >= self._budget:  # a resumed run whose budget is already spent
            return None
        return Population.new("X", self._ask()[None])

"""Multi-objective Bayesian optimisation with BoTorch, as a pymoo ``Algorithm``.

Every objective (and every inequality constraint) gets its own Gaussian process; the
next batch of ``q`` points maximises q-Log Noisy Expected Hypervolume Improvement
(qLogNEHVI: Daulton, Balandat and Bakshy, "Parallel Bayesian Optimization of Multiple
Noisy Objectives with Expected Hypervolume Improvement", NeurIPS 2021; Ament et al.,
"Unexpected Improvements to Expected Improvement for Bayesian Optimization", NeurIPS
2023). Unlike ``moopt.algorithms.BayesOpt``, nothing is scalarised: the acquisition
rewards a point for the hypervolume it would add to the front found so far.

The spaces the surrogates see:

* inputs: the problem's box mapped onto the unit cube, ``u = (x - xl) / (xu - xl)``;
* outcomes: BoTorch maximises, so the losses are negated and rescaled to [0, 1] by the
  best and worst values observed so far, ``y_j = (max f_j - f_j) / (max f_j - min f_j)``
  (1 is the best value seen). Each GP also standardises its outcome;
* constraints (pymoo's ``G <= 0`` is feasible, as in BoTorch) are divided by their
  standard deviation, which keeps the sign and so the feasible set.

Reference point. Hypervolume needs a point that every solution of interest dominates.
With ``ref_point=None`` it follows BoTorch's advice (``infer_reference_point``, after
Ishibuchi et al. 2011): in the normalised negated space above, the nadir of the observed
(feasible) Pareto front minus 10% of the front's range in each objective, i.e. slightly
worse than the worst Pareto-optimal value seen. It is recomputed every iteration as the
front moves; ``ref_point_`` holds the last one, in the problem's units. It rewards
filling in and pushing the current front more than stretching its ends: on ZDT1 (30
evaluations) the points found lay on the true front but only over f1 in [0, 0.4].
``ref_point="observed"`` applies the same rule to every observed (feasible) point rather
than the front, i.e. the worst value seen minus 10% of the observed range, which rewards
extending the front as well (see benchmarks/mobo_vs_skopt.py). A user-given
``ref_point`` is in the problem's units (minimisation: a solution dominates it when every
objective is below it) and must be dominated by at least one evaluated solution once
the initial design is in, or the run stops with a ValueError. Which solutions count is
one rule for all three: the feasible ones, or every evaluated one while none is feasible
(as for the final front, ``opt``).

Budget and batches. The initial design (scrambled Sobol or Latin hypercube points, seeded)
is evaluated as one batch, then every iteration evaluates ``batch_size`` points chosen by
sequential greedy optimisation of qLogNEHVI; the last batch is cut to what the budget
has left, so a run never evaluates more than its budget. A proposal that repeats an
evaluated point (a deterministic problem would return the same F) is replaced by the best
fresh point of a quasi-random set under the acquisition, so no evaluation is wasted.

Determinism and resume. All randomness (the initial design, the QMC sampler, the
restarts of the acquisition optimiser, GP fitting retries) derives from (seed, number of
points evaluated so far), inside a forked torch RNG, so the same seed gives the same run
and the global torch RNG is left untouched. With ``checkpoint`` the evaluated X, F, G are
written atomically after every batch; a run started with an existing checkpoint resumes
from it without evaluating any point again, and continues exactly as the uninterrupted
run would when the interrupted run stopped at a batch boundary (a budget of n_initial +
k * batch_size). The checkpoint must match the problem (sizes, bounds, constraints), the
seed and every setting that shapes the proposals (``n_initial``, ``init``,
``batch_size``, ``ref_point``, ``num_restarts``, ``raw_samples``, ``mc_samples``,
``maxiter``); a resume with any of them changed stops with a ValueError naming it. Only
the budget (and the device) may change between runs.

BoTorch is optional: ``pip install "moopt[bo]"``.
"""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
from pymoo.core.algorithm import Algorithm
from pymoo.core.population import Population

from ._checkpoint import Checkpoint, CheckpointedSearch, considered

INITIAL_DESIGNS = ("sobol", "lhs")
REF_RULES = ("front", "observed")
REPEAT_TOL = 1e-6  # two points closer than this (unit cube, max norm) are one point
_EXTRA_HINT = 'pip install "moopt[bo]" (or pip install botorch==0.18.1)'


def _require_botorch():
    try:
        import botorch  # noqa: F401
        import gpytorch  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"MOBO needs BoTorch, which is an optional extra of moopt: {_EXTRA_HINT}"
        ) from err


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _pareto_mask(Y: np.ndarray) -> np.ndarray:
    """Rows of ``Y`` (maximisation) that no other row dominates."""
    better_eq = (Y[None, :, :] >= Y[:, None, :]).all(axis=2)
    strictly = (Y[None, :, :] > Y[:, None, :]).any(axis=2)
    return ~(better_eq & strictly).any(axis=1)


def infer_reference_point(pareto_Y: np.ndarray, scale: float = 0.1) -> np.ndarray:
    """BoTorch's advice for a maximisation front: nadir minus ``scale`` times the range.

    Our own version of ``botorch.utils.multi_objective.hypervolume.infer_reference_point``
    without a maximal reference point.

    Parameters
    ----------
    pareto_Y : array_like, shape (n, M)
        The front's points (maximisation), at least one.
    scale : float, default 0.1
        Share of the range the reference point lies below the nadir.

    Returns
    -------
    numpy.ndarray, shape (M,)
        ``nadir - scale * span``: span is the front's range per objective (at least 1e-8);
        for a single point, the value's magnitude (at least 1e-8).

    Examples
    --------
    >>> from moopt.algorithms.mobo import infer_reference_point
    >>> infer_reference_point([[1.0, 0.0], [0.0, 2.0]])
    array([-0.1, -0.2])
    >>> infer_reference_point([[2.0, -4.0]])
    array([ 1.8, -4.4])
    """
    pareto_Y = np.asarray(pareto_Y, float)
    nadir, ideal = pareto_Y.min(axis=0), pareto_Y.max(axis=0)
    if len(pareto_Y) == 1:
        span = np.maximum(np.abs(nadir), 1e-8)
    else:
        span = np.maximum(ideal - nadir, 1e-8)
    return nadir - scale * span


def latin_hypercube(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` points in [0, 1]^d, one in each of the n equal slices of every axis.

    Parameters
    ----------
    n : int
        Number of points.
    d : int
        Dimension.
    rng : numpy.random.Generator
        Source of the permutations and the jitter within cells.

    Returns
    -------
    numpy.ndarray, shape (n, d)
        The points.

    Examples
    --------
    >>> import numpy as np
    >>> from moopt.algorithms.mobo import latin_hypercube
    >>> X = latin_hypercube(4, 2, np.random.default_rng(0))
    >>> np.sort((X * 4).astype(int), axis=0).T
    array([[0, 1, 2, 3],
           [0, 1, 2, 3]])
    """
    cells = np.stack([rng.permutation(n) for _ in range(d)], axis=1)
    return (cells + rng.random((n, d))) / n


class MOBO(CheckpointedSearch, Algorithm):
    """qLogNEHVI Bayesian optimisation over independent GPs (BoTorch), for n_obj >= 2.

    After a run, ``ref_point_`` holds the last reference point used, in the problem's units.

    Parameters
    ----------
    n_initial : int, optional
        Points of the initial design (>= 1); None: 2 (n_var + 1), BoTorch's tutorials'
        choice.
    batch_size : int, default 1
        Points proposed (and evaluated together) per iteration, q >= 1.
    ref_point : array_like or {"front", "observed"}, optional
        Hypervolume reference point in the problem's units (minimisation; finite, one value
        per objective); None (or ``"front"``) for BoTorch's advice on the observed front,
        ``"observed"`` for the same rule on all observed points (see the module docstring).
    init : {"sobol", "lhs"}, default "sobol"
        Initial design: scrambled Sobol or Latin hypercube, seeded.
    num_restarts : int, default 10
        Starts of the gradient-based acquisition optimiser (>= 1).
    raw_samples : int, default 512
        Quasi-random candidates the starts are chosen among (>= ``num_restarts``).
    mc_samples : int, default 128
        Quasi-Monte-Carlo samples of the posterior in the acquisition (>= 1).
    maxiter : int, default 200
        L-BFGS-B iterations per restart (>= 1).
    checkpoint : str or os.PathLike, optional
        A JSON file: written after every batch; if it exists, the run resumes from it.
    budget : int, optional
        The evaluation budget, when the termination does not state one.
    device : str, default "cpu"
        Torch device of the surrogates (double precision throughout).
    **kwargs
        Passed to ``pymoo.core.algorithm.Algorithm``.

    Raises
    ------
    ImportError
        If BoTorch is not installed (``pip install "moopt[bo]"``).
    ValueError or TypeError
        For settings outside the ranges above; at setup, for a single objective, equality
        constraints, missing or infinite bounds, or a reference point of the wrong length.
    """

    def __init__(
        self,
        n_initial: int | None = None,
        batch_size: int = 1,
        ref_point: np.ndarray | list[float] | str | None = None,
        init: str = "sobol",
        num_restarts: int = 10,
        raw_samples: int = 512,
        mc_samples: int = 128,
        maxiter: int = 200,
        checkpoint: str | os.PathLike | None = None,
        budget: int | None = None,
        device: str = "cpu",
        **kwargs,
    ) -> None:
        _require_botorch()
        super().__init__(**kwargs)
        self.n_initial = None if n_initial is None else _check_int("n_initial", n_initial, 1)
        self.batch_size = _check_int("batch_size", batch_size, 1)
        self.num_restarts = _check_int("num_restarts", num_restarts, 1)
        self.raw_samples = _check_int("raw_samples", raw_samples, 1)
        if self.raw_samples < self.num_restarts:
            raise ValueError(
                f"raw_samples ({raw_samples}) must be at least num_restarts ({num_restarts})"
            )
        self.mc_samples = _check_int("mc_samples", mc_samples, 1)
        self.maxiter = _check_int("maxiter", maxiter, 1)
        if init not in INITIAL_DESIGNS:
            raise ValueError(f"init must be one of {INITIAL_DESIGNS}, got {init!r}")
        self.init = init
        if ref_point is None or isinstance(ref_point, str):
            if ref_point not in (None, *REF_RULES):
                raise ValueError(
                    f"ref_point must be a vector, None or one of {REF_RULES}, got {ref_point!r}"
                )
            ref_point = None if ref_point == "front" else ref_point
        else:
            try:
                ref = np.asarray(ref_point, dtype=float)
            except (TypeError, ValueError) as err:
                raise TypeError(
                    f"ref_point must be a sequence of numbers, got {ref_point!r}"
                ) from err
            if ref.ndim != 1 or not np.all(np.isfinite(ref)):
                raise ValueError(
                    f"ref_point must be a finite 1-d vector (one value per objective), "
                    f"got {ref_point!r}"
                )
            ref_point = ref
        self.ref_point = ref_point
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, Real)):
            raise TypeError(f"budget must be a number of evaluations, got {budget!r}")
        self.budget = budget
        self.checkpoint = None if checkpoint is None else Checkpoint(checkpoint, "MOBO")
        self.device = device
        self.ref_point_: np.ndarray | None = None
        self._X: list[list[float]] = []
        self._F: list[list[float]] = []
        self._G: list[list[float]] = []
        self._seed = 0
        self._budget: float = np.inf
        self._n_init = self.n_initial or 0

    # ------------------------------------------------------------------ setup

    def _setup(self, problem, **kwargs) -> None:
        import torch

        if problem.n_obj < 2:
            raise ValueError(
                f"MOBO needs at least two objectives, the problem has n_obj={problem.n_obj}; "
                "use BayesOpt for a single objective"
            )
        if getattr(problem, "n_eq_constr", 0):
            raise ValueError("MOBO handles inequality constraints only (n_eq_constr must be 0)")
        if problem.xl is None or problem.xu is None:
            raise ValueError("MOBO needs box bounds xl and xu on the problem")
        xl = np.broadcast_to(np.asarray(problem.xl, float), (problem.n_var,))
        xu = np.broadcast_to(np.asarray(problem.xu, float), (problem.n_var,))
        if not (np.all(np.isfinite(xl)) and np.all(np.isfinite(xu))):
            raise ValueError("MOBO needs finite bounds xl and xu on every variable")
        if np.any(xl >= xu):
            raise ValueError("the problem's bounds need xl < xu on every variable; fix the bounds")
        self._xl, self._xu = xl.copy(), xu.copy()
        if isinstance(self.ref_point, np.ndarray) and len(self.ref_point) != problem.n_obj:
            raise ValueError(
                f"ref_point has {len(self.ref_point)} values but the problem has "
                f"n_obj={problem.n_obj}"
            )
        self._device = torch.device(self.device)
        seed = kwargs.get("seed", self.seed)
        self._seed = int(seed) if seed is not None else 0
        n0 = self.n_initial
        self._n_init = 2 * (problem.n_var + 1) if n0 is None else n0
        self._start(problem, self._n_init, generations_are_evaluations=False)

    def _signature(self, problem) -> dict:
        """Everything a resumed run must share with the run that wrote the checkpoint."""
        ref = self.ref_point
        return {
            "n_var": int(problem.n_var), "n_obj": int(problem.n_obj),
            "n_ieq_constr": int(getattr(problem, "n_ieq_constr", 0)),
            "xl": self._xl.tolist(), "xu": self._xu.tolist(),
            "n_initial": self._n_init, "init": self.init, "seed": self._seed,
            "batch_size": self.batch_size, "num_restarts": self.num_restarts,
            "raw_samples": self.raw_samples, "mc_samples": self.mc_samples,
            "maxiter": self.maxiter,
            "ref_point": ref.tolist() if isinstance(ref, np.ndarray) else ref,
        }  # fmt: skip

    # ------------------------------------------------------------------ proposals

    def _stream_seed(self, salt: int) -> int:
        rng = np.random.default_rng([self._seed, len(self._X), salt])
        return int(rng.integers(2**31 - 1))

    def initial_design(self) -> np.ndarray:
        """Return the ``n_initial`` points of the seeded initial design, in the problem's units.

        Returns
        -------
        numpy.ndarray, shape (n_initial, n_var)
            Sobol or Latin-hypercube points mapped onto the box.
        """
        import torch

        d = self.problem.n_var
        seed = int(np.random.default_rng([self._seed, 13]).integers(2**31 - 1))
        if self.init == "sobol":
            engine = torch.quasirandom.SobolEngine(d, scramble=True, seed=seed)
            U = engine.draw(self._n_init, dtype=torch.float64).numpy()
        else:
            U = latin_hypercube(self._n_init, d, np.random.default_rng(seed))
        return self._xl + U * (self._xu - self._xl)

    def _normalised_outcomes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(Y, F_max, span): negated losses rescaled to [0, 1], and how to map back."""
        F = np.asarray(self._F, float)
        hi, lo = F.max(axis=0), F.min(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        return (hi - F) / span, hi, span

    def _reference_point(self, Y: np.ndarray, hi: np.ndarray, span: np.ndarray) -> np.ndarray:
        """The reference point in the normalised negated space (see the module docstring)."""
        used = considered(self._G, len(self._X))
        Yf = Y[used]
        if isinstance(self.ref_point, str):  # "observed"
            return infer_reference_point(Yf)
        if self.ref_point is not None:
            F = np.asarray(self._F, float)[used]
            if not (F < self.ref_point).all(axis=1).any():
                raise ValueError(
                    f"ref_point {self.ref_point.tolist()} is not dominated by any evaluated "
                    "solution (every objective below it; the feasible solutions where there "
                    "are any); choose a larger ref_point or leave it None"
                )
            return (hi - self.ref_point) / span
        return infer_reference_point(Yf[_pareto_mask(Yf)])

    def _propose(self, q: int) -> np.ndarray:
        import torch
        from botorch.acquisition.multi_objective.logei import (
            qLogNoisyExpectedHypervolumeImprovement,
        )
        from botorch.acquisition.multi_objective.objective import (
            IdentityMCMultiOutputObjective,
        )
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import ModelListGP, SingleTaskGP
        from botorch.models.transforms.outcome import Standardize
        from botorch.optim import optimize_acqf
        from botorch.sampling import SobolQMCNormalSampler
        from gpytorch.mlls import SumMarginalLogLikelihood

        tkw = {"dtype": torch.float64, "device": self._device}
        m = self.problem.n_obj
        U = (np.asarray(self._X, float) - self._xl) / (self._xu - self._xl)
        Y, hi, span = self._normalised_outcomes()
        ref = self._reference_point(Y, hi, span)
        self.ref_point_ = hi - ref * span
        outcomes = [Y]
        n_con = len(self._G[0]) if self._G else 0
        if n_con:
            G = np.asarray(self._G, float)
            sd = G.std(axis=0)
            outcomes.append(G / np.where(sd > 0, sd, 1.0))
        targets = np.hstack(outcomes)
        seed = self._stream_seed(17)
        forked = [self._device] if self._device.type == "cuda" else []
        with torch.random.fork_rng(devices=forked):
            torch.manual_seed(seed)
            train_X = torch.as_tensor(U, **tkw)
            models = [
                SingleTaskGP(train_X, torch.as_tensor(targets[:, [j]], **tkw),
                             outcome_transform=Standardize(m=1))
                for j in range(targets.shape[1])
            ]  # fmt: skip
            model = ModelListGP(*models)
            fit_gpytorch_mll(SumMarginalLogLikelihood(model.likelihood, model))
            constraints = [
                (lambda Z, j=j: Z[..., m + j]) for j in range(n_con)
            ] or None  # fmt: skip
            acq = qLogNoisyExpectedHypervolumeImprovement(
                model=model,
                ref_point=torch.as_tensor(ref, **tkw),
                X_baseline=train_X,
                sampler=SobolQMCNormalSampler(sample_shape=torch.Size([self.mc_samples]),
                                              seed=seed),
                objective=IdentityMCMultiOutputObjective(outcomes=list(range(m)))
                if n_con else None,
                constraints=constraints,
                prune_baseline=True,
            )  # fmt: skip
            bounds = torch.stack([torch.zeros(U.shape[1], **tkw), torch.ones(U.shape[1], **tkw)])
            cand, _ = optimize_acqf(
                acq, bounds=bounds, q=q, num_restarts=self.num_restarts,
                raw_samples=self.raw_samples, sequential=True,
                options={"batch_limit": 5, "maxiter": self.maxiter, "seed": seed},
            )  # fmt: skip
            Uc = self._replace_repeats(acq, cand.detach().reshape(q, -1).clamp(0, 1), train_X,
                                       seed)  # fmt: skip
        return self._xl + Uc.cpu().numpy() * (self._xu - self._xl)

    def _replace_repeats(self, acq, cand, train_X, seed: int):
        """Candidates that repeat an evaluated point or an earlier one of the batch
        (within ``REPEAT_TOL`` of the box's width) give nothing on a deterministic problem;
        each is replaced by the best of ``raw_samples`` scrambled Sobol points under the
        acquisition, with the batch's points kept so far as pending."""
        import torch

        kept = []
        for i, c in enumerate(cand):
            seen = torch.cat([train_X, *[k[None] for k in kept]])
            if (seen - c).abs().amax(dim=1).min() > REPEAT_TOL:
                kept.append(c)
                continue
            engine = torch.quasirandom.SobolEngine(cand.shape[1], scramble=True, seed=seed + i)
            raw = engine.draw(self.raw_samples, dtype=cand.dtype).to(cand.device)
            fresh = torch.cdist(raw, seen, p=float("inf")).amin(dim=1) > REPEAT_TOL
            acq.set_X_pending(torch.stack(kept) if kept else None)
            with torch.no_grad():
                value = acq(raw[:, None, :])
            acq.set_X_pending(None)
            value[~fresh] = -torch.inf
            kept.append(raw[int(value.argmax())])
        return torch.stack(kept)

    def _next_points(self) -> np.ndarray | None:
        left = self._budget - len(self._X)
        if left <= 0:
            return None
        if len(self._X) < self._n_init:
            X = self.initial_design()[len(self._X):]
            return X[: int(min(len(X), left))]
        return self._propose(int(min(self.batch_size, left)))

    # ------------------------------------------------------------------ pymoo hooks

    def _infill(self):
        X = self._next_points()
        return None if X is None else Population.new("X", X)

"""The Dynamic Weighted Loss's constants as a multi-objective problem.

The paper fixes the sparsity score's coefficients and the weight bounds by hand
(a = b = c = 1, weights clipped to [0.2, 5.0]; "Adaptive Weighted Loss for Sequential
Recommendations on Sparse Domains", Algorithm 1 and the ablation on weight bounds).
``DomainWeightProblem`` makes them decision variables, x = (a, b, c, w_min, w_max)
in [0, 2]^3 x [0.05, 1] x [1.5, 10], and scores each choice by a short training run of the
dynamic variant (``problems.dwl.train_variant``) on the validation stage:
objectives (minimised) -mean Recall@K over the targets in the sparse domains and -mean
Recall@K over the targets in the dense ones. ``reference_points()`` gives the paper's
choice, so a comparison can say whether it is on the front.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
from pymoo.core.problem import Problem

from recommenders.data import make_split

from .dwl import DWLConfig, evaluate_domains, train_variant

XL = np.array([0.0, 0.0, 0.0, 0.05, 1.5])
XU = np.array([2.0, 2.0, 2.0, 1.0, 10.0])
PAPER = np.array([1.0, 1.0, 1.0, 0.2, 5.0])


class DomainWeightProblem(Problem):
    """x = (a, b, c, w_min, w_max) -> (-sparse Recall@K, -dense Recall@K) on validation.

    Decision variables (5 reals): the sparsity score's coefficients a, b, c in [0, 2],
    the lower weight bound w_min in [0.05, 1] and the upper one w_max in [1.5, 10]
    (``variable_names``). Objectives (both minimised, each in [-1, 0]): minus the mean
    validation Recall@K over the targets in the sparse domains, and over those in the
    dense domains (``objective_names``), from one training run of the dynamic variant
    per point (minutes each). Every evaluation appends its values, epochs and seconds to
    ``history``.

    Parameters
    ----------
    dataset : recommenders.data.Dataset
        Interactions with item genres (the domains); split leave-one-out.
    config : DWLConfig or None, default None
        Training and evaluation settings; the decision variables replace its ``a``,
        ``b``, ``c``, ``w_min`` and ``w_max``. None means ``DWLConfig(epochs=8,
        patience=3)``.
    seed : int, default 0
        Seed of every training run.
    device : str, default "cpu"
        Torch device of the training runs (``"cpu"``, ``"cuda"`` or ``"auto"``).
    """

    variable_names = ("a", "b", "c", "w_min", "w_max")

    def __init__(self, dataset, config: DWLConfig | None = None, seed: int = 0,
                 device: str = "cpu") -> None:  # fmt: skip
        self.dataset = dataset
        self.config = config or DWLConfig(epochs=8, patience=3)
        self.seed, self.device = int(seed), device
        self.split = make_split(dataset.interactions, "leave-one-out")
        self.history: list[dict] = []
        k = self.config.k
        self.objective_names = (f"-sparse Recall@{k}", f"-dense Recall@{k}")
        super().__init__(n_var=5, n_obj=2, xl=XL, xu=XU)

    def reference_points(self) -> dict[str, np.ndarray]:
        """The paper's constants (1, 1, 1, [0.2, 5.0]).

        Returns
        -------
        dict of str to numpy.ndarray
            One entry, a label and the (5,) point x = (1, 1, 1, 0.2, 5).
        """
        return {"paper (1, 1, 1, [0.2, 5])": PAPER.copy()}

    def config_for(self, x) -> DWLConfig:
        """The training settings of one decision vector.

        Parameters
        ----------
        x : array_like
            (5,) finite values (a, b, c, w_min, w_max); bounds are not checked here.

        Returns
        -------
        DWLConfig
            ``config`` with a, b, c, w_min and w_max replaced by ``x``.

        Raises
        ------
        ValueError
            If ``x`` is not 5 finite values or ``w_min >= w_max``.
        """
        x = np.asarray(x, dtype=float)
        if x.shape != (5,) or not np.all(np.isfinite(x)):
            raise ValueError(f"x must be 5 finite values (a, b, c, w_min, w_max), got {x}")
        if x[3] >= x[4]:
            raise ValueError(f"w_min ({x[3]}) must be below w_max ({x[4]})")
        return replace(self.config, a=float(x[0]), b=float(x[1]), c=float(x[2]),
                       w_min=float(x[3]), w_max=float(x[4]))  # fmt: skip

    def _evaluate(self, X, out, *args, **kwargs):
        k = self.config.k
        F = np.empty((len(X), 2))
        for i, x in enumerate(np.atleast_2d(X)):
            t0 = time.perf_counter()
            cfg = self.config_for(x)
            model, info = train_variant(self.dataset, self.split, "dynamic", self.seed, cfg,
                                        self.device)  # fmt: skip
            table, *_ = evaluate_domains(model, self.split, self.dataset, cfg, stage="valid")
            by = table.set_index("domain")[f"Recall@{k}"]
            F[i] = [-by["[sparse]"], -by["[dense]"]]
            self.history.append({**dict(zip(self.variable_names, x.tolist(), strict=True)),
                                 "sparse": float(by["[sparse]"]), "dense": float(by["[dense]"]),
                                 "epochs": info["epochs_run"],
                                 "seconds": time.perf_counter() - t0})  # fmt: skip
        out["F"] = F

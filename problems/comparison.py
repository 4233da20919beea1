"""The solver comparison job behind ``moopt compare``: a problem by name, NSGA-II, MGDA
and Bayesian optimisation with settings sized to the budget, and the files written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pymoo.algorithms.moo.nsga2 import NSGA2

from moopt.algorithms import MGDA, BayesOpt
from moopt.compare import Comparison, compare
from moopt.plots import save_figure

PROBLEMS = ("quadratics", "loss-weight")
SOLVERS = ("nsga2", "mgda", "bo")


def build_problem(name: str, data: str = "ml-100k", seed: int = 0, warm_start: bool = True):
    """``"quadratics"`` (cheap, with gradients) or ``"loss-weight"`` (BOOML on ``data``)."""
    if name == "quadratics":
        from .synthetic import QuadraticsProblem

        return QuadraticsProblem(n_var=5, n_obj=2, seed=seed)
    if name == "loss-weight":
        from recommenders.pipeline import load_data

        from .loss_weight import LossWeightConfig, LossWeightProblem

        return LossWeightProblem(load_data(data, seed=seed),
                                 LossWeightConfig(seed=seed, warm_start=warm_start))  # fmt: skip
    raise ValueError(f"unknown problem {name!r}; choose one of {PROBLEMS}")


def default_solvers(problem, budget: int, names=SOLVERS) -> dict:
    """NSGA-II with a population of about a fifth of the budget (8 to 50), MGDA from four
    starts, BO with a fifth of the budget (at least 5) as initial points, ParEGO for
    several objectives."""
    unknown = set(names) - set(SOLVERS)
    if unknown:
        raise ValueError(f"unknown solvers {sorted(unknown)}; choose from {SOLVERS}")
    pop = int(np.clip(budget // 5, 8, 50))
    made = {
        "nsga2": lambda: NSGA2(pop_size=pop),
        "mgda": lambda: MGDA(pop_size=4),
        "bo": lambda: BayesOpt(n_initial=max(5, budget // 5)),
    }
    return {name: made[name]() for name in names}


def comparison_job(problem_name: str, out_dir, budget: float = 60, solvers=SOLVERS,
                   data: str = "ml-100k", seed: int = 0,
                   budget_type: str = "evaluations",
                   progress: bool = False) -> tuple[Comparison, list]:  # fmt: skip
    """Run the comparison and write comparison.csv, curves.csv, hypervolume.png, fronts.png.
    With a budget in seconds the solvers are sized as for a budget of 60 evaluations."""
    from recommenders.io import write_csv

    problem = build_problem(problem_name, data, seed)
    size = int(budget) if budget_type == "evaluations" else 60
    result = compare(problem, default_solvers(problem, size, solvers), budget=budget,
                     budget_type=budget_type, seed=seed, progress=progress)  # fmt: skip
    out = Path(out_dir)
    curves = pd.concat([c.assign(solver=n) for n, c in result.curves.items()], ignore_index=True)
    names = getattr(problem, "objective_names", None)
    written = [
        write_csv(out / "comparison.csv", result.table),
        write_csv(out / "curves.csv", curves),
        save_figure(result.plot_hypervolume(), out / "hypervolume.png"),
        save_figure(result.plot_fronts(names), out / "fronts.png"),
    ]
    return result, written

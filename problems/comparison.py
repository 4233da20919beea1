"""The solver comparison job behind ``moopt compare``.

A problem by name; NSGA-II, MGDA and Bayesian optimisation (scikit-optimize and BoTorch)
with settings sized to the budget, run over one or several seeds; and the files written.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.problem import Problem

from moopt.algorithms import MGDA, BayesOpt
from moopt.compare import Comparison, compare
from moopt.plots import save_figure

PROBLEMS = ("quadratics", "loss-weight", "domain-weight")
"""The toolkit's own problems; any pymoo test problem (``zdt1``, ``dtlz2``, ...) and a
user's class as ``module:Class`` are accepted too."""
STANDARD = ("zdt1", "zdt2", "dtlz2", "quadratics")
"""Problems with a known Pareto front, where the comparison also reports IGD."""
SOLVERS = ("nsga2", "mgda", "bo", "mobo")
DEFAULT_SOLVERS = ("nsga2", "mgda", "bo")


def build_problem(name: str, data: str = "ml-100k", seed: int = 0, warm_start: bool = True,
                  n_var: int | None = None,
                  problem_args: dict | None = None) -> Problem:  # fmt: skip
    """A problem by name.

    Parameters
    ----------
    name : str
        ``"quadratics"`` (cheap, with gradients), ``"loss-weight"`` (BOOML on ``data``),
        ``"domain-weight"`` (the DWL constants on ``data``), any name pymoo's
        ``get_problem`` knows (``"zdt1"``, ``"dtlz2"``, ...) or
        ``"package.module:Class"``, a ``Problem`` subclass imported with the current
        folder first on ``sys.path``.
    data : str, default "ml-100k"
        Dataset of the training-run problems (``recommenders.pipeline.load_data``).
    seed : int, default 0
        Seed of the quadratics' centres, of the data loading and of the training runs.
    warm_start : bool, default True
        ``"loss-weight"`` only: each training run starts from the previous one's weights
        (``LossWeightConfig.warm_start``).
    n_var : int or None, default None
        Number of variables of ``"quadratics"`` (None: 5) or of a pymoo test problem
        (None: its default); ignored otherwise.
    problem_args : dict or None, default None
        Keyword arguments of a ``module:Class`` class or of pymoo's problem
        (``--problem-args``); refused for the toolkit's own problems.

    Returns
    -------
    pymoo.core.problem.Problem
        The problem, ready to evaluate.

    Raises
    ------
    ValueError
        For an empty or unknown name, ``problem_args`` given to one of the toolkit's
        problems, or an error raised by a user's module while it is imported or its class
        built (the message names the module).
    TypeError
        If ``module:Class`` names something that is not a ``Problem`` subclass.

    Examples
    --------
    >>> from problems.comparison import build_problem
    >>> problem = build_problem("quadratics", n_var=3, seed=1)
    >>> type(problem).__name__, problem.n_var, problem.n_obj
    ('QuadraticsProblem', 3, 2)
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"problem must be a non-empty name, got {name!r}")
    problem_args = dict(problem_args or {})
    if problem_args and ":" not in name and name in PROBLEMS:
        raise ValueError(f"--problem-args applies to module:Class and pymoo test problems, "
                         f"not to {name!r}")  # fmt: skip
    if name == "quadratics":
        from .synthetic import QuadraticsProblem

        return QuadraticsProblem(n_var=n_var or 5, n_obj=2, seed=seed)
    if name == "loss-weight":
        from recommenders.pipeline import load_data

        from .loss_weight import LossWeightConfig, LossWeightProblem

        return LossWeightProblem(load_data(data, seed=seed),
                                 LossWeightConfig(seed=seed, warm_start=warm_start))  # fmt: skip
    if name == "domain-weight":
        from recommenders.pipeline import load_data

        from .domain_weight import DomainWeightProblem

        return DomainWeightProblem(load_data(data, seed=seed), seed=seed)
    if ":" in name:
        return _user_problem(name, problem_args)
    from pymoo.problems import get_problem

    try:
        return get_problem(name, **({"n_var": int(n_var)} if n_var else {}), **problem_args)
    except Exception as exc:  # pymoo raises a bare Exception for an unknown name
        raise ValueError(
            f"unknown problem {name!r}: choose one of {PROBLEMS}, a pymoo test problem "
            f"(zdt1, zdt2, dtlz2, ...) or module:Class ({exc})"
        ) from exc


def _user_problem(spec: str, kwargs: dict) -> Problem:
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ValueError(f"a problem class is given as module:Class, got {spec!r}")
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:  # `python -m` puts the current folder first; a console script does not
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValueError(f"cannot import module {module_name!r} for problem {spec!r} from "
                         f"{cwd} or the installed packages: {exc}") from exc  # fmt: skip
    except Exception as exc:  # the user's module failed while it ran
        raise ValueError(f"importing module {module_name!r} for problem {spec!r} raised "
                         f"{type(exc).__name__}: {exc}") from exc  # fmt: skip
    finally:
        if added:
            sys.path.remove(cwd)
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ValueError(f"module {module_name!r} has no {class_name!r} (problem {spec!r})")
    if not (isinstance(cls, type) and issubclass(cls, Problem)):
        raise TypeError(f"{spec} must be a pymoo Problem subclass, got {cls!r}")
    try:
        return cls(**kwargs)
    except Exception as exc:
        raise ValueError(f"{spec}(**{kwargs!r}) in module {module_name!r} raised "
                         f"{type(exc).__name__}: {exc}") from exc  # fmt: skip


def default_solvers(problem, budget: int, names=DEFAULT_SOLVERS) -> dict:
    """Solvers sized to an evaluation budget.

    NSGA-II with a population of about a fifth of the budget (8 to 50); MGDA from four
    starts (analytic gradients where the problem gives them, else finite differences,
    charged to the budget), fewer when four first generations do not fit in the budget:
    with finite differences a start costs 1 + 2 n_var evaluations, so at a budget of 50
    on a 10-variable problem MGDA runs from 2 starts (a warning says so); when not even
    one start fits, MGDA is left out of several solvers (a warning says so) and, alone,
    refused by ``moopt.compare.compare`` with the budget it needs;
    BayesOpt (scikit-optimize, ParEGO) and MOBO (BoTorch
    qLogNEHVI) with a fifth of the budget (at least 5) as initial design; MOBO proposes
    one point per iteration up to 60 evaluations and 5 beyond, with a lighter
    acquisition search so that a run of 200 evaluations stays within minutes on a CPU.

    Parameters
    ----------
    problem : pymoo.core.problem.Problem
        The problem (MGDA's cost per start depends on its ``n_var`` and gradients).
    budget : int
        Evaluations each solver may spend.
    names : sequence of str, default ("nsga2", "mgda", "bo")
        Solvers to build, among ``"nsga2"``, ``"mgda"``, ``"bo"`` and ``"mobo"``.

    Returns
    -------
    dict of str to pymoo.core.algorithm.Algorithm
        Name -> solver, in the order of ``names``, without an MGDA left out.

    Raises
    ------
    ValueError
        If a name is not a known solver.

    Examples
    --------
    >>> from problems.comparison import build_problem, default_solvers
    >>> solvers = default_solvers(build_problem("quadratics"), budget=100)
    >>> list(solvers), solvers["nsga2"].pop_size
    (['nsga2', 'mgda', 'bo'], 20)
    """
    unknown = set(names) - set(SOLVERS)
    if unknown:
        raise ValueError(f"unknown solvers {sorted(unknown)}; choose from {SOLVERS}")
    pop = int(np.clip(budget // 5, 8, 50))
    n_initial = max(5, budget // 5)

    def mobo():
        from moopt.algorithms import MOBO

        return MOBO(n_initial=n_initial, batch_size=1 if budget <= 60 else 5,
                    num_restarts=4, raw_samples=256, mc_samples=64)  # fmt: skip

    def mgda():
        solver = MGDA(pop_size=4)
        each = solver.evaluations_per_start(problem)
        starts = int(min(budget // each, 4))
        why = (f"each start costs {each} evaluations in its first generation (finite "
               f"differences on {problem.n_var} variables) and the budget is {budget}")
        if starts == 0 and len(names) > 1:
            warnings.warn(f"MGDA is left out: {why}", stacklevel=3)
            return None
        if starts < 4:  # one start that does not fit either: compare refuses it, saying why
            warnings.warn(f"MGDA runs from {max(starts, 1)} start"
                          f"{'s' if starts > 1 else ''} instead of 4: {why}", stacklevel=3)
            solver = MGDA(pop_size=max(starts, 1))
        return solver

    made = {
        "nsga2": lambda: NSGA2(pop_size=pop),
        "mgda": mgda,
        "bo": lambda: BayesOpt(n_initial=n_initial),
        "mobo": mobo,
    }
    solvers = {name: made[name]() for name in names}
    return {name: solver for name, solver in solvers.items() if solver is not None}


def reference_points(problem, result: Comparison) -> tuple[dict, list[dict]]:
    """Evaluate ``problem.reference_points()`` and say which solvers' archives dominate each.

    Parameters
    ----------
    problem : pymoo.core.problem.Problem
        The compared problem; one without a ``reference_points`` method has none.
    result : moopt.compare.Comparison
        The comparison whose archives are checked.

    Returns
    -------
    marks : dict of str to numpy.ndarray
        Label -> objective vector F of each point, for the fronts figure.
    rows : list of dict
        One row per point: ``point``, ``x1..``, ``f1..`` and ``dominated by`` (the
        solvers' names, or ``"none"``).
    """
    marks, rows = {}, []
    for label, x in getattr(problem, "reference_points", dict)().items():
        f = np.asarray(problem.evaluate(np.atleast_2d(x), return_values_of=["F"]))[0]
        marks[label] = f
        rows.append({"point": label, **{f"x{j + 1}": v for j, v in enumerate(x)},
                     **{f"f{j + 1}": v for j, v in enumerate(f)},
                     "dominated by": ", ".join(result.dominated_by(f)) or "none"})  # fmt: skip
    return marks, rows


def evaluation_history(result: Comparison) -> pd.DataFrame:
    """Every evaluation of each solver's first seed, for problems that keep a ``history``.

    The training-run problems keep one (decision variables, objectives, seconds); the
    fronts alone do not say which constants produced them.

    Parameters
    ----------
    result : moopt.compare.Comparison
        A finished comparison.

    Returns
    -------
    pandas.DataFrame
        The history rows with ``solver`` and ``evaluation`` (1-based) columns; empty when
        the problem keeps no history.
    """
    frames = []
    for name, res in result.results.items():
        history = getattr(getattr(res, "problem", None), "history", None)
        if history:
            frame = pd.DataFrame(history)
            frames.append(frame.assign(solver=name, evaluation=np.arange(1, len(frame) + 1)))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def comparison_job(problem_name: str, out_dir, budget: float = 60, solvers=DEFAULT_SOLVERS,
                   data: str = "ml-100k", seed: int = 0,
                   budget_type: str = "evaluations",
                   progress: bool = False, seeds: int = 1,
                   n_var: int | None = None, settings: dict | None = None,
                   problem_args: dict | None = None) -> tuple[Comparison, list]:  # fmt: skip
    """Run a solver comparison and write its files.

    Writes comparison.csv (one row per solver: means and, with several seeds, 95% CIs),
    runs.csv (every solver and seed), curves.csv, bands.csv, significance.csv (the two
    best solvers paired over seeds, with several seeds), fronts.csv (every solver's and
    seed's final front, X and F), comparison.json (the reference point, the sizes, seeds
    and solvers, the settings (this function's arguments updated by ``settings``) and the
    package versions), pareto_front.npz where the front is known (``Comparison.save``),
    hypervolume.png and fronts.png. For a problem with ``reference_points()`` (the DWL
    paper's constants, say) each is evaluated, marked on the fronts and listed in
    reference_points.csv with the solvers that dominate it; a problem that keeps a
    ``history`` of its evaluations gets evaluations.csv. The folder is held while the job
    runs (``recommenders.io.job_folder``).

    Parameters
    ----------
    problem_name : str
        The problem, as ``build_problem`` takes it.
    out_dir : str or pathlib.Path
        Output folder.
    budget : float, default 60
        Budget per solver and seed, in ``budget_type`` units.
    solvers : sequence of str, default ("nsga2", "mgda", "bo")
        Solvers to compare (``default_solvers``'s names).
    data : str, default "ml-100k"
        Dataset of the training-run problems.
    seed : int, default 0
        First seed (the problem's and the solvers').
    budget_type : str, default "evaluations"
        ``"evaluations"`` or ``"seconds"`` of wall time per run; with seconds the solvers
        are sized as for a budget of 60 evaluations.
    progress : bool, default False
        Show a progress bar per run.
    seeds : int or sequence of int, default 1
        A number of seeds (``seed .. seed + seeds - 1``) or the seeds themselves.
    n_var : int or None, default None
        Number of variables of a scalable problem (``build_problem``).
    settings : dict or None, default None
        Recorded in comparison.json over this function's arguments (e.g. every option of
        the command line).
    problem_args : dict or None, default None
        Keyword arguments of the problem (``build_problem``).

    Returns
    -------
    result : moopt.compare.Comparison
        The comparison (loads back from the folder with ``Comparison.load``).
    files : list of pathlib.Path
        The files written.
    """
    from recommenders.io import job_folder

    # The folder is held while the job runs, and the temporaries a killed run left are
    # deleted; a comparison has no partial state to resume, so a rerun computes it again
    # from the same seeds and writes the same files.
    with job_folder(out_dir):
        return _comparison_job(problem_name, out_dir, budget, solvers, data, seed,
                               budget_type, progress, seeds, n_var, settings,
                               problem_args)  # fmt: skip


def _comparison_job(problem_name, out_dir, budget, solvers, data, seed, budget_type, progress,
                    seeds, n_var, settings,
                    problem_args=None) -> tuple[Comparison, list]:  # fmt: skip
    from recommenders.io import write_csv

    problem = build_problem(problem_name, data, seed, n_var=n_var, problem_args=problem_args)
    size = int(budget) if budget_type == "evaluations" else 60
    result = compare(problem, default_solvers(problem, size, solvers), budget=budget,
                     budget_type=budget_type, seed=seed, seeds=seeds,
                     progress=progress)  # fmt: skip
    out = Path(out_dir)
    names = getattr(problem, "objective_names", None)
    marks, reference = reference_points(problem, result)
    job = {"problem": problem_name, "budget": budget, "budget_type": budget_type,
           "solvers": list(solvers), "data": data, "seed": seed, "seeds": seeds,
           "n_var": n_var}  # fmt: skip
    if problem_args:
        job["problem_args"] = dict(problem_args)
    written = result.save(out, problem_name, {**job, **(settings or {})})
    if reference:
        written.append(write_csv(out / "reference_points.csv", pd.DataFrame(reference)))
    history = evaluation_history(result)
    if len(history):
        written.append(write_csv(out / "evaluations.csv", history))
    written += [
        save_figure(result.plot_hypervolume(), out / "hypervolume.png"),
        save_figure(result.plot_fronts(names, marks), out / "fronts.png"),
    ]
    return result, written

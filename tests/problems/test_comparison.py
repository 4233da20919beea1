"""The comparison job behind ``moopt compare``."""

import pandas as pd
import pytest
from pymoo.algorithms.moo.nsga2 import NSGA2

from moopt.algorithms import MGDA, BayesOpt
from problems import QuadraticsProblem
from problems.comparison import build_problem, comparison_job, default_solvers


def test_build_problem_and_default_solvers():
    p = build_problem("quadratics", seed=3)
    assert isinstance(p, QuadraticsProblem) and (p.n_var, p.n_obj) == (5, 2)
    s = default_solvers(p, 100)
    assert isinstance(s["nsga2"], NSGA2) and s["nsga2"].pop_size == 20
    assert isinstance(s["mgda"], MGDA) and isinstance(s["bo"], BayesOpt)
    assert s["bo"].n_initial == 20
    assert default_solvers(p, 10, ("bo",))["bo"].n_initial == 5
    with pytest.raises(ValueError, match="unknown problem"):
        build_problem("knapsack")
    with pytest.raises(ValueError, match="unknown solvers"):
        default_solvers(p, 10, ("cmaes",))


def test_comparison_job_writes_its_files(tmp_path):
    result, written = comparison_job("quadratics", tmp_path, budget=24, seed=1)
    assert [w.name for w in written] == ["comparison.csv", "curves.csv", "hypervolume.png",
                                         "fronts.png"]
    table = pd.read_csv(tmp_path / "comparison.csv")
    assert list(table["solver"]) == ["nsga2", "mgda", "bo"]
    assert (table["status"] == "ok").all() and (table["hypervolume"] > 0).all()
    pd.testing.assert_frame_equal(table, result.table, check_dtype=False)
    curves = pd.read_csv(tmp_path / "curves.csv")
    assert set(curves["solver"]) == {"nsga2", "mgda", "bo"}
    assert not curves.isna().any().any()

"""The comparison job behind ``moopt compare``."""

import json

import pandas as pd
import pytest
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.problems.multi.zdt import ZDT1

from moopt.algorithms import MGDA, BayesOpt
from moopt.compare import compare
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
    with pytest.raises(ValueError, match="unknown problem 'knapsack'"):
        build_problem("knapsack")
    with pytest.raises(ValueError, match="unknown solvers"):
        default_solvers(p, 10, ("cmaes",))


def test_pymoo_test_problems_by_name_and_a_user_class():
    z = build_problem("zdt1", n_var=6)
    assert isinstance(z, ZDT1) and z.n_var == 6
    d = build_problem("dtlz2")
    assert (d.n_obj, d.pareto_front().shape[1]) == (3, 3)
    u = build_problem("problems.synthetic:QuadraticsProblem")
    assert isinstance(u, QuadraticsProblem)
    with pytest.raises(ValueError, match="cannot import module 'no_such_module'"):
        build_problem("no_such_module:P")
    with pytest.raises(ValueError, match="has no 'Missing'"):
        build_problem("problems.synthetic:Missing")
    with pytest.raises(TypeError, match="must be a pymoo Problem subclass"):
        build_problem("problems.comparison:build_problem")
    with pytest.raises(ValueError, match="module:Class"):
        build_problem("problems.synthetic:")


def test_mobo_is_sized_to_the_budget():
    pytest.importorskip("botorch")
    p = build_problem("zdt1")
    assert default_solvers(p, 50, ("mobo",))["mobo"].batch_size == 1
    m = default_solvers(p, 200, ("mobo",))["mobo"]
    assert (m.n_initial, m.batch_size) == (40, 5)


def test_comparison_job_writes_its_files(tmp_path):
    result, written = comparison_job("quadratics", tmp_path, budget=24, seed=1)
    assert [w.name for w in written] == ["comparison.csv", "runs.csv", "curves.csv", "bands.csv",
                                         "fronts.csv", "pareto_front.npz", "comparison.json",
                                         "hypervolume.png", "fronts.png"]  # fmt: skip
    settings = json.loads((tmp_path / "comparison.json").read_text())["settings"]
    assert settings == {"problem": "quadratics", "budget": 24, "budget_type": "evaluations",
                        "solvers": ["nsga2", "mgda", "bo"], "data": "ml-100k", "seed": 1,
                        "seeds": 1, "n_var": None}  # fmt: skip
    table = pd.read_csv(tmp_path / "comparison.csv")
    assert list(table["solver"]) == ["nsga2", "mgda", "bo"]
    assert (table["status"] == "ok").all() and (table["hypervolume"] > 0).all()
    pd.testing.assert_frame_equal(table, result.table, check_dtype=False)
    curves = pd.read_csv(tmp_path / "curves.csv")
    assert set(curves["solver"]) == {"nsga2", "mgda", "bo"}
    assert not curves.isna().any().any()


def test_comparison_job_over_seeds_on_zdt1(tmp_path):
    result, written = comparison_job("zdt1", tmp_path, budget=24, seed=0, seeds=2, n_var=4,
                                     solvers=("nsga2", "bo"))
    assert "significance.csv" in [w.name for w in written]
    table = pd.read_csv(tmp_path / "comparison.csv").set_index("solver")
    assert (table["seeds"] == 2).all()
    assert {"hypervolume_ci_low", "igd", "igd_ci_high"} <= set(table.columns)
    assert (table["hypervolume_ci_low"] <= table["hypervolume"]).all()
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert len(runs) == 4 and set(runs["seed"]) == {0, 1}
    sig = pd.read_csv(tmp_path / "significance.csv")
    assert list(sig["indicator"]) == ["hypervolume", "igd"]


def test_mgda_starts_shrink_to_fit_finite_differences_in_the_budget():
    zdt = build_problem("zdt1", n_var=10)
    # A start costs 1 + 2 x 10 = 21 evaluations: 2 fit in 50, 4 in 84, 1 (refused later) in 20.
    with pytest.warns(UserWarning, match="MGDA runs from 2 starts instead of 4: each start "
                      "costs 21 evaluations"):  # fmt: skip
        assert default_solvers(zdt, 50, ("mgda",))["mgda"].pop_size == 2
    assert default_solvers(zdt, 84, ("mgda",))["mgda"].pop_size == 4
    with pytest.warns(UserWarning, match="from 1 start instead"):
        assert default_solvers(zdt, 41, ("mgda",))["mgda"].pop_size == 1
    # Not one start fits: left out of several solvers, and alone refused by compare.
    with pytest.warns(UserWarning, match="MGDA is left out: each start costs 21"):
        assert list(default_solvers(zdt, 20, ("nsga2", "mgda"))) == ["nsga2"]
    with pytest.warns(UserWarning, match="from 1 start instead"):
        alone = default_solvers(zdt, 20, ("mgda",))
    with pytest.raises(ValueError, match=r"needs 21 evaluations .* \(1 start x 21 "
                       r"evaluations, 20 of them gradient probes\) .* at least 21$"):  # fmt: skip
        compare(zdt, alone, budget=20)
    # Analytic gradients: four starts at any budget.
    assert default_solvers(build_problem("quadratics"), 10, ("mgda",))["mgda"].pop_size == 4

"""The comparison harness: NSGA-II, MGDA and BO on one problem under one budget."""

import numpy as np
import pandas as pd
import pytest
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.indicators.hv import HV
from pymoo.problems import get_problem

from moopt.algorithms import MGDA, BayesOpt
from moopt.compare import compare, nondominated
from problems import QuadraticsProblem


@pytest.fixture(scope="module")
def result():
    p = QuadraticsProblem(n_var=3, n_obj=2, seed=0)
    solvers = {"nsga2": NSGA2(pop_size=10), "mgda": MGDA(pop_size=3), "bo": BayesOpt(n_initial=6)}
    return p, compare(p, solvers, budget=40, seed=0)


def test_table_and_budget(result):
    p, r = result
    t = r.table
    assert list(t["solver"]) == ["nsga2", "mgda", "bo"]
    assert (t["status"] == "ok").all()
    assert (t["hypervolume"] > 0).all()
    # BO evaluates one point per iteration, so it stops exactly at the budget; NSGA-II at
    # the end of the generation that crosses it; MGDA earlier if all its points are
    # Pareto stationary.
    ev = t.set_index("solver")["evaluations"]
    assert ev["bo"] == 40 and 40 <= ev["nsga2"] < 50
    mgda = r.results["mgda"]
    assert ev["mgda"] >= 40 or np.all(mgda.pop.get("norm") <= 1e-4)
    for name, c in r.curves.items():
        assert np.all(np.diff(c["hypervolume"]) >= -1e-12), name  # the archive never loses
        assert np.all(np.diff(c["evaluations"]) >= 0)  # a stationary MGDA step evaluates nothing


def test_hypervolumes_use_one_reference_point(result):
    p, r = result
    hv = HV(ref_point=r.ref_point)
    for name, F in r.fronts.items():
        assert r.table.loc[r.table.solver == name, "hypervolume"].item() == pytest.approx(hv(F))
    # All archived points are inside the reference box.
    assert all(np.all(F < r.ref_point) for F in r.fronts.values())
    # Against the exact front, every solver's front is dominated or on it.
    exact_hv = hv(p.pareto_front(2000))
    assert (r.table["hypervolume"] <= exact_hv + 1e-6).all()


def test_plots(result):
    _, r = result
    assert r.plot_hypervolume() is not None
    assert r.plot_fronts(["f1", "f2"]) is not None


def test_a_solver_that_cannot_run_is_reported_not_fatal():
    r = compare(get_problem("zdt1", n_var=4), {"nsga2": NSGA2(pop_size=8),
                                                    "mgda": MGDA(gradient="problem")},
                budget=24)
    row = r.table.set_index("solver").loc["mgda"]
    assert row["status"].startswith("error: MGDA needs gradients")
    assert r.table.set_index("solver").loc["nsga2", "status"] == "ok"
    with pytest.raises(ValueError, match="no solver produced any solution .*mgda: error: MGDA"):
        compare(get_problem("zdt1", n_var=4), {"mgda": MGDA(gradient="problem")}, budget=10)


def test_nondominated_and_errors():
    F = np.array([[1, 2], [2, 1], [2, 2], [1, 2]])
    assert nondominated(F).tolist() == [[1, 2], [2, 1]]
    with pytest.raises(ValueError, match="budget_type"):
        compare(QuadraticsProblem(), {"a": NSGA2()}, budget_type="hours")
    with pytest.raises(TypeError, match="pymoo Algorithm"):
        compare(QuadraticsProblem(), {"a": "nsga2"})


class _Counting(QuadraticsProblem):
    """Counts its evaluations, like a problem with a warm start or a history."""

    def __init__(self):
        super().__init__(n_var=2, n_obj=2, seed=0)
        self.seen = 0

    def _evaluate(self, X, out, *args, **kwargs):
        self.seen += len(X)
        super()._evaluate(X, out, *args, **kwargs)


def test_every_solver_gets_a_fresh_copy_of_a_stateful_problem():
    p = _Counting()
    r = compare(p, {"a": NSGA2(pop_size=6), "b": BayesOpt(n_initial=4)}, budget=12)
    assert p.seen == 0
    ev = r.table.set_index("solver")["evaluations"]
    assert r.results["a"].problem.seen == ev["a"] and r.results["b"].problem.seen == 12


def test_a_wall_time_budget_stops_every_solver():
    r = compare(QuadraticsProblem(n_var=2), {"nsga2": NSGA2(pop_size=6)}, budget=0.5,
                budget_type="seconds")
    row = r.table.iloc[0]
    assert row["status"] == "ok" and row["evaluations"] >= 6
    assert row["seconds"] < 10


# ----------------------------------------------------------------- several seeds


@pytest.fixture(scope="module")
def seeded():
    p = QuadraticsProblem(n_var=3, n_obj=2, seed=1)
    solvers = {"small": NSGA2(pop_size=6), "large": NSGA2(pop_size=8)}
    return p, compare(p, solvers, budget=20, seeds=3, seed=10)


def test_seeds_give_one_run_each_and_the_table_is_their_mean(seeded):
    from moopt.stats import mean_ci

    _, r = seeded
    assert sorted(r.runs["seed"].unique()) == [10, 11, 12]
    assert (r.runs.groupby("solver").size() == 3).all()
    for name, row in r.table.set_index("solver").iterrows():
        hv = r.runs.loc[r.runs.solver == name, "hypervolume"].to_numpy()
        assert row["hypervolume"] == pytest.approx(hv.mean())
        m, lo, hi = mean_ci(hv)
        assert (row["hypervolume_ci_low"], row["hypervolume_ci_high"]) == pytest.approx((lo, hi))
        assert row["seeds"] == 3 and row["status"] == "ok"


def test_final_numbers_are_read_within_the_evaluation_budget(seeded):
    _, r = seeded
    # pop 6: generations end at 6, 12, 18, 24 evaluations -> scored at 18, 24 spent;
    # pop 8: 8, 16, 24 -> scored at 16.
    runs = r.runs.set_index(["solver", "seed"])
    assert (runs.loc["small", "evaluations"] == 18).all()
    assert (runs.loc["small", "evaluations_spent"] == 24).all()
    assert (runs.loc["large", "evaluations"] == 16).all()
    # The scored hypervolume is the curve's value at that evaluation count.
    for (name, s), row in runs.iterrows():
        c = r.curves[name]
        c = c[(c.seed == s) & (c.evaluations <= 20)]
        assert row["hypervolume"] == pytest.approx(c["hypervolume"].iloc[-1])


def test_igd_against_the_known_front(seeded):
    from pymoo.indicators.igd import IGD

    p, r = seeded
    assert r.pareto_front is not None and "igd" in r.table.columns
    front = r.fronts_by_seed["large"][1]
    row = r.runs[(r.runs.solver == "large") & (r.runs.seed == 11)].iloc[0]
    assert row["igd"] == pytest.approx(IGD(p.pareto_front())(front))
    assert (r.runs["igd"] > 0).all()


def test_bands_cover_the_mean_and_end_at_the_budget(seeded):
    _, r = seeded
    for b in r.bands.values():
        assert b["x"].max() == 20
        assert np.all(b["ci_low"] <= b["mean"] + 1e-12)
        assert np.all(b["mean"] <= b["ci_high"] + 1e-12)
        assert np.all(np.diff(b["mean"]) >= -1e-12)
    assert r.plot_hypervolume() is not None
    assert r.plot_hypervolume(x="seconds") is not None


def test_paired_test_between_the_two_best(seeded):
    _, r = seeded
    sig = r.significance.set_index("indicator")
    row = sig.loc["hypervolume"]
    means = r.table.set_index("solver")["hypervolume"]
    assert row["a"] == means.idxmax() and row["b"] == means.idxmin()
    runs = r.runs.pivot(index="seed", columns="solver", values="hypervolume")
    d = runs[row["a"]] - runs[row["b"]]
    assert row["diff"] == pytest.approx(d.mean()) and row["n"] == 3
    # The IGD row ranks by the smaller mean.
    igd = r.table.set_index("solver")["igd"]
    assert sig.loc["igd", "a"] == igd.idxmin()


def test_same_seeds_same_numbers(seeded):
    p, r = seeded
    again = compare(p, {"small": NSGA2(pop_size=6), "large": NSGA2(pop_size=8)}, budget=20,
                    seeds=[10, 11, 12])
    cols = ["solver", "seed", "evaluations", "hypervolume", "igd"]
    pd.testing.assert_frame_equal(again.runs[cols], r.runs[cols])


def test_bad_seeds_budget_and_reference_point():
    p = QuadraticsProblem(n_var=2)
    with pytest.raises(ValueError, match="seeds must be at least 1"):
        compare(p, {"a": NSGA2(pop_size=6)}, budget=12, seeds=0)
    with pytest.raises(ValueError, match="repeated"):
        compare(p, {"a": NSGA2(pop_size=6)}, budget=12, seeds=[1, 1])
    with pytest.raises(ValueError, match="solver 'bo' needs 10 evaluations .* budget is 8"):
        compare(p, {"bo": BayesOpt(n_initial=10)}, budget=8)
    with pytest.raises(ValueError, match="solver 'ga' needs 20"):
        compare(p, {"ga": NSGA2(pop_size=20)}, budget=12)
    with pytest.raises(ValueError, match="no solution of any solver dominates ref_point"):
        compare(p, {"a": NSGA2(pop_size=6)}, budget=12, ref_point=[-1.0, -1.0])
    with pytest.raises(ValueError, match="ref_point must be 2 finite"):
        compare(p, {"a": NSGA2(pop_size=6)}, budget=12, ref_point=[1.0, np.nan])


def test_seconds_budget_over_seeds_has_a_time_grid():
    r = compare(QuadraticsProblem(n_var=2), {"nsga2": NSGA2(pop_size=6)}, budget=0.3,
                budget_type="seconds", seeds=2)
    b = r.bands["nsga2"]
    assert len(b) == 101 and b["x"].iloc[-1] == pytest.approx(0.3)
    assert r.table.iloc[0]["seeds"] == 2

"""The comparison harness: NSGA-II, MGDA and BO on one problem under one budget."""

import numpy as np
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
    r = compare(get_problem("zdt1", n_var=4), {"nsga2": NSGA2(pop_size=8), "mgda": MGDA()},
                budget=24)
    row = r.table.set_index("solver").loc["mgda"]
    assert row["status"].startswith("error: MGDA needs gradients")
    assert r.table.set_index("solver").loc["nsga2", "status"] == "ok"
    with pytest.raises(ValueError, match="no solver produced any solution .*mgda: error: MGDA"):
        compare(get_problem("zdt1", n_var=4), {"mgda": MGDA()}, budget=10)


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

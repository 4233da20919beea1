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


# ----------------------------------------------------------------- failures and budgets


class _Exploding(NSGA2):
    """Raises what a BoTorch fit or a training problem might, on the seeds given."""

    def __init__(self, error, seeds=None, **kwargs):
        super().__init__(**kwargs)
        self.error, self.on_seeds = error, seeds

    def _advance(self, infills=None, **kwargs):
        if self.on_seeds is None or self.seed in self.on_seeds:
            raise self.error
        return super()._advance(infills=infills, **kwargs)


def test_a_solver_raising_anything_is_recorded_and_the_comparison_goes_on():
    p = QuadraticsProblem(n_var=2)
    r = compare(p, {"fit": _Exploding(RuntimeError("fitting failed"), pop_size=6),
                    "fpe": _Exploding(FloatingPointError("overflow"), seeds=[1], pop_size=6),
                    "ga": NSGA2(pop_size=6)}, budget=18, seeds=[0, 1])  # fmt: skip
    runs = r.runs.set_index(["solver", "seed"])
    assert runs.loc[("fit", 0), "status"] == "error: RuntimeError: fitting failed"
    assert runs.loc[("fpe", 1), "status"] == "error: FloatingPointError: overflow"
    assert runs.loc[("fpe", 0), "status"] == "ok" and runs.loc[("ga", 1), "status"] == "ok"
    assert np.isnan(runs.loc[("fit", 1), "hypervolume"])  # a failed run is not scored
    table = r.table.set_index("solver")
    assert table.loc["fit", ["seeds", "runs_failed"]].tolist() == [0, 2]
    assert table.loc["fpe", ["seeds", "runs_failed"]].tolist() == [1, 1]
    assert table.loc["fpe", "status"].startswith("ok on 1 of 2 seeds; error: FloatingPointError")
    assert table.loc["fpe", "hypervolume"] == runs.loc[("fpe", 0), "hypervolume"]


def test_summary_counts_failed_and_empty_runs_and_never_drops_them_silently():
    from moopt.compare import _summary

    runs = pd.DataFrame({
        "solver": ["a"] * 4, "seed": [0, 1, 2, 3],
        "status": ["ok", "ok", "ok", "error: RuntimeError: fit"],
        "evaluations": [20, 20, 20, 0], "evaluations_spent": [20, 20, 20, 8],
        "seconds": [1.0, 1.0, 1.0, 5.0], "hypervolume": [0.6, 0.3, 0.0, np.nan],
        "igd": [0.2, 0.4, np.inf, np.nan], "n_front": [3, 2, 0, 0],
    })  # fmt: skip
    row = _summary(runs, ["a"], True, True, 0.05).iloc[0]
    assert (row["seeds"], row["runs_failed"], row["runs_empty"]) == (3, 1, 1)
    assert row["hypervolume"] == pytest.approx(0.3)  # (0.6 + 0.3 + 0) / 3
    assert row["igd"] == np.inf  # the empty run's IGD is not dropped
    assert row["evaluations_spent"] == pytest.approx(17.0)  # costs over all four runs
    assert row["seconds"] == pytest.approx(2.0)


def test_an_empty_front_is_counted_in_the_table():
    class HalfFeasible(QuadraticsProblem):  # x0 >= 0.5 feasible
        def __init__(self):
            super().__init__(n_var=2, n_obj=2, seed=0)
            self.n_ieq_constr = 1

        def _evaluate(self, X, out, *args, **kwargs):
            super()._evaluate(X, out, *args, **kwargs)
            out["G"] = 0.5 - X[:, :1]

    p = HalfFeasible()
    infeasible = p.xl + 0.1 * np.array([[0.1, 0.2], [0.3, 0.1], [0.2, 0.9], [0.4, 0.5]]) * (
        p.xu - p.xl)  # fmt: skip
    assert np.all(infeasible[:, 0] < 0.5)
    r = compare(p, {"blind": NSGA2(pop_size=4, sampling=infeasible), "ga": NSGA2(pop_size=4)},
                budget=4, seeds=2)  # fmt: skip
    row = r.table.set_index("solver").loc["blind"]
    assert (row["seeds"], row["runs_empty"], row["hypervolume"]) == (2, 2, 0.0)
    assert row["igd"] == np.inf


def test_mgda_finite_differences_are_counted_before_the_run():
    zdt = get_problem("zdt1", n_var=4)
    # Four starts cost 4 x (1 + 2 x 4) = 36 evaluations: refused at 24, two starts fit.
    with pytest.raises(ValueError, match=r"solver 'mgda' needs 36 evaluations for its first "
                       r"generation \(4 starts x 9 evaluations, 8 of them gradient probes\) but "
                       r"the budget is 24; lower pop_size to 2"):  # fmt: skip
        compare(zdt, {"nsga2": NSGA2(pop_size=8), "mgda": MGDA(pop_size=4)}, budget=24)
    with pytest.raises(ValueError, match="raise the budget to at least 9"):
        compare(zdt, {"mgda": MGDA(pop_size=1)}, budget=8)
    # Analytic gradients (or autograd) cost nothing extra; sampling rows are the starts.
    assert MGDA(pop_size=4).evaluations_per_start(QuadraticsProblem(n_var=3)) == 1
    assert MGDA(gradient="problem").evaluations_per_start(zdt) == 1
    assert MGDA(gradient="fd").evaluations_per_start(QuadraticsProblem(n_var=3)) == 7
    assert MGDA(sampling=np.zeros((3, 4))).n_starts == 3
    r = compare(zdt, {"nsga2": NSGA2(pop_size=8), "mgda": MGDA(pop_size=2)}, budget=24)
    runs = r.runs.set_index("solver")
    assert runs.loc["mgda", "status"] == "ok" and runs.loc["mgda", "evaluations"] <= 24


def test_no_run_is_scored_past_its_budget():
    # Twelve sampled points, a population of six: the first generation costs 12 > 10.
    p = QuadraticsProblem(n_var=2)
    start = np.random.default_rng(0).random((12, 2))
    r = compare(p, {"big": NSGA2(pop_size=6, sampling=start), "ga": NSGA2(pop_size=6)},
                budget=10)  # fmt: skip
    run = r.runs.set_index("solver").loc["big"]
    assert run["status"] == ("error: over budget: its first generation ended at 12 "
                             "evaluations, past the budget of 10")  # fmt: skip
    assert np.isnan(run["hypervolume"]) and run["evaluations_spent"] == 12
    assert "big" not in r.fronts and r.table.set_index("solver").loc["big", "runs_failed"] == 1
    for name, c in r.curves.items():  # curves stop at the budget
        assert (c["evaluations"] <= 10).all(), name
    # What the table scores is what the plot draws at the budget.
    for name, row in r.table.set_index("solver").iterrows():
        band = r.bands[name]
        drawn = band["mean"].iloc[-1] if len(band) else np.nan
        assert drawn == pytest.approx(row["hypervolume"], nan_ok=True), name


class _NaNAbove(QuadraticsProblem):
    """NaN objectives where x0 > 0 (a training problem that diverged)."""

    def __init__(self):
        super().__init__(n_var=2, n_obj=2, seed=0)

    def _evaluate(self, X, out, *args, **kwargs):
        super()._evaluate(X, out, *args, **kwargs)
        out["F"] = np.where(X[:, :1] > 0, np.nan, out["F"])


def test_nan_objectives_are_an_error_for_every_solver():
    r = compare(_NaNAbove(), {"nsga2": NSGA2(pop_size=8), "mgda": MGDA(pop_size=2),
                              "bo": BayesOpt(n_initial=8)}, budget=16,
                ref_point=[5.0, 5.0])  # fmt: skip
    for name, status in r.table.set_index("solver")["status"].items():
        assert status.startswith("error: the problem returned non-finite objectives"), name


def test_the_default_reference_point_is_in_the_problems_units():
    from moopt.compare import reference_point

    F = [np.array([[0.0, 5.0], [1.0, 5.0]]), np.array([[0.5, 5.0]])]
    np.testing.assert_allclose(reference_point(F), [1.1, 5.5])  # constant 5: 10% of 5
    np.testing.assert_allclose(reference_point([np.array([[2.0, 0.0]])]), [2.2, 1e-9])
    scaled = [f * [1.0, 1000.0] for f in F]  # another unit for f2, the same point in it
    np.testing.assert_allclose(reference_point(scaled), reference_point(F) * [1.0, 1000.0])

    class ConstantSecond(QuadraticsProblem):
        def _evaluate(self, X, out, *args, **kwargs):
            super()._evaluate(X, out, *args, **kwargs)
            out["F"][:, 1] = 250.0

    r = compare(ConstantSecond(n_var=2), {"ga": NSGA2(pop_size=6)}, budget=12)
    assert r.ref_point[1] == pytest.approx(275.0)

"""Results that persist: a comparison and a re-ranking result saved to a folder load back
equal, field by field (arrays bit for bit); a comparison pickles after a run with
progress bars."""

import dataclasses
import json
import pickle

import numpy as np
import pandas as pd
import pytest
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.problem import Problem
from pymoo.problems import get_problem

from moopt.algorithms import MGDA
from moopt.compare import Comparison, compare
from moopt.engine.result import RerankResult
from moopt.files import read_csv, versions


def assert_same_comparison(a: Comparison, b: Comparison) -> None:
    """Every field of two comparisons equal (``results`` aside: not saved; ``record``:
    what a loaded one read)."""
    for f in dataclasses.fields(Comparison):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name in ("results", "record"):
            continue
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(y, x, check_exact=True, obj=f.name)
        elif isinstance(x, dict):
            assert list(y) == list(x), f.name
            for k in x:
                xv, yv = x[k], y[k]
                if isinstance(xv, pd.DataFrame):
                    pd.testing.assert_frame_equal(yv, xv, check_exact=True, obj=f"{f.name}[{k}]")
                elif isinstance(xv, list):
                    assert len(yv) == len(xv)
                    for p, q in zip(xv, yv, strict=True):
                        assert p.dtype == q.dtype and p.shape == q.shape, (f.name, k)
                        assert np.array_equal(p, q), (f.name, k)
                else:
                    assert xv.dtype == yv.dtype and np.array_equal(xv, yv), (f.name, k)
        elif isinstance(x, np.ndarray) or x is None:
            assert (y is None) if x is None else (y.dtype == x.dtype and np.array_equal(x, y))
        else:
            assert x == y and type(x) is type(y), (f.name, x, y)


@pytest.fixture(scope="module")
def zdt1_two_seeds():
    problem = get_problem("zdt1", n_var=4)
    return compare(problem, {"nsga2": NSGA2(pop_size=8), "mgda": MGDA(pop_size=2)},
                   budget=40, seeds=2)


def test_a_comparison_saved_and_loaded_is_equal(tmp_path, zdt1_two_seeds):
    res = zdt1_two_seeds
    written = res.save(tmp_path, problem="zdt1", settings={"budget": 40, "note": None})
    names = sorted(p.name for p in written)
    assert names == ["bands.csv", "comparison.csv", "comparison.json", "curves.csv",
                     "fronts.csv", "pareto_front.npz", "runs.csv", "significance.csv"]
    loaded = Comparison.load(tmp_path)
    assert_same_comparison(res, loaded)
    assert loaded.results == {}
    assert loaded.significance["indicator"].tolist() == ["hypervolume", "igd"]
    assert loaded.seeds == [0, 1] and loaded.budget == 40.0
    record = json.loads((tmp_path / "comparison.json").read_text())
    assert record["problem"] == "zdt1" and record["n_var"] == 4 and record["n_obj"] == 2
    assert record["budget"] == 40.0 and record["budget_type"] == "evaluations"
    assert record["seeds"] == [0, 1] and record["solvers"] == ["nsga2", "mgda"]
    assert record["reference_point"] == res.ref_point.tolist()
    assert record["settings"] == {"budget": 40, "note": None}
    assert record["versions"] == versions() and record["versions"]["pymoo"]
    assert loaded.record == record


def test_fronts_csv_holds_every_run_and_point_with_x_and_f(tmp_path, zdt1_two_seeds):
    res = zdt1_two_seeds
    res.save(tmp_path)
    fronts = read_csv(tmp_path / "fronts.csv")
    assert list(fronts.columns) == ["solver", "seed", "point", "x0", "x1", "x2", "x3",
                                    "f0", "f1"]
    for name in ("nsga2", "mgda"):
        for i, seed in enumerate((0, 1)):
            rows = fronts[(fronts.solver == name) & (fronts.seed == seed)]
            F, X = res.fronts_by_seed[name][i], res.fronts_X_by_seed[name][i]
            assert len(rows) == len(F) > 0
            assert rows["point"].tolist() == list(range(len(F)))
            np.testing.assert_array_equal(rows[["f0", "f1"]].to_numpy(), F)
            np.testing.assert_array_equal(rows[["x0", "x1", "x2", "x3"]].to_numpy(), X)
            # The decision vectors are those of the points: evaluated again, they give F.
            again = get_problem("zdt1", n_var=4).evaluate(X, return_values_of=["F"])
            np.testing.assert_allclose(again, F, rtol=0, atol=1e-12)


class _Infeasible(Problem):
    """Every point violates its constraint: each run finishes with an empty front."""

    def __init__(self):
        super().__init__(n_var=2, n_obj=2, n_ieq_constr=1, xl=0.0, xu=1.0)

    def _evaluate(self, X, out, *args, **kwargs):
        out["F"] = np.column_stack([X[:, 0], 1 - X[:, 0] + X[:, 1]])
        out["G"] = np.ones((len(X), 1))


class _FailsOnSeed1(NSGA2):
    def _setup(self, problem, **kwargs):
        if self.seed == 1:
            raise ValueError("this solver fails on seed 1")
        super()._setup(problem, **kwargs)


def test_error_rows_and_empty_fronts_round_trip(tmp_path):
    res = compare(_Infeasible(), {"a": NSGA2(pop_size=6), "b": _FailsOnSeed1(pop_size=6)},
                  budget=12, seeds=[0, 1], ref_point=np.array([2.0, 3.0]))
    assert res.runs["status"].tolist()[:3] == ["ok", "ok", "ok"]
    assert res.runs["status"].iloc[3] == "error: this solver fails on seed 1"
    assert res.fronts == {} and len(res.significance) == 0
    for fronts, shape in ((res.fronts_by_seed, (0, 2)), (res.fronts_X_by_seed, (0, 2))):
        assert [f.shape for fs in fronts.values() for f in fs] == [shape] * 4
    res.save(tmp_path)
    assert not (tmp_path / "significance.csv").exists()
    assert not (tmp_path / "pareto_front.npz").exists()
    assert pd.read_csv(tmp_path / "fronts.csv").shape == (0, 7)
    loaded = Comparison.load(tmp_path)
    assert_same_comparison(res, loaded)
    assert loaded.table["runs_failed"].tolist() == [0, 1]
    assert loaded.table["runs_empty"].tolist() == [2, 1]


def test_loading_a_folder_without_a_comparison_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no comparison.json"):
        Comparison.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="no rerank_result.json"):
        RerankResult.load(tmp_path)


def test_a_comparison_run_with_progress_bars_pickles(tmp_path):
    problem = get_problem("zdt1", n_var=3)
    res = compare(problem, {"nsga2": NSGA2(pop_size=6)}, budget=18, seeds=2, progress=True)
    again = pickle.loads(pickle.dumps(res))
    assert_same_comparison(res, again)
    np.testing.assert_array_equal(again.results["nsga2"].F, res.results["nsga2"].F)


def _rerank_results():
    from moopt.callbacks import KnowledgeTransfer
    from moopt.engine import rerank_batch

    rng = np.random.default_rng(4)
    n_items, users, n = 60, 5, 12
    genres = rng.random((n_items, 6)) < 0.3
    pop = rng.integers(1, 100, n_items).astype(float)
    cands = np.stack([rng.choice(n_items, n, replace=False) for _ in range(users)])
    scores = rng.normal(size=(users, n))
    common = dict(k=4, pop_size=8, n_gen=4, seed=1)
    return {
        "archive": rerank_batch(scores, cands, genres, pop, **common),
        "no archive": rerank_batch(scores, cands, genres, pop, archive_size=0, **common),
        "transfer": rerank_batch(scores, cands, genres, pop,
                                 callback=KnowledgeTransfer(every=2), **common),
    }


def test_rerank_results_saved_and_loaded_are_equal(tmp_path):
    results = _rerank_results()
    assert results["archive"].has_archive and not results["no archive"].has_archive
    assert results["transfer"].anchors is not None and results["archive"].anchors is None
    for name, res in results.items():
        folder = tmp_path / name
        assert sorted(p.name for p in res.save(folder)) == ["rerank_result.json",
                                                           "rerank_result.npz"]
        loaded = RerankResult.load(folder)
        for f in dataclasses.fields(RerankResult):
            x, y = getattr(res, f.name), getattr(loaded, f.name)
            if isinstance(x, np.ndarray):
                assert y.dtype == x.dtype and y.shape == x.shape, (name, f.name)
                assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), (name, f.name)
            else:
                assert x == y and type(x) is type(y), (name, f.name, x, y)
        np.testing.assert_array_equal(loaded.choose("knee"), res.choose("knee"))
        pickled = pickle.loads(pickle.dumps(res))
        np.testing.assert_array_equal(pickled.positions, res.positions)

"""The DWL constants as a pymoo problem, and reference points in a comparison."""

import numpy as np
import pytest
import torch
from pymoo.algorithms.moo.nsga2 import NSGA2

from moopt.compare import compare
from problems import QuadraticsProblem
from problems.comparison import reference_points
from problems.domain_weight import PAPER, DomainWeightProblem
from problems.dwl import DWLConfig
from recommenders.data import make_synthetic

CFG = DWLConfig(epochs=1, patience=1, n_negatives=8, sparse=("genre8",), dense=("genre15",),
                exclude=(), model_settings={"hidden": 16, "inner": 32, "max_len": 10})


def test_each_evaluation_is_a_short_training_run_scored_on_validation():
    torch.set_num_threads(1)
    data = make_synthetic(n_users=80, n_items=60, min_length=6, max_length=12, seed=1)
    p = DomainWeightProblem(data, CFG, seed=0, device="cpu")
    assert (p.n_var, p.n_obj) == (5, 2)
    assert np.all(p.xl <= PAPER) and np.all(PAPER <= p.xu)
    F = p.evaluate(np.array([PAPER, [0.0, 0.0, 0.0, 0.5, 2.0]]), return_values_of=["F"])
    assert F.shape == (2, 2) and np.all((F <= 0) & (F >= -1))
    assert [h["a"] for h in p.history] == [1.0, 0.0]
    assert p.history[0]["sparse"] == pytest.approx(-F[0, 0])
    with pytest.raises(ValueError, match="w_min"):
        p.config_for([1, 1, 1, 2.0, 1.5])


class _WithReference(QuadraticsProblem):
    def reference_points(self):
        return {"centre 1": self.centres[0], "corner": np.ones(self.n_var)}


def test_reference_points_are_evaluated_and_checked_for_dominance():
    p = _WithReference(n_var=2, seed=0)
    r = compare(p, {"ga": NSGA2(pop_size=8)}, budget=40, seeds=2)
    marks, rows = reference_points(p, r)
    # A centre is Pareto optimal (f1 = 0): nothing dominates it; the corner is dominated.
    assert rows[0]["dominated by"] == "none" and marks["centre 1"][0] == pytest.approx(0.0)
    assert rows[1]["dominated by"] == "ga"
    assert r.plot_fronts(marks=marks) is not None


class _WithHistory(QuadraticsProblem):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.history = []

    def _evaluate(self, X, out, *args, **kwargs):
        super()._evaluate(X, out, *args, **kwargs)
        self.history += [{"x1": x[0], "f1": f[0]} for x, f in zip(X, out["F"], strict=True)]


def test_evaluation_history_lists_every_evaluation_of_each_solver():
    from problems.comparison import evaluation_history

    r = compare(_WithHistory(n_var=2, seed=0), {"ga": NSGA2(pop_size=8)}, budget=24, seeds=2)
    h = evaluation_history(r)
    assert len(h) == 24 and set(h["solver"]) == {"ga"}
    assert h["evaluation"].tolist() == list(range(1, 25))
    # The front's points are among the evaluations.
    assert set(np.round(r.fronts["ga"][:, 0], 12)) <= set(np.round(h["f1"], 12))
    assert len(evaluation_history(compare(QuadraticsProblem(n_var=2), {"ga": NSGA2(pop_size=8)},
                                          budget=16))) == 0  # fmt: skip

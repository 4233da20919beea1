"""MOBO (BoTorch qLogNEHVI) as a pymoo algorithm; skipped when BoTorch is not installed."""

import json

import numpy as np
import pytest

pytest.importorskip("botorch")

import torch  # noqa: E402
from pymoo.core.callback import Callback  # noqa: E402
from pymoo.core.problem import Problem  # noqa: E402
from pymoo.indicators.hv import HV  # noqa: E402
from pymoo.optimize import minimize  # noqa: E402
from pymoo.problems import get_problem  # noqa: E402

from moopt.algorithms import MOBO  # noqa: E402
from moopt.algorithms.mobo import infer_reference_point, latin_hypercube  # noqa: E402
from problems import QuadraticsProblem  # noqa: E402

# Small acquisition settings keep every test to a few seconds.
FAST = {"num_restarts": 2, "raw_samples": 32, "mc_samples": 32, "maxiter": 50}


class Counted(Problem):
    """ZDT1 with n_var variables that records every point it evaluates."""

    def __init__(self, n_var=3):
        self.inner = get_problem("zdt1", n_var=n_var)
        super().__init__(n_var=n_var, n_obj=2, xl=self.inner.xl, xu=self.inner.xu)
        self.calls = []

    def _evaluate(self, X, out, *args, **kwargs):
        self.calls.extend(map(tuple, X))
        out["F"] = self.inner.evaluate(X)


def test_counts_evaluations_exactly_with_batches():
    class Evals(Callback):
        def __init__(self):
            super().__init__()
            self.n = []

        def notify(self, algorithm):
            self.n.append(algorithm.evaluator.n_eval)

    p, evals = Counted(), Evals()
    res = minimize(p, MOBO(n_initial=5, batch_size=3, **FAST), ("n_evals", 11), seed=0,
                   callback=evals)  # fmt: skip
    assert len(p.calls) == 11 and len(set(p.calls)) == 11  # no point proposed twice
    assert res.algorithm.evaluator.n_eval == 11 and len(res.pop) == 11
    assert evals.n == [5, 8, 11]  # the initial design, then two batches of three
    X = np.array(p.calls)
    assert np.all(X >= 0) and np.all(X <= 1)
    # A budget that is not n_initial + k q: the last batch is cut, never overshot.
    p = Counted()
    minimize(p, MOBO(n_initial=5, batch_size=3, **FAST), ("n_evals", 9), seed=0)
    assert len(p.calls) == 9


def test_initial_design_is_space_filling_and_seeded():
    p = Counted()
    a = minimize(p, MOBO(n_initial=8, **FAST), ("n_evals", 8), seed=4).pop.get("X")
    b = minimize(Counted(), MOBO(n_initial=8, **FAST), ("n_evals", 8), seed=4).pop.get("X")
    np.testing.assert_array_equal(a, b)
    lhs = minimize(Counted(), MOBO(n_initial=8, init="lhs", **FAST), ("n_evals", 8), seed=4)
    U = lhs.pop.get("X")
    for j in range(3):  # one point in each eighth of every axis
        assert sorted(np.floor(U[:, j] * 8).astype(int)) == list(range(8))
    cells = latin_hypercube(5, 2, np.random.default_rng(0))
    assert sorted(np.floor(cells[:, 1] * 5).astype(int)) == list(range(5))


def test_same_seed_same_result_and_torch_rng_untouched():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    runs = [minimize(Counted(), MOBO(n_initial=4, batch_size=2, **FAST), ("n_evals", 8),
                     seed=s).pop.get("X") for s in (1, 1, 2)]  # fmt: skip
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], runs[2])
    assert torch.rand(1) == before  # the runs forked the global torch RNG


def test_checkpoint_resume_matches_uninterrupted_run(tmp_path):
    ckpt = tmp_path / "mobo.json"
    p = Counted()
    minimize(p, MOBO(n_initial=4, batch_size=2, checkpoint=ckpt, **FAST), ("n_evals", 6),
             seed=2)  # fmt: skip
    state = json.loads(ckpt.read_text())
    assert len(state["X"]) == 6 and state["signature"]["batch_size"] == 2
    res = minimize(p, MOBO(n_initial=4, batch_size=2, checkpoint=ckpt, **FAST),
                   ("n_evals", 10), seed=2)  # fmt: skip
    assert len(p.calls) == 10 and len(set(p.calls)) == 10  # nothing evaluated twice
    assert res.algorithm.evaluator.n_eval == 10 and len(res.pop) == 10
    straight = minimize(Counted(), MOBO(n_initial=4, batch_size=2, **FAST), ("n_evals", 10),
                        seed=2)  # fmt: skip
    np.testing.assert_allclose(res.pop.get("X"), straight.pop.get("X"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.pop.get("F"), straight.pop.get("F"), rtol=0, atol=1e-12)
    assert not [f for f in tmp_path.iterdir() if f.name != "mobo.json"]  # atomic writes
    # A finished checkpoint: resuming at the same budget evaluates nothing.
    again = Counted()
    res = minimize(again, MOBO(n_initial=4, batch_size=2, checkpoint=ckpt, **FAST),
                   ("n_evals", 10), seed=2)  # fmt: skip
    assert again.calls == [] and len(res.pop) == 10
    with pytest.raises(ValueError, match="another problem"):
        minimize(Counted(n_var=4), MOBO(n_initial=4, checkpoint=ckpt, **FAST),
                 ("n_evals", 12), seed=2)  # fmt: skip
    with pytest.raises(ValueError, match="another problem, seed"):
        minimize(Counted(), MOBO(n_initial=4, checkpoint=ckpt, **FAST), ("n_evals", 12), seed=3)


@pytest.mark.parametrize(
    "change, setting",
    [({"batch_size": 1}, "batch_size"), ({"ref_point": "observed"}, "ref_point"),
     ({"ref_point": [5.0, 5.0]}, "ref_point"), ({"raw_samples": 16}, "raw_samples"),
     ({"mc_samples": 16}, "mc_samples"), ({"maxiter": 20}, "maxiter"),
     ({"num_restarts": 1}, "num_restarts")],
)  # fmt: skip
def test_resume_with_a_changed_setting_names_it(tmp_path, change, setting):
    ckpt = tmp_path / "mobo.json"
    base = {"n_initial": 4, "batch_size": 2, "checkpoint": ckpt, **FAST}
    minimize(Counted(), MOBO(**base), ("n_evals", 4), seed=2)
    p = Counted()
    with pytest.raises(ValueError, match=rf"another problem, seed or settings .*{setting}: "
                       r"checkpoint .*, this run"):  # fmt: skip
        minimize(p, MOBO(**{**base, **change}), ("n_evals", 6), seed=2)
    assert p.calls == []


def test_given_reference_point_without_feasible_points_uses_all_points():
    class Infeasible(Problem):  # every point violates x0^2 + 1 <= 0
        def __init__(self):
            super().__init__(n_var=2, n_obj=2, n_ieq_constr=1, xl=-1.0, xu=1.0)

        def _evaluate(self, X, out, *args, **kwargs):
            out["F"] = np.stack([((X - 0.5) ** 2).sum(1), ((X + 0.5) ** 2).sum(1)], axis=1)
            out["G"] = 1.0 + X[:, :1] ** 2

    given = minimize(Infeasible(), MOBO(n_initial=5, ref_point=[9.0, 9.0], **FAST),
                     ("n_evals", 6), seed=0)  # fmt: skip
    np.testing.assert_array_equal(given.algorithm.ref_point_, [9.0, 9.0])
    inferred = minimize(Infeasible(), MOBO(n_initial=5, **FAST), ("n_evals", 6), seed=0)
    for res in (given, inferred):  # the front is read from all points, as the default rule
        F = res.pop.get("F")
        front = F[np.all(F[:, None] <= F[None], axis=2).sum(axis=0) == 1]
        opt = res.algorithm.opt  # pymoo's Result drops an infeasible optimum
        np.testing.assert_array_equal(np.sort(opt.get("F"), axis=0), np.sort(front, axis=0))
    # A given point that no evaluated point dominates is still an error.
    with pytest.raises(ValueError, match="not dominated by any evaluated solution"):
        minimize(Infeasible(), MOBO(n_initial=5, ref_point=[0.0, 0.0], **FAST), ("n_evals", 6),
                 seed=0)  # fmt: skip


def test_hypervolume_improves_over_the_initial_design():
    p = QuadraticsProblem(n_var=2, n_obj=2, seed=3)
    hv = HV(ref_point=np.array([1.5, 1.5]))
    best = hv(p.pareto_front(2000))
    res = minimize(p, MOBO(n_initial=6, batch_size=2, **FAST), ("n_evals", 16), seed=0)
    F = res.pop.get("F")
    initial, final = hv(F[:6]), hv(F)
    # Measured: 0.805 of the front's hypervolume after the design, 0.946 after 10 more
    # points (seeds 1, 2: 0.869 -> 0.935, 0.849 -> 0.949).
    assert final > initial + 0.5 * (best - initial)
    assert final > 0.93 * best
    ref = res.algorithm.ref_point_  # BoTorch's advice, back in the problem's units
    front = F[:14][np.all(F[:14, None] <= F[None, :14], axis=2).sum(axis=0) == 1]
    assert np.all(ref > front.max(axis=0))


def test_user_reference_point_and_constraints():
    class Constrained(Problem):  # two quadratics, x0 >= 0.2 feasible
        def __init__(self):
            super().__init__(n_var=2, n_obj=2, n_ieq_constr=1, xl=-1.0, xu=1.0)

        def _evaluate(self, X, out, *args, **kwargs):
            out["F"] = np.stack([((X - 0.5) ** 2).sum(1), ((X + 0.5) ** 2).sum(1)], axis=1)
            out["G"] = 0.2 - X[:, :1]

    res = minimize(Constrained(), MOBO(n_initial=6, ref_point=[4.0, 4.0], **FAST),
                   ("n_evals", 12), seed=1)  # fmt: skip
    np.testing.assert_array_equal(res.algorithm.ref_point_, [4.0, 4.0])
    proposed = res.pop.get("X")[6:]
    assert (proposed[:, 0] >= 0.15).sum() >= 5  # the constraint GP steers to x0 >= 0.2
    assert np.all(res.opt.get("G") <= 0)


def test_reference_point_rules_in_the_problems_units():
    # One proposal after a 6-point design: ref_point_ is computed from those 6 points.
    front_rule = minimize(Counted(), MOBO(n_initial=6, **FAST), ("n_evals", 7), seed=0)
    F = front_rule.pop.get("F")[:6]
    front = F[np.all(F[:, None] <= F[None], axis=2).sum(axis=0) == 1]
    np.testing.assert_allclose(front_rule.algorithm.ref_point_,
                               front.max(0) + 0.1 * np.ptp(front, axis=0))  # fmt: skip
    observed = minimize(Counted(), MOBO(n_initial=6, ref_point="observed", **FAST),
                        ("n_evals", 7), seed=0)  # fmt: skip
    np.testing.assert_allclose(observed.algorithm.ref_point_, F.max(0) + 0.1 * np.ptp(F, 0))
    with pytest.raises(ValueError, match="ref_point must be a vector, None or one of"):
        MOBO(ref_point="median")


def test_reference_point_advice_matches_botorch():
    from botorch.utils.multi_objective.hypervolume import infer_reference_point as bt

    rng = np.random.default_rng(0)
    for n in (1, 2, 7):
        Y = rng.normal(size=(n, 3))
        ours = infer_reference_point(Y)
        np.testing.assert_allclose(ours, bt(torch.as_tensor(Y)).numpy(), atol=1e-12)
    np.testing.assert_allclose(infer_reference_point(np.array([[0.0, 1.0], [1.0, 0.0]])),
                               [-0.1, -0.1])  # fmt: skip


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="smaller than n_initial"):
        minimize(Counted(), MOBO(n_initial=10, **FAST), ("n_evals", 5))
    with pytest.raises(ValueError, match="batch_size"):
        MOBO(batch_size=0)
    with pytest.raises(TypeError, match="batch_size"):
        MOBO(batch_size=1.5)
    with pytest.raises(TypeError, match="n_initial"):
        MOBO(n_initial="4")
    with pytest.raises(ValueError, match="raw_samples"):
        MOBO(num_restarts=8, raw_samples=4)
    with pytest.raises(ValueError, match="init"):
        MOBO(init="grid")
    with pytest.raises(ValueError, match="ref_point"):
        MOBO(ref_point=[1.0, np.nan])
    with pytest.raises(TypeError, match="ref_point"):
        MOBO(ref_point=["a", None])
    with pytest.raises(ValueError, match="ref_point has 3 values"):
        minimize(Counted(), MOBO(n_initial=4, ref_point=[1, 1, 1], **FAST), ("n_evals", 6))
    # No solution has both objectives below -1: known once the initial design is in.
    with pytest.raises(ValueError, match="ref_point .* not dominated"):
        minimize(Counted(), MOBO(n_initial=4, ref_point=[-1, -1], **FAST), ("n_evals", 6))
    with pytest.raises(ValueError, match="at least two objectives"):
        minimize(get_problem("sphere", n_var=2), MOBO(n_initial=2), ("n_evals", 4))

    class Backwards(Problem):
        def __init__(self):
            super().__init__(n_var=1, n_obj=2, xl=2.0, xu=1.0)

    with pytest.raises(ValueError, match="xl < xu"):
        minimize(Backwards(), MOBO(n_initial=2), ("n_evals", 4))

    class Nan(Counted):
        def _evaluate(self, X, out, *args, **kwargs):
            out["F"] = np.full((len(X), 2), np.nan)

    with pytest.raises(ValueError, match="non-finite"):
        minimize(Nan(), MOBO(n_initial=2, **FAST), ("n_evals", 4))

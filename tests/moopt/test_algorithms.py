"""MGDA and BayesOpt as pymoo algorithms (MOBO: test_mobo.py, which needs BoTorch)."""

import json

import numpy as np
import pytest
from pymoo.core.problem import Problem
from pymoo.indicators.hv import HV
from pymoo.optimize import minimize

from moopt.algorithms import MGDA, BayesOpt, booml_harmean, booml_ressum, random_search
from problems import QuadraticsProblem

# ------------------------------------------------------------------ MGDA


def distance_to_segment(X, a, b):
    t = np.clip(((X - a) @ (b - a)) / ((b - a) @ (b - a)), 0, 1)
    return np.linalg.norm(X - (a + t[:, None] * (b - a)), axis=1)


def test_mgda_reaches_pareto_stationarity_on_two_quadratics():
    p = QuadraticsProblem(n_var=5, n_obj=2, seed=0)
    res = minimize(p, MGDA(pop_size=8), ("n_gen", 500), seed=1)
    norms = res.pop.get("norm")
    assert np.all(norms <= 1e-4)
    a, b = p.centres
    assert distance_to_segment(res.pop.get("X"), a, b).max() < 1e-3
    # Different starts end at different places along the Pareto set.
    assert np.ptp(res.pop.get("F")[:, 0]) > 0.1
    assert res.algorithm.n_iter < 500  # stopped by stationarity, not the budget


def test_mgda_three_objectives_end_in_the_hull():
    p = QuadraticsProblem(n_var=4, n_obj=3, seed=2)
    res = minimize(p, MGDA(pop_size=5), ("n_gen", 800), seed=0)
    assert np.all(res.pop.get("norm") <= 1e-4)
    C = p.centres
    for x in res.pop.get("X"):
        # barycentric least squares with weights summing to one, all non-negative
        A = np.vstack([C.T, np.ones(3)])
        w, *_ = np.linalg.lstsq(A, np.r_[x, 1.0], rcond=None)
        assert np.all(w >= -1e-3) and np.linalg.norm(A @ w - np.r_[x, 1.0]) < 1e-3


def test_mgda_armijo_decreases_every_objective():
    from pymoo.core.callback import Callback

    class Track(Callback):
        def __init__(self):
            super().__init__()
            self.F = []

        def notify(self, algorithm):
            self.F.append(algorithm.pop.get("F").copy())

    p = QuadraticsProblem(n_var=3, n_obj=2, seed=4)
    track = Track()
    minimize(p, MGDA(pop_size=3), ("n_gen", 40), seed=0, callback=track)
    steps = np.diff(np.stack(track.F), axis=0)
    assert np.all(steps <= 1e-12)


def test_mgda_fixed_step_converges():
    p = QuadraticsProblem(n_var=3, n_obj=2, seed=1)
    res = minimize(p, MGDA(pop_size=2, armijo=False, lr=0.5), ("n_gen", 2000), seed=0)
    assert np.all(res.pop.get("norm") <= 1e-4)


def test_mgda_errors():
    from pymoo.problems import get_problem

    with pytest.raises(ValueError, match="MGDA needs gradients"):
        minimize(get_problem("zdt1", n_var=3), MGDA(gradient="problem"), ("n_gen", 3))

    class NanGrad(QuadraticsProblem):
        def _evaluate(self, X, out, *args, **kwargs):
            super()._evaluate(X, out, *args, **kwargs)
            if "dF" in out:
                out["dF"][0, 0, 0] = np.nan

    with pytest.raises(ValueError, match="non-finite gradients"):
        minimize(NanGrad(), MGDA(), ("n_gen", 3))
    with pytest.raises(ValueError, match="lr"):
        MGDA(lr=0)
    with pytest.raises(ValueError, match="sampling"):
        minimize(QuadraticsProblem(n_var=5), MGDA(sampling=np.zeros((2, 3))), ("n_gen", 2))


def test_mgda_same_seed_same_result():
    p = QuadraticsProblem(n_var=3, n_obj=2, seed=1)
    a = minimize(p, MGDA(pop_size=3), ("n_gen", 10), seed=5).pop.get("X")
    b = minimize(p, MGDA(pop_size=3), ("n_gen", 10), seed=5).pop.get("X")
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ BayesOpt


class Branin(Problem):
    def __init__(self):
        super().__init__(n_var=2, n_obj=1, xl=np.array([-5.0, 0.0]), xu=np.array([10.0, 15.0]))
        self.calls = []

    def _evaluate(self, X, out, *args, **kwargs):
        self.calls.extend(map(tuple, X))
        x1, x2 = X[:, 0], X[:, 1]
        b, c, t = 5.1 / (4 * np.pi**2), 5 / np.pi, 1 / (8 * np.pi)
        out["F"] = ((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10)[:, None]


def test_bayesopt_beats_random_search_on_branin():
    bo, rs = [], []
    for seed in range(5):
        res = minimize(Branin(), BayesOpt(n_initial=8), ("n_evals", 25), seed=seed)
        bo.append(res.F.min())
        rs.append(random_search(Branin(), 25, seed)[1].min())
    assert np.mean(bo) < np.mean(rs)
    assert np.mean(bo) < 0.397887 + 0.1  # measured mean 0.418 against the optimum 0.3979


def test_parego_beats_random_search_in_hypervolume():
    hv = HV(ref_point=np.array([1.5, 1.5]))
    bo, rs = [], []
    for seed in range(5):
        p = QuadraticsProblem(n_var=2, n_obj=2, seed=3)
        res = minimize(p, BayesOpt(n_initial=8), ("n_evals", 30), seed=seed)
        bo.append(hv(res.F))
        rs.append(hv(random_search(p, 30, seed)[1]))
    assert np.mean(bo) > np.mean(rs)


def test_checkpoint_resume_evaluates_no_point_twice(tmp_path):
    ckpt = tmp_path / "bo.json"
    problem = Branin()
    minimize(problem, BayesOpt(n_initial=4, checkpoint=ckpt), ("n_evals", 6), seed=2)
    assert len(json.loads(ckpt.read_text())["X"]) == 6
    res = minimize(problem, BayesOpt(n_initial=4, checkpoint=ckpt), ("n_evals", 14), seed=2)
    assert len(problem.calls) == 14 and len(set(problem.calls)) == 14
    assert len(res.pop) == 14 and res.algorithm.evaluator.n_eval == 14
    # The resumed run is the uninterrupted run.
    straight = Branin()
    minimize(straight, BayesOpt(n_initial=4), ("n_evals", 14), seed=2)
    np.testing.assert_allclose(np.array(problem.calls), np.array(straight.calls))
    assert not [p for p in tmp_path.iterdir() if p.name != "bo.json"]
    with pytest.raises(ValueError, match="another problem"):
        minimize(QuadraticsProblem(n_var=2), BayesOpt(n_initial=4, checkpoint=ckpt),
                 ("n_evals", 16), seed=2)


def test_soft_constraint_penalty():
    class Constrained(Problem):
        def __init__(self):
            super().__init__(n_var=1, n_obj=1, n_ieq_constr=1, xl=0.0, xu=10.0)

        def _evaluate(self, X, out, *args, **kwargs):
            out["F"] = (X - 3.0) ** 2
            out["G"] = X - 2.0

    # A moderate kappa: a huge one makes a cliff the GP models badly (see the docstring).
    res = minimize(Constrained(), BayesOpt(n_initial=5, kappa=10.0), ("n_evals", 20), seed=0)
    assert abs(res.X[0] - 2.0) < 0.1
    free = minimize(Constrained(), BayesOpt(n_initial=5), ("n_evals", 20), seed=0)
    best = free.pop[np.argmin(free.pop.get("F"))].X[0]
    assert abs(best - 3.0) < abs(best - 2.0)  # kappa = 0: the surrogate heads for 3


def test_booml_scalarisations_hand_values():
    F = np.array([-0.1, 0.0, 1.0])  # NDCG .1, ILD 0, ARP 1
    assert booml_ressum(F) == pytest.approx(0.1 + 0.5 + 0.7310586, abs=1e-7)
    assert booml_harmean(F) == pytest.approx(3 / (10 + 2 + 1 / 0.7310586), abs=1e-7)
    assert booml_harmean(np.array([0.0, 0.0, 1.0])) == 0.0


def test_bayesopt_errors():
    with pytest.raises(ValueError, match="smaller than n_initial"):
        minimize(Branin(), BayesOpt(n_initial=10), ("n_evals", 5))

    class Backwards(Problem):
        def __init__(self):
            super().__init__(n_var=1, n_obj=1, xl=2.0, xu=1.0)

    with pytest.raises(ValueError, match="xl > xu"):
        minimize(Backwards(), BayesOpt(n_initial=2), ("n_evals", 5))
    with pytest.raises(ValueError, match="log_scale"):
        minimize(Branin(), BayesOpt(n_initial=2, log_scale=True), ("n_evals", 5))
    with pytest.raises(ValueError, match="scalarization"):
        BayesOpt(scalarization="median")

    class Nan(Branin):
        def _evaluate(self, X, out, *args, **kwargs):
            out["F"] = np.full((len(X), 1), np.nan)

    with pytest.raises(ValueError, match="non-finite"):
        minimize(Nan(), BayesOpt(n_initial=2), ("n_evals", 5))


def test_bayesopt_same_seed_same_result():
    a = minimize(Branin(), BayesOpt(n_initial=4), ("n_evals", 10), seed=1).pop.get("X")
    b = minimize(Branin(), BayesOpt(n_initial=4), ("n_evals", 10), seed=1).pop.get("X")
    np.testing.assert_array_equal(a, b)


class _WrongGradientOnTheRight(Problem):
    """f1 = x^2, f2 = 2 x^2 on [-10, 10] with the gradient's sign flipped for x > 0, so the
    Armijo search fails there at every step size; counts the evaluations of points x > 0."""

    def __init__(self):
        super().__init__(n_var=1, n_obj=2, xl=-10.0, xu=10.0)
        self.right = 0

    def _evaluate(self, X, out, *args, **kwargs):
        x = X[:, 0]
        self.right += int((x > 0).sum())
        out["F"] = np.stack([x**2, 2 * x**2], axis=1)
        if "dF" in out:
            sign = np.where(x > 0, -1.0, 1.0)
            out["dF"] = np.stack([2 * x * sign, 4 * x * sign], axis=1)[:, :, None]


def test_mgda_stops_searching_from_a_point_whose_line_search_failed():
    p = _WrongGradientOnTheRight()
    algo = MGDA(sampling=np.array([[-4.0], [4.0]]), lr=0.1, max_backtracks=3)
    res = minimize(p, algo, ("n_gen", 20), seed=0)
    # x = 4: one evaluation at the start and 3 + 1 trial steps in the first generation;
    # afterwards it is marked and never searched again.
    assert p.right == 1 + 4
    X = res.algorithm.pop.get("X")[:, 0]
    failed = res.algorithm.pop.get("failed").astype(bool)
    assert X[1] == 4.0 and failed.tolist() == [False, True]
    assert abs(X[0]) < 1.0  # the other descent went on towards 0


# ------------------------------------------------------------------ MOBO without BoTorch


def test_mobo_without_botorch_names_the_extra(monkeypatch):
    import sys

    from moopt.algorithms import MOBO  # importable without BoTorch: BoTorch loads on use

    monkeypatch.setitem(sys.modules, "botorch", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"moopt\[bo\]"):
        MOBO()


# ----------------------------------------------------------------- gradients without dF


class _NoGradients(QuadraticsProblem):
    """The quadratics without out["dF"] and without evaluate_torch; records every X."""

    evaluate_torch = None

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = []

    def _evaluate(self, X, out, *args, **kwargs):
        self.seen.append(np.array(X))
        out["F"] = ((X[:, None, :] - self.centres[None]) ** 2).sum(axis=2) / self.n_var


def _one_point(problem, algorithm, x):
    """Run the setup and the first evaluation of ``algorithm`` from the single point x."""
    algorithm.sampling = np.atleast_2d(x)
    algorithm.setup(problem, termination=("n_gen", 1), seed=0)
    algorithm.next()
    return algorithm


def test_finite_differences_and_autograd_match_the_analytic_gradient():
    x = np.array([[0.3, -0.2, 0.7]])
    exact = QuadraticsProblem(n_var=3, seed=4)
    out = exact.evaluate(x, return_values_of=["dF"])
    fd = _one_point(_NoGradients(n_var=3, seed=4), MGDA(gradient="auto"), x)
    assert fd.gradient_source_ == "finite differences"
    np.testing.assert_allclose(fd.pop.get("dF")[0], out[0], atol=1e-6)
    ag = _one_point(QuadraticsProblem(n_var=3, seed=4), MGDA(gradient="autograd"), x)
    assert ag.gradient_source_ == "autograd"
    np.testing.assert_allclose(ag.pop.get("dF")[0], out[0], atol=1e-12)
    an = _one_point(QuadraticsProblem(n_var=3, seed=4), MGDA(), x)
    assert an.gradient_source_ == "analytic"


def test_finite_differences_stay_in_the_box_and_are_counted():
    p = _NoGradients(n_var=3, seed=0)
    # x0 on the upper bound, x1 on the lower bound, x2 inside: 1 + 1 + 2 probes.
    alg = _one_point(p, MGDA(), [1.0, -1.0, 0.0])
    X = np.vstack(p.seen)
    assert np.all(X >= -1.0) and np.all(X <= 1.0)
    assert alg.evaluator.n_eval == 1 + 4
    x = np.array([1.0, -1.0, 0.0])
    # One-sided differences at the bounds are first-order: error ~ h / d = 1e-6 / 3 * 2.
    np.testing.assert_allclose(alg.pop.get("dF")[0], 2 * (x - p.centres) / 3, atol=1e-5)


def test_mgda_with_finite_differences_improves_on_zdt1():
    from pymoo.indicators.hv import HV
    from pymoo.problems import get_problem

    p = get_problem("zdt1", n_var=5)
    res = minimize(p, MGDA(pop_size=3), ("n_evals", 300), seed=1)
    assert res.algorithm.gradient_source_ == "finite differences"
    hv = HV(ref_point=np.array([11.0, 11.0]))
    start = res.algorithm.norms_[0]  # gradients were available at the starting points
    assert start.shape == (3,)
    first = minimize(p, MGDA(pop_size=3), ("n_gen", 1), seed=1).pop.get("F")
    assert hv(res.pop.get("F")) > hv(first) + 1.0
    assert res.algorithm.evaluator.n_eval <= 300 + 3 * (1 + 2 * 5) * 31


def test_gradient_arguments_are_checked():
    with pytest.raises(ValueError, match="gradient must be one of"):
        MGDA(gradient="numeric")
    for bad in (0, -1e-3, 1.5, float("nan"), True):
        with pytest.raises(ValueError, match="fd_step"):
            MGDA(fd_step=bad)
    with pytest.raises(ValueError, match="evaluate_torch"):
        minimize(_NoGradients(n_var=2), MGDA(gradient="autograd"), ("n_gen", 2))


class TwoPositive(Problem):
    """Two objectives on a positive box (so log_scale is allowed)."""

    def __init__(self):
        super().__init__(n_var=2, n_obj=2, xl=0.1, xu=2.0)

    def _evaluate(self, X, out, *args, **kwargs):
        out["F"] = np.stack([(X**2).sum(1), ((X - 2) ** 2).sum(1)], axis=1)


def weighted_sum(f):
    return float(f[0] + f[1])


def weighted_max(f):
    return float(max(f[0], f[1]))


@pytest.mark.parametrize(
    "change, setting",
    [({"acq_func": "PI"}, "acq_func"), ({"log_scale": True}, "log_scale"),
     ({"rho": 0.1}, "rho"), ({"n_points": 500}, "n_points"), ({"kappa": 1.0}, "kappa"),
     ({"scalarization": "sum"}, "scalarization"),
     ({"scalarization": weighted_max}, "scalarization")],
)  # fmt: skip
def test_bayesopt_resume_with_a_changed_setting_names_it(tmp_path, change, setting):
    ckpt = tmp_path / "bo.json"
    base = {"n_initial": 3, "scalarization": weighted_sum, "checkpoint": ckpt}
    minimize(TwoPositive(), BayesOpt(**base), ("n_evals", 3), seed=1)
    with pytest.raises(ValueError, match=rf"another problem, seed or settings .*{setting}"):
        minimize(TwoPositive(), BayesOpt(**{**base, **change}), ("n_evals", 5), seed=1)
    # The same settings resume (nothing evaluated again: the budget of 3 is spent).
    res = minimize(TwoPositive(), BayesOpt(**base), ("n_evals", 3), seed=1)
    assert len(res.pop) == 3


def test_callable_identity_is_name_source_and_captured_values(tmp_path):
    import subprocess
    import sys

    from moopt.algorithms._checkpoint import callable_identity

    def weights(w):
        return lambda f: float(np.dot(w, f))

    assert callable_identity(weighted_sum) == callable_identity(weighted_sum)
    assert callable_identity(weighted_sum) != callable_identity(weighted_max)
    assert callable_identity(weights(np.array([0.5, 0.5]))) == callable_identity(
        weights(np.array([0.5, 0.5])))  # fmt: skip
    assert callable_identity(weights(np.array([0.5, 0.5]))) != callable_identity(
        weights(np.array([0.4, 0.6])))  # fmt: skip
    # The same function imported in another process is the same; an edited body is not.
    module = tmp_path / "scal_mod.py"
    module.write_text("def scal(f):\n    return float(f.sum())\n")
    probe = ("import json, sys; sys.path.insert(0, sys.argv[1]); import scal_mod; "
             "from moopt.algorithms._checkpoint import callable_identity; "
             "print(json.dumps(callable_identity(scal_mod.scal)))")  # fmt: skip
    there = json.loads(subprocess.run([sys.executable, "-c", probe, str(tmp_path)], check=True,
                                      capture_output=True, text=True).stdout)  # fmt: skip
    sys.path.insert(0, str(tmp_path))
    try:
        import scal_mod

        assert callable_identity(scal_mod.scal) == there
        module.write_text("def scal(f):\n    return float(f.max())\n")
        edited = json.loads(subprocess.run([sys.executable, "-c", probe, str(tmp_path)],
                                           check=True, capture_output=True, text=True).stdout)
        assert edited["callable"] == there["callable"]
        assert edited["source_sha256"] != there["source_sha256"]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("scal_mod", None)

"""PMORS: negative-feedback rates, the training job and the gradient problem."""

import numpy as np
import pytest

from problems.pareto_stationarity import (
    ParetoStationarityProblem,
    PMORSConfig,
    PMORSTask,
    negative_rates,
)
from recommenders.data import make_synthetic


def test_negative_rates_hand_case():
    # item 0 rated at t = 100 (negative), 200 (positive), 290 (negative); item 1 at 250 (pos)
    items = np.array([0, 0, 0, 1])
    times = np.array([100, 200, 290, 250])
    neg = np.array([1, 0, 1, 0])
    # at t = 300: window 50 -> only 290 -> 1/1; window 150 -> 200, 290 -> 1/2;
    # window 1000 -> all three -> 2/3. Item 1 at t = 300, window 100 -> 0/1 = 0.
    got = negative_rates(items, times, neg, np.array([0, 1]), np.array([300, 300]),
                         (50, 150, 1000))
    np.testing.assert_allclose(got, [[1.0, 0.5, 2 / 3], [0.0, 0.0, 0.0]])
    # Ratings at the impression time itself are not in its past; an unrated item gets 0.
    assert negative_rates(items, times, neg, np.array([0]), np.array([100]), (50,))[0, 0] == 0


@pytest.fixture(scope="module")
def task():
    data = make_synthetic(n_users=120, n_items=200, seed=1)
    cfg = PMORSConfig(max_impressions=3000, epochs=2, ranker_epochs=5, windows=(3600.0, 86400.0))
    return PMORSTask(data, cfg)


def test_task_trains_and_reports_bounded_metrics(task):
    table = task.compare(alphas=(0.5, 1.0), normalizations=("none", "loss"))
    assert list(table["weights"]) == ["MGDA (none)", "MGDA (loss)", "alpha=0.5", "alpha=1.0"]
    for col in ("NDCG@10", "Recall@10_1", "NegExposure@10"):
        assert table[col].between(0, 1).all()
    assert table.loc[2, "alpha (last epoch)"] == 0.5
    mgda_alpha = table.loc[0, "alpha (last epoch)"]
    assert 0.0 <= mgda_alpha <= 1.0
    with pytest.raises(ValueError, match="alpha"):
        task.train(weights=1.5)


def test_recall_10_1_counts_the_rankers_top1(task):
    # A pre-ranker that reproduces the ranking model's scores has Recall@10_1 = 1.
    imp = task.test_imp

    class Copy:
        def __call__(self, users, items):
            return imp["rank_scores"]

    assert task.metrics(Copy())["Recall@10_1"] == 1.0


def test_problem_gradients_match_finite_differences(task):
    problem = ParetoStationarityProblem(task, n_eval=256)
    x = problem.initial_x()
    F, dF = problem.evaluate(x[None], return_values_of=["F", "dF"])
    assert F.shape == (1, 2) and dF.shape == (1, 2, problem.n_var)
    rng = np.random.default_rng(0)
    # Check the directional derivative along a random direction (float32 network).
    d = rng.normal(size=problem.n_var)
    d /= np.linalg.norm(d)
    eps = 1e-3
    Fp = problem.evaluate((x + eps * d)[None])
    Fm = problem.evaluate((x - eps * d)[None])
    numeric = (Fp - Fm)[0] / (2 * eps)
    np.testing.assert_allclose(dF[0] @ d, numeric, rtol=5e-2, atol=1e-4)

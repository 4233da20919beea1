"""PMORS: negative-feedback rates, the training job and the gradient problem."""

import numpy as np
import pytest
import torch

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


def test_negative_rates_queries_outside_the_training_times_read_their_own_item():
    # Item 0 rated negatively at t = 100, item 1 at t = 105. Window 150 s.
    items, times, neg = np.array([0, 1]), np.array([100, 105]), np.array([1, 1])
    # Inside the training times: each item sees its own rating.
    inside = negative_rates(items, times, neg, np.array([0, 1]), np.array([200, 200]), (150,))
    np.testing.assert_array_equal(inside, [[1.0], [1.0]])
    # Item 0 at t = 300 looks at (150, 300): nothing, rate 0 (keys sized on the training
    # times alone spilled into item 1's rating at 105). Item 1 at t = 0 looks at
    # (-150, 0): nothing, rate 0 (not item 0's rating at 100).
    outside = negative_rates(items, times, neg, np.array([0, 1]), np.array([300, 0]), (150,))
    np.testing.assert_array_equal(outside, [[0.0], [0.0]])
    with pytest.raises(ValueError, match="windows"):
        negative_rates(items, times, neg, np.array([0]), np.array([200]), (0,))
    with pytest.raises(ValueError, match="same shape"):
        negative_rates(items, times, neg[:1], np.array([0]), np.array([200]), (150,))


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


# ------------------------------------------------------------------ scoring with ties


class _FixedScores:
    """A stand-in pre-ranker that returns given scores for the test impressions."""

    def __init__(self, scores):
        self.scores = torch.as_tensor(np.asarray(scores, dtype=np.float32))

    def __call__(self, users, items):
        return self.scores


def _scoring_task(rank_scores, negative_recent=None):
    """A PMORSTask holding only hand-made test impressions (column 0: the held-out item)."""
    rank_scores = np.asarray(rank_scores, dtype=np.float32)
    n, c = rank_scores.shape
    task = PMORSTask.__new__(PMORSTask)
    task.config = PMORSConfig()
    task.test_imp = {
        "users": torch.zeros(n, dtype=torch.long),
        "items": torch.arange(c).repeat(n, 1),
        "rank_scores": torch.as_tensor(rank_scores),
    }
    task.test_negative_recent = (np.zeros((n, c), bool) if negative_recent is None
                                 else np.asarray(negative_recent, bool))  # fmt: skip
    return task


def test_constant_pre_ranker_earns_no_credit():
    # Ties go against the held-out item (and against the ranker's top-1): a constant
    # scorer ranks column 0 behind all 11 others, outside the top 10.
    rank = np.tile(-np.arange(12.0), (3, 1))  # the ranker's top-1 is column 0
    task = _scoring_task(rank)
    m = task.metrics(_FixedScores(np.zeros((3, 12))))
    assert m["NDCG@10"] == 0.0
    assert m["Recall@10_1"] == 0.0


def test_tied_held_out_item_is_ranked_pessimistically():
    rank = np.tile(-np.arange(12.0), (2, 1))
    rank[:, 5] = 10.0  # the ranker's top-1 is column 5
    pre = np.zeros((2, 12))
    # Row 0: three candidates above the held-out item, two tied with it: rank 5 (0-based).
    pre[0, [1, 2, 3]] = 2.0
    pre[0, [0, 4, 6]] = 1.0
    # Row 1: the held-out item alone on top: rank 0.
    pre[1, 0] = 3.0
    pre[1, 1] = 2.0
    pre[1, 2:] = 1.0
    m = _scoring_task(rank).metrics(_FixedScores(pre))
    assert m["NDCG@10"] == pytest.approx((1 / np.log2(7) + 1.0) / 2)
    # Row 0: column 5 (score 0) is behind 11 candidates with score >= 0 -> miss.
    # Row 1: column 5 has columns 0, 1 and its 9 tied peers ahead or tied -> miss.
    assert m["Recall@10_1"] == 0.0
    pre[1, 7:] = 0.0  # now column 5 has 0, 1, 2, 3, 4, 6 at >= -> rank 6 -> hit
    assert _scoring_task(rank).metrics(_FixedScores(pre))["Recall@10_1"] == 0.5


def test_neg_exposure_counts_the_top_ten():
    neg = np.zeros((1, 12), bool)
    neg[0, [0, 1, 11]] = True
    task = _scoring_task(np.zeros((1, 12)), neg)
    # Strict order: the top 10 are columns 0..9, two of them negatively rated.
    assert task.metrics(_FixedScores(-np.arange(12.0)[None]))["NegExposure@10"] == 0.2
    # All tied: ten of the twelve at random (seeded), so 1, 2 or 3 negatives, the same
    # every call.
    a = task.metrics(_FixedScores(np.zeros((1, 12))))["NegExposure@10"]
    assert a in (0.1, 0.2, 0.3)
    assert task.metrics(_FixedScores(np.zeros((1, 12))))["NegExposure@10"] == a


def test_logged_grad_norm_is_the_min_norm_of_the_step(task):
    # One batch holding every training impression, one epoch: the log's grad_norm is the
    # min-norm of this step's two gradients at the fresh network, computed here by hand.
    from dataclasses import replace

    from moopt.gradient import min_norm

    base = task.config
    task.config = replace(base, batch_size=10**6)
    try:
        _, log = task.train("mgda", epochs=1)
    finally:
        task.config = base
    net = task.new_net()
    params = list(net.parameters())
    rows = []
    for loss in task.losses(net, task.train_imp):
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                               for g, p in zip(grads, params, strict=True)]))  # fmt: skip
    w, norm = min_norm(torch.stack(rows).double())
    assert float(norm) > 0
    assert log["grad_norm"].iloc[0] == pytest.approx(float(norm), rel=1e-3)
    assert log["alpha"].iloc[0] == pytest.approx(float(w[0]), abs=1e-3)


def test_training_impressions_hold_distinct_candidates(task):
    # Column 0 is the interacted item; the other C - 1 candidates are distinct and never it.
    items = task.train_imp["items"].numpy()
    assert items.shape[1] == task.config.n_train_candidates
    assert all(np.unique(row).size == row.size for row in items)
    # Column 0 is a training interaction of the impression's user.
    train = task.split.train
    users = task.train_imp["users"].numpy()
    assert np.isin(users * train.n_items + items[:, 0], train.keys()).all()


def test_impression_candidates_without_replacement():
    from problems.pareto_stationarity import impression_candidates

    rng = np.random.default_rng(0)
    # Nine others out of ten items: every row is exactly the whole catalogue.
    cands = impression_candidates(np.array([0, 4, 9, 4]), 10, 9, rng)
    assert cands.shape == (4, 10)
    np.testing.assert_array_equal(cands[:, 0], [0, 4, 9, 4])
    np.testing.assert_array_equal(np.sort(cands, axis=1), np.tile(np.arange(10), (4, 1)))
    a = impression_candidates(np.arange(50) % 7, 7, 3, np.random.default_rng(1))
    b = impression_candidates(np.arange(50) % 7, 7, 3, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert all(np.unique(r).size == 4 for r in a)
    with pytest.raises(ValueError, match="n_others"):
        impression_candidates(np.array([0]), 5, 5, rng)

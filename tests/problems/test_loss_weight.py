"""BOOML's loss-weight search problem on synthetic data."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from problems.loss_weight import LossWeightConfig, LossWeightProblem, support_query, user_groups
from recommenders.data import make_synthetic, ratio_split


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_users=150, n_items=200, seed=0)


def config(**kw):
    return LossWeightConfig(k=10, dim=16, batch_size=256, **kw)


def test_groups_and_support_query(data):
    split = ratio_split(data.interactions)
    groups = user_groups(split.train, data.item_genres, 3)
    assert groups.shape == (150,) and set(groups) == {0, 1, 2}
    support, query = support_query(split.train, 0.2)
    assert not np.any(support & query) and np.all(support | query)
    # Query rows are each user's newest training interactions.
    tr = split.train
    for u in range(0, 150, 17):
        rows = np.arange(tr.indptr[u], tr.indptr[u + 1])
        if query[rows].any():
            stamps = tr.timestamps[rows]
            assert stamps[query[rows]].min() >= stamps[support[rows]].max()


def test_problem_shape_and_weights(data):
    p = LossWeightProblem(data, config(warm_start=False))
    assert (p.n_var, p.n_obj) == (6, 3)
    assert p.objective_names == ("-NDCG@10", "-ILD@10", "ARP@10")
    lam, beta = p.weights(np.array([-2, 0, 1, 1, 0, -2.0]))
    np.testing.assert_allclose(lam, [0.01, 1, 10])
    np.testing.assert_allclose(beta, [10, 1, 0.01])
    F = p.evaluate(np.zeros((2, 6)))
    assert F.shape == (2, 3) and np.all(np.isfinite(F))
    assert F[0, 0] < 0 and F[0, 1] < 0 and F[0, 2] > 0  # -NDCG, -ILD, ARP
    assert len(p.history) == 2 and p.history[0]["epochs"] >= 1
    with pytest.raises(ValueError, match="finite log10 weights"):
        p.weights(np.zeros(5))


def test_weights_steer_the_objectives(data):
    # Trained from scratch: a heavy diversity weight raises ILD, a heavy fairness weight
    # lowers ARP, both against tiny weights (same seed, same data).
    p = LossWeightProblem(data, config(warm_start=False))
    low = p.train_and_score(np.full(6, -2.0))
    div = p.train_and_score(np.array([1, 1, 1, -2, -2, -2.0]))
    fair = p.train_and_score(np.array([-2, -2, -2, 1, 1, 1.0]))
    assert div["ILD"] > low["ILD"]
    assert fair["ARP"] < low["ARP"]


def test_warm_start_is_shared_and_bounded(data):
    p = LossWeightProblem(data, config(warm_start=True, meta_epochs=3))
    start = p._init_theta()
    starts = []  # the parameters each evaluation's first validation sees: its starting point
    real = p.validation_metrics

    def record(theta):
        starts.append(theta.clone())
        return real(theta)

    p.validation_metrics = record
    first = p.train_and_score(np.zeros(6))
    after_first = p._theta.clone()
    n_first = len(starts)
    second = p.train_and_score(np.zeros(6))
    assert 1 <= first["epochs"] <= 3 and 1 <= second["epochs"] <= 3
    # The first evaluation starts from the seeded initialisation and moves it...
    assert torch.equal(starts[0], start)
    assert not torch.equal(after_first, start)
    # ...and the second starts where the first ended (its best parameters), not afresh.
    assert torch.equal(starts[n_first], after_first)
    assert not torch.equal(p._theta, after_first)


def test_lightgcn_encoder_runs(data):
    p = LossWeightProblem(data, config(encoder="lightgcn", warm_start=False, epochs=3))
    r = p.train_and_score(np.zeros(6))
    assert 0 <= r["NDCG"] <= 1 and r["epochs"] <= 3


def test_bad_config():
    with pytest.raises(ValueError, match="encoder"):
        LossWeightConfig(encoder="gnn")


def test_meta_step_adapts_and_evaluates_on_the_same_users(data):
    # BOOML Algorithm 1: user i's parameters adapt on S_i and the outer gradient is taken on
    # Q_i. Every meta step calls _losses twice: support batch, then query batch.
    p = LossWeightProblem(data, LossWeightConfig(k=10, dim=16, batch_size=64, meta_epochs=1))
    calls = []
    inner = p._losses

    def record(theta, users, items, negs, lam, beta):
        calls.append((np.asarray(users), np.asarray(items)))
        return inner(theta, users, items, negs, lam, beta)

    p._losses = record
    p.train_and_score(np.zeros(6))
    assert len(calls) >= 4 and len(calls) % 2 == 0
    train = p.split.train
    support_keys = train.keys()[p._support]
    query_keys = train.keys()[p._query]
    covered = set()
    for (su, si), (qu, qi) in zip(calls[::2], calls[1::2], strict=True):
        assert set(su.tolist()) == set(qu.tolist())
        assert np.isin(su * train.n_items + si, support_keys).all()
        assert np.isin(qu * train.n_items + qi, query_keys).all()
        covered.update(su.tolist())
    # Every user with both a support and a query set takes part once per meta-epoch.
    has_both = (np.bincount(train.users[p._support], minlength=train.n_users) > 0) & (
        np.bincount(train.users[p._query], minlength=train.n_users) > 0
    )
    assert covered == set(np.flatnonzero(has_both).tolist())


def test_meta_projection_is_booml_eq17_by_default(data, monkeypatch):
    import problems.loss_weight as lw

    assert LossWeightConfig().projection == "booml"
    with pytest.raises(ValueError, match="projection"):
        LossWeightConfig(projection="sequential")
    used = []
    real_booml, real_pcgrad = lw.project_conflicts, lw.pcgrad
    monkeypatch.setattr(lw, "project_conflicts", lambda G: used.append("booml") or real_booml(G))
    monkeypatch.setattr(lw, "pcgrad", lambda G, **kw: used.append("pcgrad") or real_pcgrad(G, **kw))
    LossWeightProblem(data, config(meta_epochs=1)).train_and_score(np.zeros(6))
    assert used and set(used) == {"booml"}
    used.clear()
    LossWeightProblem(data, config(meta_epochs=1, projection="pcgrad")).train_and_score(
        np.zeros(6)
    )
    assert used and set(used) == {"pcgrad"}


def test_evaluations_record_gradient_passes_and_seconds(data):
    # One batch (one meta-task group) per epoch: a plain epoch is 1 backward pass, a
    # meta-epoch 4 (the inner step, then f_acc, f_div and f_fair on the query sets).
    big = LossWeightConfig(k=10, dim=16, batch_size=10**6, epochs=3, patience=5, meta_epochs=2)
    scratch = LossWeightProblem(data, replace(big, warm_start=False)).train_and_score(np.zeros(6))
    assert scratch["epochs"] == 3 and scratch["gradient_passes"] == 3
    warm = LossWeightProblem(data, big).train_and_score(np.zeros(6))
    assert warm["epochs"] == 2 and warm["gradient_passes"] == 8
    assert scratch["seconds"] > 0 and warm["seconds"] > 0
    # Final models count theirs too; MGDA takes 3 gradients and 1 backward pass a step.
    p = LossWeightProblem(data, replace(big, warm_start=False))
    assert p.fit()[1]["gradient_passes"] == 3
    assert p.fit(mgda="l2")[1]["gradient_passes"] == 12
    # With batches of 256 a plain epoch is ceil(n / 256) passes.
    small = LossWeightProblem(data, replace(big, batch_size=256, warm_start=False, epochs=1))
    n = len(small.split.train)
    assert small.train_and_score(np.zeros(6))["gradient_passes"] == -(-n // 256)

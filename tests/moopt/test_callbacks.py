"""Knowledge transfer: soft labels, the learner, guided initialisation and both callbacks."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.indicators.hv import HV
from pymoo.optimize import minimize

from moopt import rerank_batch
from moopt._topk import top_k_rows
from moopt.callbacks import (
    KnowledgeTransfer,
    KnowledgeTransferCallback,
    ParetoLearner,
    map_lists,
    soft_labels,
)
from moopt.callbacks.pareto_learning import ParetoLearnerConfig, ParetoMLP, item_features
from moopt.cluster import kmeans
from moopt.objectives import make_inputs
from moopt.operators import (
    ListDuplicateElimination,
    ListMutation,
    ListSampling,
    OnePointListCrossover,
)
from problems import ListReRankingProblem


def users(n_users=60, n=40, n_items=400, seed=0):
    rng = np.random.default_rng(seed)
    genres = np.zeros((n_items, 12), dtype=bool)
    genres[np.arange(n_items), rng.integers(0, 12, n_items)] = True
    pop = np.floor(2000.0 / np.arange(1, n_items + 1) ** 0.9)[rng.permutation(n_items)]
    cands = np.stack([rng.choice(n_items, n, replace=False) for _ in range(n_users)])
    scores = np.sort(rng.normal(size=(n_users, n)), axis=1)[:, ::-1].copy()
    return scores, cands, genres, pop


def test_soft_labels_hand_case():
    # One user, 4 lists of 2 out of 5 candidates, sorted by accuracy into 2 clusters:
    # cluster 0 = lists [0, 1] and [0, 2] (accuracy .9, .8), cluster 1 = [3, 4], [3, 1].
    positions = np.array([[[0, 1], [0, 2], [3, 4], [3, 1]]])
    accuracy = np.array([[0.9, 0.8, 0.2, 0.1]])
    labels, present = soft_labels(positions, accuracy, 5, 2)
    # cluster 0 frequencies: item0 1, item1 .5, item2 .5 -> softmax over those three.
    e = np.exp([1.0, 0.5, 0.5])
    np.testing.assert_allclose(labels[0, 0], [*(e / e.sum()), 0, 0])
    e = np.exp([0.5, 1.0, 0.5])  # cluster 1: item1 .5, item3 1, item4 .5
    np.testing.assert_allclose(labels[0, 1], [0, e[0] / e.sum(), 0, e[1] / e.sum(),
                                              e[2] / e.sum()])
    assert present[0, 0].tolist() == [True, True, True, False, False]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 12), st.integers(1, 9), st.integers(1, 4),
       st.integers(0, 2**32 - 1))  # fmt: skip
def test_soft_labels_equal_a_list_by_list_count(u, p, n, n_clusters, seed):
    # Lists may repeat a candidate (counted once per list); accuracy has ties.
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, n + 1))
    positions = rng.integers(0, n, (u, p, k))
    accuracy = rng.integers(0, 3, (u, p)).astype(float)
    labels, present = soft_labels(positions, accuracy, n, n_clusters)
    for a in range(u):
        order = sorted(range(p), key=lambda i: (-accuracy[a, i], i))
        for c, chunk in enumerate(np.array_split(np.arange(p), n_clusters)):
            lists = [set(positions[a, order[i]].tolist()) for i in chunk]
            freq = np.array([sum(j in lst for lst in lists) / max(len(lists), 1)
                             for j in range(n)])  # fmt: skip
            held = freq > 0
            assert present[a, c].tolist() == held.tolist()
            want = np.where(held, np.exp(freq), 0.0)
            if want.sum() > 0:
                want /= want.sum()
            np.testing.assert_allclose(labels[a, c], want, rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match="n_candidates"):
        soft_labels(positions + n, accuracy, n, n_clusters)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 4), st.integers(1, 25), st.data())
def test_top_k_rows_is_the_head_of_a_stable_descending_sort(rows, n, data):
    # Few distinct values (ties), NaNs and signed zeros: the order np.argsort gives.
    k = data.draw(st.integers(1, n))
    values = st.sampled_from([-1.5, -0.0, 0.0, 0.5, 2.0, float("nan")])
    scores = np.array(data.draw(st.lists(values, min_size=rows * n, max_size=rows * n)),
                      dtype=np.float32).reshape(rows, n)  # fmt: skip
    want = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(top_k_rows(scores, k), want)
    np.testing.assert_array_equal(top_k_rows(scores.astype(np.float64), k), want)
    for bad in (0, n + 1):
        with pytest.raises(ValueError, match="k must lie"):
            top_k_rows(scores, bad)


def test_all_clusters_is_forward_under_each_cluster_bit_for_bit():
    torch.manual_seed(0)
    model = ParetoMLP(7, 4, 5, ParetoLearnerConfig(hidden=8))
    feats = torch.randn(5, 9, 7)
    user = torch.arange(5)[:, None].expand(5, 9)
    with torch.no_grad():
        out = model.all_clusters(feats, user)
        for c in range(4):
            one = model(feats, torch.full((5, 9), c), user)
            assert torch.equal(out[:, c], one)


def test_kmeans_recovers_separated_groups_and_is_seeded():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2)),
                        rng.normal((0, 5), 0.1, (20, 2))])
    labels, centroids = kmeans(X, 3, seed=1)
    assert len(set(labels[:20])) == len(set(labels[20:40])) == len(set(labels[40:])) == 1
    assert len(set(labels)) == 3
    again, _ = kmeans(X, 3, seed=1)
    np.testing.assert_array_equal(labels, again)
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans(X, 0)


def test_map_lists_replaces_missing_items_by_best_unused():
    scores = np.array([[0.1, 0.9, 0.5, 0.7]])
    cands = np.array([[10, 11, 12, 13]])
    inputs = make_inputs(scores, cands, np.eye(20, dtype=bool), np.ones(20), 3)
    out = map_lists(np.array([[[12, 99, 10]]]), inputs, np.array([0]))
    # 12 -> position 2, 99 missing -> best unused by score: position 1 (0.9), 10 -> 0.
    assert out.tolist() == [[[2, 1, 0]]]


def test_item_features_hand_case():
    # Candidates 0, 1, 2 of items with genres {0}, {0, 1}, {} and popularity 1, 10, 100;
    # scores .2, .9, .5 so the top-1 list is candidate 1, covering genres 0 and 1.
    genres = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]], dtype=bool)
    pop = np.array([1.0, 10.0, 100.0])
    inputs = make_inputs(np.array([[0.2, 0.9, 0.5]]), np.array([[0, 1, 2]]), genres, pop, 1)
    f = item_features(inputs)[0]
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f[:, :3], genres)
    np.testing.assert_allclose(f[:, 3], np.log1p(pop) / np.log1p(100.0), rtol=1e-6)
    np.testing.assert_allclose(f[:, 4], [1.0, 0.5, 0.0], atol=1e-7)  # log2(100/p)/log2(100)
    np.testing.assert_array_equal(f[:, 5], [0.0, 0.0, 0.0])  # top-1 covers 0 and 1
    np.testing.assert_allclose(f[:, 6], [0.0, 1.0, 3 / 7], rtol=1e-6)  # min-max score
    np.testing.assert_array_equal(f[:, 7], [0.0, 1.0, 0.5])  # 1 - rank / (N - 1)
    emb = np.arange(9.0).reshape(3, 3) / 3
    with_emb = item_features(make_inputs(np.array([[0.2, 0.9, 0.5]]), np.array([[0, 1, 2]]),
                                         genres, pop, 1, extras={"item_embeddings": emb}))
    np.testing.assert_array_equal(with_emb[0, :, :3], emb.astype(np.float32))
    np.testing.assert_array_equal(with_emb[0, :, 3:], f[:, 3:])


def test_item_features_are_finite_and_bounded():
    scores, cands, genres, pop = users()
    feats = item_features(make_inputs(scores, cands, genres, pop, 5))
    assert feats.shape == (60, 40, 12 + 5)
    assert np.all(np.isfinite(feats)) and feats.min() >= 0 and feats.max() <= 1


def test_batch_transfer_runs_and_gives_anchors():
    scores, cands, genres, pop = users()
    kt = KnowledgeTransfer(every=2)
    res = rerank_batch(scores, cands, genres, pop, k=5, pop_size=20, n_gen=7, seed=0,
                       callback=kt)
    assert [h["gen"] for h in kt.history] == [2, 4, 6]
    assert res.anchors.shape == (60, kt.learner.config.n_clusters, 3)
    # The choice indexes the archive (the non-dominated lists of the run), or with
    # source="population" the final population's first front.
    idx = res.select("angular")
    assert np.all((idx >= 0) & (idx < res.archive_size))
    pop_idx = res.select("angular", source="population")
    assert np.all(res.rank[np.arange(60), pop_idx] == 0)
    assert res.chosen_lists("angular").shape == (60, 5)
    for u in range(60):
        assert all(len(set(row)) == 5 for row in res.positions[u].tolist())


def test_transfer_is_reproducible():
    scores, cands, genres, pop = users(n_users=20)
    a = rerank_batch(scores, cands, genres, pop, k=5, pop_size=12, n_gen=5, seed=3,
                     callback=KnowledgeTransfer(every=2))
    b = rerank_batch(scores, cands, genres, pop, k=5, pop_size=12, n_gen=5, seed=3,
                     callback=KnowledgeTransfer(every=2))
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.anchors, b.anchors)


def test_anchors_reuse_the_last_proposal_only_while_the_network_is_unchanged():
    from moopt.engine.rerank import evaluate_lists

    class Keep(KnowledgeTransfer):
        def setup(self, inputs, *args):
            self.inputs = inputs
            super().setup(inputs, *args)

    scores, cands, genres, pop = users(n_users=20)
    kt = Keep(every=2)
    res = rerank_batch(scores, cands, genres, pop, k=5, pop_size=12, n_gen=7, seed=3,
                       callback=kt)
    assert [h["gen"] for h in kt.history] == [2, 4, 6]  # none after the last training
    fresh = kt.learner.propose(kt.inputs, kt._users)
    np.testing.assert_array_equal(res.anchors, evaluate_lists(fresh, kt._packed))
    assert kt._propose(kt.inputs, kt._users) is kt._proposal[1]  # network unchanged
    # Other users, or another training, mean a new proposal.
    assert kt._propose(kt.inputs, kt._users[::-1]) is not kt._proposal[1]
    kt.learner.fit(kt.inputs, res.positions, -res.F, res.objectives, kt._users)
    after = kt._propose(kt.inputs, kt._users)
    assert after is not kt._proposal[1]
    np.testing.assert_array_equal(after, kt.learner.propose(kt.inputs, kt._users))


def test_transfer_improves_hypervolume_at_equal_generations():
    scores, cands, genres, pop = users(n_users=150, n=60)
    hv = HV(ref_point=np.full(3, 1.1))

    def mean_hv(res):
        return np.mean([hv(-res.F[u][res.rank[u] == 0]) for u in range(res.n_users)])

    kw = dict(k=8, pop_size=30, n_gen=10, seed=0)
    plain = rerank_batch(scores, cands, genres, pop, **kw)
    kt = rerank_batch(scores, cands, genres, pop, callback=KnowledgeTransfer(), **kw)
    assert mean_hv(kt) > mean_hv(plain)


def test_guided_initialisation_seeds_lists_from_user_clusters():
    scores, cands, genres, pop = users(n_users=30)
    kt = KnowledgeTransfer(n_user_clusters=3, n_guided=4)
    inputs = make_inputs(scores, cands, genres, pop, 5)
    from moopt.engine import RerankConfig
    from moopt.objectives import pack_objectives

    kt.setup(inputs, pack_objectives(("accuracy", "diversity", "novelty"), inputs),
             RerankConfig(k=5, pop_size=12, n_gen=3), 0, np.arange(30))
    seeds = kt.initial_lists(inputs)
    assert seeds.shape == (30, 4, 5)
    assert all(len(set(row)) == 5 for row in seeds.reshape(-1, 5).tolist())
    assert seeds.min() >= 0 and seeds.max() < 40


def test_pymoo_callback_transfers_across_users():
    scores, cands, genres, pop = users(n_users=3)
    cb = KnowledgeTransferCallback(every=2)
    for u in range(3):
        problem = ListReRankingProblem(scores[u], cands[u], genres, pop, k=5)
        algo = NSGA2(pop_size=16, sampling=ListSampling(), crossover=OnePointListCrossover(),
                     mutation=ListMutation(), eliminate_duplicates=ListDuplicateElimination())
        res = minimize(problem, algo, ("n_gen", 6), seed=u, callback=cb)
        X = res.pop.get("X").astype(int)
        assert len(X) == 16 and all(len(set(r)) == 5 for r in X.tolist())
        np.testing.assert_allclose(res.pop.get("F"), problem.evaluate(X))
    assert sorted(cb.anchors_) == [0, 1, 2]
    assert cb.learner.model.user.num_embeddings == 3  # grew as new users arrived
    assert len(cb.history) == 3 * 3  # generations 2, 4, 6 of each run


def test_pymoo_callback_needs_a_list_problem():
    from pymoo.problems import get_problem

    with pytest.raises(TypeError, match="exposing `inputs`"):
        minimize(get_problem("zdt1"), NSGA2(pop_size=10), ("n_gen", 3),
                 callback=KnowledgeTransferCallback(every=1))


def test_learner_requires_training_before_proposals():
    scores, cands, genres, pop = users(n_users=2)
    with pytest.raises(RuntimeError, match="not been trained"):
        ParetoLearner().propose(make_inputs(scores, cands, genres, pop, 5), np.arange(2))


def test_every_transfer_evaluation_is_counted():
    scores, cands, genres, pop = users(n_users=30)
    cb = KnowledgeTransfer(every=3, n_user_clusters=4, n_guided=3)
    kt = rerank_batch(scores, cands, genres, pop, k=5, pop_size=12, n_gen=7, seed=0,
                      callback=cb)  # fmt: skip
    c = cb.learner.config.n_clusters
    # Every user's anchors (c lists) are evaluated once at the end; the four central
    # users are also charged their guided-initialisation run (at least a population).
    extra = cb.extra_evals_
    assert np.count_nonzero(extra == c) == 26
    assert np.count_nonzero(extra >= c + 12) == 4
    # What is left is the engine's own work: the initial population, at most a
    # population of children per generation, and two transfers (gens 3 and 6) of c lists.
    engine = kt.n_evals - extra - 2 * c
    assert np.all((engine >= 12) & (engine <= 12 * 7))


def test_max_samples_caps_the_training_occurrences():
    scores, cands, genres, pop = users(n_users=20)
    res = rerank_batch(scores, cands, genres, pop, k=5, pop_size=12, n_gen=3, seed=0)
    inputs = make_inputs(scores, cands, genres, pop, 5)
    seen = {}

    class Spy(ParetoLearner):
        def _train(self, f, c, usr, y):
            seen["n"] = y.shape[0]
            return super()._train(f, c, usr, y)

    Spy(max_samples=50).fit(inputs, res.positions, res.F, res.objectives, np.arange(20))
    assert seen["n"] == 50
    Spy().fit(inputs, res.positions, res.F, res.objectives, np.arange(20))
    assert seen["n"] > 50
    with pytest.raises(ValueError, match="max_samples"):
        ParetoLearner(max_samples=0)


def test_presets():
    light = KnowledgeTransfer.preset("light", seed=3)
    assert light.transfer.every == 5 and not light.transfer.guided_init
    cfg = light.learner.config
    assert (cfg.max_samples, cfg.epochs, cfg.hidden, cfg.n_clusters, cfg.seed) == (1000, 1, 16,
                                                                                  3, 3)
    assert KnowledgeTransfer.preset("paper").transfer.every == 3
    with pytest.raises(ValueError, match="preset"):
        KnowledgeTransfer.preset("fast")

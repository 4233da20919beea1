"""Every metric against a case computed by hand (the arithmetic is in the comments)."""

import numpy as np
import pytest

from recommenders import metrics as M

HIT = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=bool)
ONE = np.ones(3)


def test_hit_rate():
    assert M.hit_rate(HIT, 1).tolist() == [0, 1, 0]
    assert M.hit_rate(HIT, 2).tolist() == [1, 1, 0]


def test_precision():
    assert M.precision(HIT, 2).tolist() == [0.5, 0.5, 0.0]


def test_recall_multi_relevant():
    hit = np.array([[1, 0, 1, 0]], dtype=bool)
    assert M.recall(hit, np.array([3]), 4)[0] == pytest.approx(2 / 3)
    assert M.recall(hit, np.array([3]), 1)[0] == pytest.approx(1 / 3)


def test_ndcg_single_target():
    # Row 0 hits at position 1: 1 / log2(3) = 0.630930; row 1 at position 0: 1.
    np.testing.assert_allclose(M.ndcg(HIT, ONE, 3), [0.6309298, 1.0, 0.0], atol=1e-6)


def test_ndcg_multi_relevant():
    hit = np.array([[1, 0, 1, 0]], dtype=bool)
    # DCG = 1 + 1/log2(4) = 1.5; IDCG (3 relevant) = 1 + 1/log2(3) + 1/2 = 2.1309298.
    assert M.ndcg(hit, np.array([3]), 4)[0] == pytest.approx(1.5 / 2.1309298, abs=1e-6)
    # k=2, 5 relevant: DCG = 1, IDCG = 1 + 0.6309298.
    assert M.ndcg(hit, np.array([5]), 2)[0] == pytest.approx(1 / 1.6309298, abs=1e-6)


def test_mrr():
    assert M.mrr(HIT, 3).tolist() == [0.5, 1.0, 0.0]
    assert M.mrr(HIT, 1).tolist() == [0.0, 1.0, 0.0]


def test_hit_matrix():
    hit, n_rel = M.hit_matrix(
        np.array([[3, 1], [0, 2]]), np.array([5, 7]),
        np.array([5, 7, 7]), np.array([1, 4, 2]), n_items=10,
    )  # fmt: skip
    assert hit.tolist() == [[False, True], [False, True]]
    assert n_rel.tolist() == [1, 2]


def test_rank_candidates_pessimistic_ties():
    scores = np.array([[0.5, 0.9, 0.1], [0.5, 0.5, 0.1], [0.9, 0.1, 0.2]])
    hit = M.rank_candidates(scores)
    assert np.argmax(hit, axis=1).tolist() == [1, 1, 0]
    assert hit.sum(axis=1).tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="NaN"):
        M.rank_candidates(np.array([[np.nan, 1.0]]))


# items: 0 {g0}, 1 {g0, g1}, 2 {g2}, 3 {}
GENRES = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=bool)
POP = np.array([6.0, 1.0, 0.0, 1.0])  # total 8


def test_category_coverage():
    got = M.category_coverage(np.array([[0, 1], [2, 3], [0, 2]]), GENRES)
    np.testing.assert_allclose(got, [2 / 3, 1 / 3, 2 / 3])


def test_ild_jaccard():
    # (0,1): 1 - 1/2 = 0.5; (0,2): 1; (1,2): 1 -> mean 2.5 / 3.
    got = M.ild(np.array([[0, 1, 2], [0, 3, 3]]), GENRES)
    # second row: (0,3) union 1 -> 1; (0,3) -> 1; (3,3) both empty -> 0 -> mean 2/3
    np.testing.assert_allclose(got, [2.5 / 3, 2 / 3])
    assert M.ild(np.array([[1]]), GENRES).tolist() == [0.0]


def test_ild_embedding_cosine():
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # (0,1): 1 - 0 = 1; (0,2) and (1,2): 1 - 1/sqrt(2) = 0.2928932.
    got = M.ild_embedding(np.array([[0, 1, 2]]), emb)
    assert got[0] == pytest.approx((1 + 2 * 0.29289322) / 3, abs=1e-7)


def test_novelty():
    # [0, 1]: -log2(6/8) = 0.4150375, -log2(1/8) = 3 -> mean 1.7075187; / log2(8) = 0.5691729.
    # [2, 3]: pop 0 counts as 1 -> 3 and 3 -> mean 3 -> normalised 1.
    lists = np.array([[0, 1], [2, 3]])
    np.testing.assert_allclose(M.novelty(lists, POP), [1.7075187, 3.0], atol=1e-6)
    np.testing.assert_allclose(M.novelty(lists, POP, normalize=True), [0.5691729, 1.0], atol=1e-6)


def test_arp():
    np.testing.assert_allclose(M.arp(np.array([[0, 1], [2, 3]]), POP), [3.5, 0.5])


def test_exposure_coverage_gini_entropy():
    lists = np.array([[0, 1], [0, 2]])
    assert M.exposure(lists, 4).tolist() == [2, 1, 1, 0]
    assert M.catalog_coverage(lists, 4) == 0.75
    # sorted x = [0, 1, 1, 2]: sum (2i - 5) x_i = -1 + 1 + 6 = 6 -> 6 / (4 * 4) = 0.375
    assert M.gini(lists, 4) == pytest.approx(0.375)
    # p = [.5, .25, .25] -> H = 1.5 bits; / log2(4) = 0.75
    assert M.exposure_entropy(lists, 4, normalize=False) == pytest.approx(1.5)
    assert M.exposure_entropy(lists, 4) == pytest.approx(0.75)
    assert M.gini(np.array([[0], [1], [2], [3]]), 4) == pytest.approx(0.0)


def test_f_beta():
    # A = 0.2, B = (0.4 + 0.8) / 2 = 0.6: F1 = 2*.2*.6/.8 = 0.3; F2 = 5*.12/(.8+.6) = 0.4285714
    assert M.f_beta(0.2, 0.4, 0.8, 1.0) == pytest.approx(0.3)
    assert M.f_beta(0.2, 0.4, 0.8, 2.0) == pytest.approx(0.6 / 1.4)
    assert M.f_beta(0.0, 0.0, 0.0) == 0.0
    np.testing.assert_allclose(M.f_beta(np.array([0.2, 0.0]), 0.4, 0.8), [0.3, 0.0])
    with pytest.raises(ValueError, match="beta"):
        M.f_beta(0.1, 0.1, 0.1, beta=0)


def test_res_sum_and_har_mean():
    # NDCG .1, ILD 0 -> sigmoid .5, ARP 1 -> sigmoid(1) = 0.7310586
    assert M.res_sum(0.1, 0.0, 1.0) == pytest.approx(0.1 + 0.5 + 0.7310586, abs=1e-7)
    assert M.har_mean(0.1, 0.0, 1.0) == pytest.approx(3 / (10 + 2 + 1 / 0.7310586), abs=1e-7)
    assert M.har_mean(0.0, 0.0, 1.0) == 0.0


def test_reports_are_means_of_the_per_user_values():
    rep = M.accuracy_report(HIT, ONE, ks=(1, 3))
    assert rep["HR@1"] == pytest.approx(1 / 3)
    assert rep["NDCG@3"] == pytest.approx((0.6309298 + 1) / 3, abs=1e-6)
    lists = np.array([[0, 1], [2, 3]])
    beyond = M.beyond_accuracy_report(lists, GENRES, POP, ks=(2,), recall_at={2: 0.5})
    assert beyond["Div@2"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert beyond["Nov@2"] == pytest.approx((0.5691729 + 1) / 2, abs=1e-6)
    assert beyond["F1@2"] == pytest.approx(M.f_beta(0.5, beyond["Div@2"], beyond["Nov@2"]))
    assert all(np.isfinite(v) for v in beyond.values())


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: M.hit_rate(HIT, 4), "exceeds"),
        (lambda: M.hit_rate(HIT, 0), "positive integer"),
        (lambda: M.ndcg(HIT, np.array([1, 0, 1]), 2), "at least one relevant"),
        (lambda: M.ndcg(HIT, np.ones(2), 2), "shape"),
        (lambda: M.category_coverage(np.array([[0, 9]]), GENRES), "outside"),
        (lambda: M.novelty(np.array([[0.5, 1.0]]), POP), "integer item ids"),
        (lambda: M.novelty(np.array([[0, 1]]), np.array([1.0, -1.0])), "non-negative"),
        (lambda: M.arp(np.array([[0, 1]]), np.array([1.0, np.nan])), "finite"),
        (lambda: M.gini(np.zeros((0, 1), dtype=int), 4), "empty"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_interest_entropy_by_hand():
    # Items: 0 in genre A, 1 in B, 2 in A and B, 3 in none.
    genres = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], bool)
    lists = np.array([[0, 0, 3], [0, 1, 3], [2, 2, 2]])
    # List 0: all mass on A -> 0. List 1: A 1, B 1 -> ln 2. List 2: each item 0.5/0.5 -> ln 2.
    np.testing.assert_allclose(M.interest_entropy(lists, genres), [0.0, np.log(2), np.log(2)])
    assert M.interest_entropy(np.array([[3, 3]]), genres).tolist() == [0.0]


def test_per_domain_accuracy_by_hand():
    genres = np.array([[1, 0], [0, 1], [1, 1]], bool)
    # Three users, one target each: item 0 (A), item 1 (B), item 2 (A and B).
    hit = np.array([[1, 0], [0, 0], [0, 1]], bool)
    rows = M.per_domain_accuracy(hit, np.ones(3), [0, 1, 2], genres, ["A", "B"], k=2)
    a, b = rows
    assert (a["n_targets"], b["n_targets"]) == (2, 2)
    # A: users 0 and 2, hits at positions 1 and 2 -> Recall 1, NDCG (1 + 1/log2(3)) / 2.
    assert a["Recall@2"] == 1.0
    assert a["NDCG@2"] == pytest.approx((1 + 1 / np.log2(3)) / 2)
    # B: users 1 and 2 -> Recall 0.5, NDCG (0 + 1/log2(3)) / 2.
    assert b["Recall@2"] == 0.5 and b["NDCG@2"] == pytest.approx(0.5 / np.log2(3))
    empty = M.per_domain_accuracy(hit[:1], np.ones(1), [0], genres, ["A", "B"], k=2)[1]
    assert empty == {"domain": "B", "n_targets": 0}
    with pytest.raises(ValueError, match="target_items must have one entry per row"):
        M.per_domain_accuracy(hit, np.ones(3), [0, 1], genres, ["A", "B"], k=2)
    with pytest.raises(ValueError, match="to match names"):
        M.per_domain_accuracy(hit, np.ones(3), [0, 1, 2], genres, ["A"], k=2)

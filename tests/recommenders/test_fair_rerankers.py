"""CPFair against brute force; FairRec's two-sided guarantees; bad input of both."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders.rerank import cpfair_batch, cpfair_weights, fairrec_batch


def _cpfair_brute(s, cand, rel, adv, head, k, lam_c, lam_p):
    """Every joint choice of K candidates per user, scored by the objective itself."""
    n_users, n = s.shape
    subsets = list(itertools.combinations(range(n), k))
    best, best_v = None, -np.inf
    for pick in itertools.product(subsets, repeat=n_users):
        rel_sum = np.array([rel[u, list(p)].sum() for u, p in enumerate(pick)])
        dcf = rel_sum[adv].mean() - rel_sum[~adv].mean()
        shown = np.concatenate([cand[u, list(p)] for u, p in enumerate(pick)])
        expo = np.bincount(shown, minlength=head.size)
        dpf = expo[head].mean() - expo[~head].mean()
        value = sum(s[u, list(p)].sum() for u, p in enumerate(pick)) - lam_c * dcf - lam_p * dpf
        if value > best_v + 1e-12:
            best, best_v = pick, value
    return [set(p) for p in best]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0, 3), st.floats(0, 3))
def test_cpfair_greedy_is_the_exact_optimum(seed, lam_c, lam_p):
    rng = np.random.default_rng(seed)
    n_users, n, k, n_items = 3, 4, 2, 7
    cand = np.stack([rng.choice(n_items, n, replace=False) for _ in range(n_users)])
    s = rng.uniform(0, 1, (n_users, n))
    rel = rng.uniform(0, 1, (n_users, n))
    adv = np.array([True, False, False])
    head = np.zeros(n_items, dtype=bool)
    head[:2] = True
    pos = cpfair_batch(s, cand, rel, adv, head, k, lam_c, lam_p)
    expected = _cpfair_brute(s, cand, rel, adv, head, k, lam_c, lam_p)
    assert [set(p.tolist()) for p in pos] == expected


def test_cpfair_without_weights_is_the_top_k():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(5, 6))
    cand = np.tile(np.arange(6), (5, 1))
    head = np.arange(6) < 2
    adv = np.arange(5) == 0
    pos = cpfair_batch(s, cand, s, adv, head, k=3)
    np.testing.assert_array_equal(pos, np.argsort(-s, axis=1, kind="stable")[:, :3])


def test_cpfair_weights_are_signed_group_means():
    c, d = cpfair_weights(np.array([True, False, False, False]), np.array([True, False, False]))
    np.testing.assert_allclose(c, [1.0, -1 / 3, -1 / 3, -1 / 3])
    np.testing.assert_allclose(d, [1.0, -0.5, -0.5])


def _fairrec_case(seed: int):
    rng = np.random.default_rng(seed)
    n_users, n_items = 12, 8
    s = rng.uniform(0.01, 1.0, (n_users, n_items))
    cand = np.tile(np.arange(n_items), (n_users, 1))  # every item a candidate: the guarantee
    return s, cand


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4), st.floats(0, 1))
def test_fairrec_lists_are_ef1_and_producers_get_their_share(seed, k, alpha):
    s, cand = _fairrec_case(seed)
    n_users, n_items = s.shape
    pos = fairrec_batch(s, cand, k, alpha)
    assert all(len(set(p)) == k for p in pos.tolist())
    # EF1: u values its own list at least as much as any other list minus u's best item of it
    for u, v in itertools.permutations(range(n_users), 2):
        own = s[u, pos[u]].sum()
        other = s[u, pos[v]]
        assert own >= other.sum() - other.max() - 1e-12
    # producers: all but at most k reach the guarantee floor(alpha U K / P)
    floor = int(np.floor(alpha * n_users * k / n_items))
    expo = np.bincount(np.take_along_axis(cand, pos, axis=1).ravel(), minlength=n_items)
    assert np.sum(expo < floor) <= k


def test_fairrec_hand_case_and_turn_order():
    s = np.array([[3.0, 2.0, 1.0]] * 3)
    cands = np.array([[0, 1, 2]] * 3)
    np.testing.assert_array_equal(fairrec_batch(s, cands, 1, 1.0), [[0], [1], [2]])
    np.testing.assert_array_equal(fairrec_batch(s, cands, 1, 1.0, order=np.array([2, 0, 1])),
                                  [[1], [2], [0]])  # fmt: skip
    # k = 2, alpha = 1: floor(3 * 2 / 3) = 2 copies of each item, two rounds. Round 1:
    # items 0, 0, then 1 (item 0 is out); round 2: item 1, then 2 (1 is out), then 2.
    np.testing.assert_array_equal(fairrec_batch(s, cands, 2, 1.0), [[0, 1], [0, 2], [1, 2]])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda s, c, a, h: cpfair_batch(s, c, s, a, h, k=9), "larger than the candidate"),
        (lambda s, c, a, h: cpfair_batch(s, c, s, a, np.ones(6, bool), k=2), "short_head must"),
        (lambda s, c, a, h: cpfair_batch(s, c, s, ~np.zeros(4, bool), h, k=2), "advantaged must"),
        (lambda s, c, a, h: cpfair_batch(s, c, s[:, :2], a, h, k=2), "rel must be"),
        (lambda s, c, a, h: cpfair_batch(s, c, s, a, h, k=2, lam_producer=-1), "non-negative"),
        (lambda s, c, a, h: cpfair_batch(s, c[:, ::-1] * 0, s, a, h, k=2), "repeat an item"),
        (lambda s, c, a, h: fairrec_batch(s, c, 2, alpha=1.5), "alpha"),
        (lambda s, c, a, h: fairrec_batch(s, c, 2, order=np.zeros(4, int)), "permutation"),
        (lambda s, c, a, h: fairrec_batch(s * np.nan, c, 2), "NaN"),
    ],
)
def test_bad_input(call, match):
    s = np.random.default_rng(0).uniform(size=(4, 5))
    c = np.tile(np.arange(5), (4, 1))
    adv = np.arange(4) == 0
    head = np.arange(6) < 2
    with pytest.raises(ValueError, match=match):
        call(s, c, adv, head)

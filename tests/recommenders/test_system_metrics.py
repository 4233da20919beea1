"""System-level metrics: hand-computed cases, brute-force references and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders.metrics import (
    activity_groups,
    exposure,
    exposure_gap,
    genre_groups,
    gini,
    gini_of,
    group_exposure,
    group_gap,
    group_shares,
    min_share_ratio,
    popularity_groups,
    position_weights,
    system_report,
)

L3 = 1 / np.log2(3)
L5 = 1 / np.log2(5)


def test_position_weights_are_dcg_discounts_or_ones():
    np.testing.assert_allclose(position_weights(4), [1.0, L3, 0.5, L5])
    np.testing.assert_array_equal(position_weights(3, "uniform"), [1.0, 1.0, 1.0])


def test_weighted_exposure_by_hand():
    lists = np.array([[0, 1, 2], [2, 0, 3]])
    x = exposure(lists, 5, weights=position_weights(3))
    np.testing.assert_allclose(x, [1 + L3, L3, 0.5 + 1.0, 0.5, 0.0])
    np.testing.assert_array_equal(exposure(lists, 5), [2, 1, 2, 1, 0])


def test_popularity_buckets_are_equal_size_and_ordered():
    pop = np.array([10, 0, 7, 3, 3, 50, 1])
    label = popularity_groups(pop, 3).argmax(axis=1)
    # ascending: item1 (0), item6 (1), item3 (3), item4 (3), item2 (7), item0 (10), item5 (50)
    # cut 3/2/2: {1, 6, 3} {4, 2} {0, 5}
    np.testing.assert_array_equal(label, [2, 0, 1, 0, 1, 2, 0])
    assert popularity_groups(pop, 1).shape == (7, 1)


def test_group_shares_by_hand_with_fractional_genres():
    # item 0 in genres {0, 1}, item 1 in {1}, item 2 in {2}
    m = genre_groups(np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]]))
    lists = np.array([[0, 1], [2, 0]])
    w = [1.0, L3]
    # item exposure: 0 -> 1 + L3, 1 -> L3, 2 -> 1
    e0 = (1 + L3) / 2
    expected = np.array([e0, e0 + L3, 1.0])
    np.testing.assert_allclose(group_exposure(lists, m), expected)
    np.testing.assert_allclose(group_shares(lists, m), expected / expected.sum())
    assert np.isclose(expected.sum(), 2 * sum(w))


def test_min_share_ratio_and_gap_by_hand():
    s = [0.6, 0.3, 0.1]
    assert min_share_ratio(s) == pytest.approx(0.3)
    assert min_share_ratio(s, [0.5, 0.3, 0.2]) == pytest.approx(0.5)
    assert exposure_gap(s) == pytest.approx(0.5 * (0.6 - 1 / 3 + 1 / 3 - 0.3 + 1 / 3 - 0.1))
    assert exposure_gap(s, [0.6, 0.3, 0.1]) == pytest.approx(0.0)
    assert min_share_ratio([1 / 3] * 3) == pytest.approx(1.0)


def test_activity_groups_take_the_most_active_share_with_ties_by_row():
    counts = np.array([5, 9, 9, 1, 9, 2, 0, 3, 4, 8, 7, 6, 5, 5, 5, 5, 5, 5, 5, 5])
    adv = activity_groups(counts, top=0.1)  # ceil(0.1 * 20) = 2 users
    np.testing.assert_array_equal(np.flatnonzero(adv), [1, 2])
    assert activity_groups(counts, top=0.05).sum() == 1


def test_group_gap_by_hand():
    assert group_gap([0.5, 0.1, 0.3, 0.2], np.array([True, False, False, False])) == \
        pytest.approx(0.3)  # fmt: skip
    assert group_gap([0.0, 1.0], np.array([True, False])) == pytest.approx(-1.0)


def test_system_report_by_hand():
    lists = np.array([[0, 1], [0, 2]])
    m = np.eye(2)[[0, 0, 1, 1]]  # items 0, 1 in group 0; items 2, 3 in group 1
    r = system_report(lists, m, discount="uniform")
    assert r["min_share_ratio"] == pytest.approx(2 * 0.25)
    assert r["exposure_gap"] == pytest.approx(0.25)
    assert r["coverage"] == pytest.approx(0.75)
    # exposures (0, 1, 1, 2): the same case as gini's docstring
    assert r["gini"] == pytest.approx(0.375)


def _gini_brute(x: np.ndarray) -> float:
    """Mean absolute difference over all ordered pairs / (2 * mean)."""
    diff = np.abs(x[:, None] - x[None, :]).sum()
    return diff / (2 * x.size**2 * x.mean())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=12).filter(lambda v: sum(v) > 0))
def test_gini_of_equals_the_pairwise_definition(values):
    x = np.asarray(values, dtype=np.float64)
    assert gini_of(x) == pytest.approx(_gini_brute(x), abs=1e-12)
    assert gini_of(x[::-1] * 3.5) == pytest.approx(gini_of(x), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 5), st.integers(1, 4))
def test_shares_sum_to_one_and_goals_stay_in_range(seed, k, n_groups):
    rng = np.random.default_rng(seed)
    n_items = 8
    lists = np.stack([rng.choice(n_items, k, replace=False) for _ in range(6)])
    m = popularity_groups(rng.integers(0, 30, n_items), n_groups)
    s = group_shares(lists, m)
    assert s.sum() == pytest.approx(1.0)
    # the brute force: every slot hands its weight to its item's group
    w = position_weights(k)
    ref = np.zeros(n_groups)
    for row in lists:
        for r, i in enumerate(row):
            ref[m[i].argmax()] += w[r]
    np.testing.assert_allclose(s, ref / ref.sum())
    assert 0.0 <= min_share_ratio(s) <= 1.0 + 1e-12
    assert 0.0 <= exposure_gap(s) <= 1.0
    assert gini(lists, n_items) == pytest.approx(gini_of(exposure(lists, n_items)))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: group_shares(np.array([[0, 1]]), np.eye(3)[[0, 0, 1]]), "groups \\[2\\] have no"),
        (lambda: group_shares(np.array([[0, 1]]), np.full((3, 2), 0.7)), "rows must sum to 1"),
        (lambda: group_shares(np.zeros((0, 2), int), np.eye(2)), "no users"),
        (lambda: group_shares(np.array([[0, 5]]), np.eye(2)), "outside"),
        (lambda: popularity_groups([1, 2, 3], 4), "n_groups must be in"),
        (lambda: genre_groups([[1, 0], [0, 0]]), "have no genre"),
        (lambda: genre_groups([[1, 0], [1, 0]]), "genre columns \\[1\\] have no items"),
        (lambda: min_share_ratio([0.5, 0.5], [0.9, 0.2]), "summing to 1"),
        (lambda: min_share_ratio([0.5, 0.5], [0.5, 0.3, 0.2]), "target must have shape"),
        (lambda: exposure_gap([0.7, 0.7]), "sum to 1"),
        (lambda: activity_groups([3], 0.05), "at least two users"),
        (lambda: activity_groups([3, 4], 1.0), "top must be"),
        (lambda: group_gap([0.1, 0.2], np.array([True, True])), "two non-empty groups"),
        (lambda: group_gap([np.nan, 0.2], np.array([True, False])), "NaN"),
        (lambda: group_gap([0.1, 0.2, 0.3], np.array([True, False])), "one length"),
        (lambda: exposure(np.array([[0, 1]]), 3, weights=[1.0]), "rank weights"),
        (lambda: position_weights(2, "linear"), "discount must be"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_group_gap_wants_a_bool_group():
    with pytest.raises(TypeError, match="advantaged must be a bool"):
        group_gap([0.1, 0.2], np.array([1, 0]))

"""Domain sparsity and loss weights (Dynamic Weighted Loss) on a toy computed by hand."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders import domains as D
from recommenders.data.interactions import Interactions

# Items: 0 in A, 1 in A, 2 in B, 3 in A and B, 4 in none.
GENRES = np.array([[1, 0], [1, 0], [0, 1], [1, 1], [0, 0]], bool)
NAMES = ["A", "B"]
# u0: 0, 1, 3; u1: 0, 2; u2: 4, 0 -> 7 interactions.
TOY = Interactions(users=[0, 0, 0, 1, 1, 2, 2], items=[0, 1, 3, 0, 2, 4, 0],
                   timestamps=[1, 2, 3, 1, 2, 1, 2], ratings=np.ones(7), n_users=3, n_items=5)
# A: items 0 (x3), 1, 3 -> 5 interactions, f = 5/7, users {0, 1, 2}, H = H(3/5, 1/5, 1/5).
# B: items 2, 3 -> 2 interactions, f = 2/7, users {0, 1}, H = ln 2.
H_A = -(0.6 * math.log(0.6) + 2 * 0.2 * math.log(0.2))  # 0.9502705
S_A = math.log(7 / 5) + math.log(3 / 3) + H_A  # 1.2867402
S_B = math.log(7 / 2) + math.log(3 / 2) + math.log(2)  # 2.3513753


def test_stats_and_sparsity_by_hand():
    s = D.domain_stats(TOY, GENRES, NAMES)
    assert s.interactions.tolist() == [5, 2] and s.users.tolist() == [3, 2] and s.n_users == 3
    np.testing.assert_allclose(s.share, [5 / 7, 2 / 7])
    np.testing.assert_allclose(s.entropy, [H_A, math.log(2)], atol=1e-12)
    np.testing.assert_allclose(D.sparsity(s), [S_A, S_B], atol=1e-12)
    # The three terms separately.
    np.testing.assert_allclose(D.sparsity(s, 1, 0, 0), [math.log(7 / 5), math.log(7 / 2)])
    np.testing.assert_allclose(D.sparsity(s, 0, 2, 0), [0.0, 2 * math.log(1.5)])


def _unit_mean(s, f):
    """exp(s_d) / sum_e f_e exp(s_e): the mean mapping where no weight is clipped."""
    e = np.exp(np.asarray(s, float))
    return e / (np.asarray(f, float) @ e / np.sum(f))


def test_weights_paper_and_mean_mappings():
    shares = np.array([5 / 7, 2 / 7])
    s = np.array([S_A, S_B])
    # Normalised: A 0, B 1. Paper: clip to [0.2, 5] -> (0.2, 1), never above 1.
    np.testing.assert_allclose(D.weights_from_sparsity(s, mapping="paper"), [0.2, 1.0])
    # Mean: exp(s_d) over its share-weighted mean; exp(S_B - S_A) = 2.89984, so
    # w_A = 1 / (5/7 + 2/7 * 2.89984) = 0.648175 and w_B = 1.879562, inside the bounds.
    w = D.weights_from_sparsity(s, shares=shares)
    np.testing.assert_allclose(w, _unit_mean(s, shares), rtol=1e-12)
    np.testing.assert_allclose(w, [0.648175, 1.879562], atol=1e-6)
    # w_max = 1.5 clips B (share 2/7 -> 3/7 of the mean); A takes the rest: 0.8.
    np.testing.assert_allclose(D.weights_from_sparsity(s, w_max=1.5, shares=shares),
                               [0.8, 1.5], rtol=1e-12)  # fmt: skip
    assert D.weights_from_sparsity([2.0, 2.0]).tolist() == [1.0, 1.0]


def test_mean_mapping_is_continuous_where_min_max_jumps():
    # Min-max gave (0.2, 2.0) here and (1, 1) for equal scores.
    w = D.weights_from_sparsity([2.0, 2.0001], shares=[0.5, 0.5])
    np.testing.assert_allclose(w, _unit_mean([0.0, 1e-4], [1, 1]), rtol=1e-12)
    assert np.abs(w - 1.0).max() < 1e-4
    # Min-max gave (0.2, 0.2, 0.2, 5.0), share-weighted mean 0.44. Now the last domain is
    # clipped at 5 (share 0.05 -> 0.25 of the mean) and the other three share 0.75 in
    # proportion to exp(s_d).
    s, f = np.array([1.0, 1.001, 1.002, 3.0]), np.array([0.6, 0.2, 0.15, 0.05])
    w = D.weights_from_sparsity(s, shares=f)
    e = np.exp(s[:3])
    np.testing.assert_allclose(w, [*(0.75 * e / (f[:3] @ e)), 5.0], rtol=1e-12)
    assert f @ w == pytest.approx(1.0, abs=1e-12)
    # Both bounds active: 0.5 * 0.2 + 0.05 * 5 = 0.35, the middle weight takes the rest.
    w = D.weights_from_sparsity([0.0, 3.0, 10.0], shares=[0.5, 0.45, 0.05])
    np.testing.assert_allclose(w, [0.2, 0.65 / 0.45, 5.0], rtol=1e-12)


def test_mean_mapping_limits():
    # Scores 1000 apart: exp underflows, the low domain stays at w_min whatever the
    # offset, and with 0.9 of the share there it cannot reach mean 1 (documented).
    w = D.weights_from_sparsity([0.0, 1000.0], shares=[0.9, 0.1])
    np.testing.assert_allclose(w, [0.2, 5.0])
    # w_min = 1: every weight 1 is the only mean-1 answer.
    assert D.weights_from_sparsity([0.0, 1.0], w_min=1.0).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="w_min <= 1 <= w_max"):
        D.weights_from_sparsity([0.0, 1.0], w_min=1.5, w_max=3.0)
    with pytest.raises(ValueError, match="w_min <= 1 <= w_max"):
        D.weights_from_sparsity([0.0, 1.0], w_min=0.1, w_max=0.9)
    assert D.weights_from_sparsity([0.0, 1.0], w_min=1.5, w_max=3.0, mapping="paper").tolist() \
        == [1.5, 1.5]  # fmt: skip
    with pytest.raises(ValueError, match="shares must be finite"):
        D.weights_from_sparsity([0.0, 1.0], shares=[0.5, np.nan])
    with pytest.raises(ValueError, match="shares are all zero"):
        D.weights_from_sparsity([0.0, 1.0], shares=[0.0, 0.0])


_scores = st.lists(st.floats(-30, 30), min_size=1, max_size=10)


@st.composite
def _mapping_case(draw):
    s = np.array(draw(_scores))
    f = np.array(draw(st.lists(st.floats(0, 1), min_size=s.size, max_size=s.size)))
    if f.sum() == 0:
        f[0] = 1.0
    lo, hi = draw(st.floats(0.05, 1.0)), draw(st.floats(1.0, 10.0))
    if lo == hi:
        hi = lo + 1.0
    return s, f, lo, hi


@settings(max_examples=200, deadline=None)
@given(_mapping_case(), st.floats(1e-6, 1e-2), st.data())
def test_mean_mapping_continuity(case, eps, data):
    # Scores moved by at most eps move the offset by at most eps and every weight by at
    # most w_max (exp(2 eps) - 1); 1e-12 is the closed form's rounding.
    s, f, lo, hi = case
    step = np.array(data.draw(st.lists(st.floats(-1, 1), min_size=s.size, max_size=s.size)))
    w = D.weights_from_sparsity(s, lo, hi, shares=f)
    moved = D.weights_from_sparsity(s + eps * step, lo, hi, shares=f)
    assert np.abs(moved - w).max() <= hi * np.expm1(2 * eps) + 1e-12


def test_mean_mapping_continuous_when_the_top_domain_reaches_w_max_by_rounding():
    # Only domain 0 carries share; raising zero-share domain 7 by eps makes the scale at
    # which domain 0 reaches w_max = 1 round to a mean a hair below 1. The weights must
    # still be the smallest scale's: the last domain stays at exp(-1), not at w_max.
    s = np.array([0.0] * 8 + [-1.0])
    f = np.array([1.0] + [0.0] * 8)
    moved = s.copy()
    moved[7] += 0.00390625
    w = D.weights_from_sparsity(s, 0.25, 1.0, shares=f)
    w_moved = D.weights_from_sparsity(moved, 0.25, 1.0, shares=f)
    assert w[-1] == pytest.approx(np.exp(-1.0))
    assert w_moved[-1] == pytest.approx(np.exp(-1.0))
    assert w_moved[0] == pytest.approx(1.0)
    # Shares that sum to 1 only to rounding: every domain of positive share at w_max = 1
    # gives a mean a hair below 1, and the zero-share domain 4 must keep exp(-1 + ...).
    s = np.array([0.0] * 4 + [-1.0] + [0.0] * 5)
    f = np.array([0, 0, 0.5, 0.2525426, 0, 0.13381637, 1, 0.375, 1, 0.15625])
    moved = s.copy()
    moved[0] += 0.0078125
    for scores in (s, moved):
        w = D.weights_from_sparsity(scores, 0.5, 1.0, shares=f)
        assert w[4] == pytest.approx(0.5)  # exp(-1 - ...) clipped at w_min, not w_max


@settings(max_examples=200, deadline=None)
@given(_mapping_case(), st.floats(-100, 100))
def test_mean_mapping_unit_mean_after_clipping(case, shift):
    s, f, lo, hi = case
    w = D.weights_from_sparsity(s, lo, hi, shares=f)
    assert np.all((w >= lo) & (w <= hi))
    assert f @ w / f.sum() == pytest.approx(1.0, abs=1e-12)
    # Only score differences matter.
    np.testing.assert_allclose(D.weights_from_sparsity(s + shift, lo, hi, shares=f), w,
                               rtol=1e-9, atol=1e-12)  # fmt: skip



# Shares of a case hypothesis found: with w_min one float step below 1, the rounded mean
# of the all-w_min weights reached 1 and the root search divided 0 by 0 (equal scores:
# NaN weights) or interpolated towards the last breakpoint (mean 1.0014).
_SHARES = np.array([0.0, 0.0, 0.7195580912275362, 0.39984773615645774, 0.25, 0.296875])
_LO = 0.9999999999999999  # 1 - 2**-53


def test_mean_mapping_equal_scores_with_w_min_a_float_step_below_one():
    w = D.weights_from_sparsity(np.zeros(6), _LO, 1.0, shares=_SHARES)
    # Equal scores give weight 1 each, within float tolerance.
    np.testing.assert_allclose(w, np.ones(6), rtol=0, atol=1e-15)
    assert _SHARES @ w / _SHARES.sum() == pytest.approx(1.0, abs=1e-12)


def test_mean_mapping_clipped_low_with_w_min_a_float_step_below_one():
    f = np.r_[np.zeros(4), _SHARES]
    w = D.weights_from_sparsity(np.array([0.0] * 9 + [29.828125]), _LO, 6.25, shares=f)
    # The nine low scores sit at w_min; the mean 1 then needs the last weight
    # (1 - (1 - f_9) w_min) / f_9 = 1 + 5e-16 (f_9 its normalised share), not 6.25.
    np.testing.assert_allclose(w, [_LO] * 9 + [1.0], rtol=0, atol=1e-12)
    assert f @ w / f.sum() == pytest.approx(1.0, abs=1e-12)

def test_variants_and_item_weights():
    assert D.generic_weights(3).tolist() == [1.0, 1.0, 1.0]
    assert D.fixed_weights(["A", "B", "C"], ["B"]).tolist() == [1.0, 2.0, 1.0]
    w = np.array([0.5, 3.0])
    assert D.item_weights(w, GENRES).tolist() == [0.5, 0.5, 3.0, 3.0, 1.0]
    assert D.item_weights(w, GENRES, "mean").tolist() == [0.5, 0.5, 3.0, 1.75, 1.0]


def test_dynamic_weights_ema_every_n_epochs():
    s = D.domain_stats(TOY, GENRES, NAMES)
    dw = D.DynamicWeights(s, GENRES, every=2, mu=0.9)
    w0 = dw.weights.copy()
    np.testing.assert_allclose(w0, _unit_mean([S_A, S_B], s.share), rtol=1e-12)
    # Lists serving only domain A items (0 and 1) to two users: B is absent, so it gets
    # the largest score; A's score is then the smaller one -> computed weights (w_min, ...).
    lists, users = np.array([[0, 1], [1, 0]]), np.array([0, 1])
    new = dw.computed(lists, users)
    assert dw.update(1, lists, users) is False and len(dw.history) == 1
    assert dw.update(2, lists, users) is True
    np.testing.assert_allclose(dw.weights, 0.9 * w0 + 0.1 * new)
    # Repeated updates with the same computed weights converge geometrically (rate mu).
    gaps = []
    for epoch in (4, 6, 8):
        dw.update(epoch, lists, users)
        gaps.append(np.abs(dw.weights - new).max())
    assert gaps[1] == pytest.approx(0.9 * gaps[0]) and gaps[2] == pytest.approx(0.9 * gaps[1])
    assert [e for e, _ in dw.history] == [0, 2, 4, 6, 8] and dw.seconds_ >= 0


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"domain\(s\) \['B'\] have no interactions"):
        D.domain_stats(TOY.select(np.isin(TOY.items, [0, 1, 4])), GENRES, NAMES)
    with pytest.raises(ValueError, match="unknown domain"):
        D.fixed_weights(NAMES, ["Film-Noir"])
    with pytest.raises(ValueError, match="finite and non-negative"):
        D.item_weights([1.0, np.inf], GENRES)
    with pytest.raises(ValueError, match="one entry per domain"):
        D.item_weights([1.0], GENRES)
    with pytest.raises(ValueError, match="rows but there are 5 items"):
        D.domain_stats(TOY, GENRES[:4], NAMES)
    with pytest.raises(ValueError, match="w_min < w_max"):
        D.weights_from_sparsity([1.0, 2.0], w_min=5.0, w_max=0.2)
    with pytest.raises(ValueError, match="finite"):
        D.weights_from_sparsity([1.0, np.nan])
    with pytest.raises(ValueError, match="mu must lie"):
        D.DynamicWeights(D.domain_stats(TOY, GENRES, NAMES), GENRES, mu=1.0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=1, max_size=12),
       st.floats(0.05, 1.0), st.floats(1.5, 10.0), st.sampled_from(["mean", "paper"]))  # fmt: skip
def test_weights_stay_within_bounds(s, w_min, w_max, mapping):
    w = D.weights_from_sparsity(s, w_min, w_max, mapping)
    assert np.all(np.isfinite(w))
    assert np.all((w >= w_min - 1e-12) & (w <= w_max + 1e-12)) or np.all(w == 1.0)


def test_ml100k_sparse_genres_weigh_more_than_dense_ones():
    from recommenders.data import recbole_ml100k_dir

    if recbole_ml100k_dir() is None:
        pytest.skip("ML-100K (RecBole wheel) not installed")
    from recommenders.pipeline import load_data

    data = load_data("ml-100k")
    names = list(data.genre_names)
    keep = data.item_genres.any(axis=0)
    genres = data.item_genres[:, keep]
    names = [n for n, k in zip(names, keep, strict=True) if k]
    s = D.domain_stats(data.interactions, genres, names)
    w = dict(zip(names, D.weights_from_sparsity(D.sparsity(s), shares=s.share), strict=True))
    for sparse in ("Film-Noir", "Documentary", "Western", "Fantasy"):
        for dense in ("Drama", "Comedy"):
            assert w[sparse] > w[dense], (sparse, dense, w)

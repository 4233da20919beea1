"""moopt.stats against cases computed by hand (the arithmetic is in the comments)."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from moopt import stats as S

# Running example: a - b = d = [1, 0, 1, 3].
A = [1.0, 2.0, 3.0, 4.0]
B = [0.0, 2.0, 2.0, 1.0]
# mean(d) = 5 / 4 = 1.25; deviations -0.25, -1.25, -0.25, 1.75
# squares 0.0625 + 1.5625 + 0.0625 + 3.0625 = 4.75; var (ddof 1) = 4.75 / 3 = 1.583333
SD = math.sqrt(4.75 / 3)  # 1.2583057
SE = SD / 2  # sd / sqrt(4) = 0.6291529
T = 1.25 / SE  # 1.9867985; t^2 = 1.5625 / (1.583333 / 4) = 75 / 19 exactly
D_Z = 1.25 / SD  # 0.9933993
T975_DF3 = 3.1824463  # t_{0.975, 3} from a t table
HALF = T975_DF3 * SE  # 3.1824463 * 0.6291529 = 2.0022452
# Two-sided p of Student t with 3 df in closed form, u = t / sqrt(3):
#   p = 1 - (2 / pi) * (u / (1 + u^2) + atan(u)),  u = 1.1470787, 1 + u^2 = 44 / 19
#   = 1 - 0.6366198 * (0.4953294 + 0.8537931) = 0.1411219
U = T / math.sqrt(3)
P = 1 - (2 / math.pi) * (U / (1 + U * U) + math.atan(U))


def test_hand_constants():
    assert T == pytest.approx(math.sqrt(75 / 19)) == pytest.approx(1.9867985, abs=1e-7)
    assert D_Z == pytest.approx(0.9933993, abs=1e-7)
    assert P == pytest.approx(0.1411219, abs=1e-7)
    assert sps.t.ppf(0.975, 3) == pytest.approx(T975_DF3, abs=1e-7)


def test_paired_over_seeds_hand_example():
    r = S.paired_over_seeds(A, B)
    assert (r.n, r.df) == (4, 3)
    assert (r.mean_a, r.mean_b, r.diff) == pytest.approx((2.5, 1.25, 1.25))
    assert r.t == pytest.approx(T, rel=1e-9)
    assert r.p == pytest.approx(P, rel=1e-7)
    assert r.cohens_d == pytest.approx(D_Z, rel=1e-9)
    # 1.25 -/+ 2.0022452 = (-0.7522452, 3.2522452)
    assert (r.ci_low, r.ci_high) == pytest.approx((-0.7522452, 3.2522452), abs=1e-6)
    assert (r.ci_low, r.ci_high) == pytest.approx((1.25 - HALF, 1.25 + HALF), abs=1e-6)
    ref = sps.ttest_rel(A, B)
    assert (r.t, r.p) == pytest.approx((ref.statistic, ref.pvalue))
    assert r.t == pytest.approx(r.cohens_d * math.sqrt(4))  # t = d_z * sqrt(n)
    assert r.alpha == 0.05 and "seeds" in r.method


def test_paired_over_seeds_alpha_changes_quantile():
    r = S.paired_over_seeds(A, B, alpha=0.10)
    # t_{0.95, 3} = 2.3533634; half width 2.3533634 * 0.6291529 = 1.4806247
    assert (r.ci_low, r.ci_high) == pytest.approx((1.25 - 1.4806247, 1.25 + 1.4806247), abs=1e-6)


def test_paired_over_users_t_test_matches_hand_example():
    r = S.paired_over_users(A, B, n_boot=2000)
    assert (r.n, r.df, r.diff) == (4, 3, 1.25)
    assert (r.t, r.p, r.cohens_d) == pytest.approx((T, P, D_Z), rel=1e-7)
    # The bootstrap CI of a mean lies within [min(d), max(d)] = [0, 3] and holds mean(d).
    assert 0.0 <= r.ci_low <= 1.25 <= r.ci_high <= 3.0
    assert "bootstrap" in r.method


def test_bootstrap_two_users_by_hand():
    # d = [0, 1]: a resample's mean is 0 (prob 1/4), 0.5 (1/2) or 1 (1/4), so the 2.5 %
    # quantile is 0 and the 97.5 % quantile is 1 (with 10000 draws, ~2500 at each end).
    r = S.paired_over_users([1.0, 1.0], [1.0, 0.0])
    assert (r.ci_low, r.ci_high) == (0.0, 1.0)


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(1)
    a, b = rng.random(50), rng.random(50)
    r1, r2 = S.paired_over_users(a, b, seed=3), S.paired_over_users(a, b, seed=3)
    assert (r1.ci_low, r1.ci_high) == (r2.ci_low, r2.ci_high)
    r3 = S.paired_over_users(a, b, seed=4)
    assert (r1.ci_low, r1.ci_high) != (r3.ci_low, r3.ci_high)
    assert r1.ci_low < r1.diff < r1.ci_high


def test_bootstrap_chunking_does_not_change_the_draws(monkeypatch):
    # Generator.integers draws the indices one after the other, so splitting the n_boot
    # resamples into chunks of 7 rows (the last one partial: 1000 = 142 * 7 + 6) must
    # reproduce the one-chunk result exactly; an off-by-one in the chunk loop would not.
    rng = np.random.default_rng(2)
    a, b = rng.random(30), rng.random(30)
    whole = S.paired_over_users(a, b, n_boot=1000, seed=5)
    monkeypatch.setattr(S, "_CHUNK_ELEMENTS", 7 * 30)
    chunked = S.paired_over_users(a, b, n_boot=1000, seed=5)
    assert chunked == whole


def test_bootstrap_width_close_to_t_width_for_large_normal_sample():
    rng = np.random.default_rng(0)
    b = rng.normal(size=2000)
    a = b + rng.normal(0.1, 1.0, size=2000)
    boot = S.paired_over_users(a, b)
    t_ci = S.paired_over_seeds(a, b)
    width_boot, width_t = boot.ci_high - boot.ci_low, t_ci.ci_high - t_ci.ci_low
    assert width_boot == pytest.approx(width_t, rel=0.10)
    assert (boot.t, boot.p) == pytest.approx((t_ci.t, t_ci.p))


@pytest.mark.parametrize("fn", [S.paired_over_seeds, S.paired_over_users])
def test_constant_differences(fn):
    # Every d = 1: zero variance, the t-test's limit is t = d = +inf, p = 0, CI (1, 1).
    r = fn([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])
    assert (r.diff, r.ci_low, r.ci_high, r.t, r.p, r.cohens_d) == (1, 1, 1, np.inf, 0, np.inf)
    r = fn([0.0, 0.0], [0.5, 0.5])
    assert (r.diff, r.t, r.p, r.cohens_d) == (-0.5, -np.inf, 0.0, -np.inf)
    r = fn([0.3, 0.7, 0.1], [0.3, 0.7, 0.1])  # identical methods
    assert (r.diff, r.ci_low, r.ci_high, r.t, r.p, r.cohens_d) == (0, 0, 0, 0, 1, 0)


def test_mean_ci():
    # Same numbers as d above: mean 1.25, half width 2.0022452.
    m, lo, hi = S.mean_ci([1, 0, 1, 3])
    assert (m, lo, hi) == pytest.approx((1.25, -0.7522452, 3.2522452), abs=1e-6)
    # Two values [0, 2]: mean 1, sd sqrt(2), se 1, t_{0.975, 1} = 12.7062047.
    assert S.mean_ci([0, 2]) == pytest.approx((1.0, 1 - 12.7062047, 1 + 12.7062047))
    assert S.mean_ci([5.0, 5.0, 5.0]) == (5.0, 5.0, 5.0)


def test_bonferroni_and_holm_by_hand():
    p = [0.01, 0.04, 0.03]
    np.testing.assert_allclose(S.bonferroni(p), [0.03, 0.12, 0.09])
    # sorted 0.01, 0.03, 0.04 -> 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04;
    # running max 0.03, 0.06, 0.06; back in input order [0.03, 0.06, 0.06].
    np.testing.assert_allclose(S.holm(p), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(S.adjust(p), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(S.adjust(p, "bonferroni"), [0.03, 0.12, 0.09])
    np.testing.assert_allclose(S.adjust(p, "none"), p)


def test_adjustments_cap_at_one_and_handle_ties():
    p = [0.2, 0.5, 0.9]
    np.testing.assert_allclose(S.bonferroni(p), [0.6, 1.0, 1.0])  # 0.6, 1.5, 2.7 -> cap
    # 0.2*3 = 0.6, 0.5*2 = 1.0, 0.9*1 = 0.9 -> running max 0.6, 1.0, 1.0
    np.testing.assert_allclose(S.holm(p), [0.6, 1.0, 1.0])
    np.testing.assert_allclose(S.holm([0.01, 0.01]), [0.02, 0.02])
    np.testing.assert_allclose(S.holm([0.7]), [0.7])


def test_adjust_none_returns_a_copy():
    p = np.array([0.1, 0.2])
    out = S.adjust(p, "none")
    out[0] = 1.0
    assert p[0] == 0.1


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40))
def test_holm_bonferroni_properties(pvalues):
    p = np.array(pvalues)
    h, b = S.holm(p), S.bonferroni(p)
    assert np.all(h <= b)
    assert np.all(p <= h) and np.all(h <= 1.0)
    assert np.all(p <= b) and np.all(b <= 1.0)
    # Monotone in the order of the raw p-values (ties get equal adjusted values).
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(h[order]) >= 0)


def _result(p: float) -> S.PairedResult:
    return S.PairedResult(5, 0.3, 0.2, 0.1, 0.0, 0.2, 2.0, p, 4, 0.9, "test", 0.05)


def test_compare_table():
    results = {"A vs B": _result(0.01), "A vs C": _result(0.04), "B vs C": _result(0.03)}
    holm = S.compare_table(results)
    assert list(holm.index) == ["A vs B", "A vs C", "B vs C"]
    fields = list(_result(0.5).as_dict())
    assert list(holm.columns) == [*fields, "p_adj", "significant"]
    np.testing.assert_allclose(holm["p_adj"], [0.03, 0.06, 0.06])
    assert holm["significant"].tolist() == [True, False, False]
    bonf = S.compare_table(results, correction="bonferroni")
    np.testing.assert_allclose(bonf["p_adj"], [0.03, 0.12, 0.09])
    raw = S.compare_table(results, correction="none")
    assert raw["significant"].tolist() == [True, True, True]
    assert S.compare_table(results, alpha=0.01)["significant"].tolist() == [False] * 3


def test_as_dict_and_frozen():
    r = S.paired_over_seeds(A, B)
    d = r.as_dict()
    assert d["n"] == 4 and d["diff"] == 1.25 and d["method"] == r.method
    with pytest.raises(AttributeError):
        r.p = 0.0


# ----------------------------------------------------------------- bad input

PAIRED = [S.paired_over_seeds, S.paired_over_users]


@pytest.mark.parametrize("fn", PAIRED)
@pytest.mark.parametrize(
    ("a", "b", "err", "match"),
    [
        ([[1.0, 2.0]], [1.0, 2.0], ValueError, "a must be 1-D"),
        ([1.0, 2.0], np.ones((2, 2)), ValueError, "b must be 1-D"),
        ([1.0, 2, 3, 4, 5], [1.0, 2, 3, 4], ValueError, "a has 5 values but b has 4; pair"),
        ([1.0], [2.0], ValueError, "a needs at least 2 values"),
        ([1.0, np.nan], [1.0, 2.0], ValueError, "a contains NaN or inf"),
        ([1.0, 2.0], [np.inf, 2.0], ValueError, "b contains NaN or inf"),
        (["x", "y"], [1.0, 2.0], TypeError, "a must hold real numbers"),
    ],
)
def test_paired_bad_input(fn, a, b, err, match):
    with pytest.raises(err, match=match):
        fn(a, b)


@pytest.mark.parametrize("fn", PAIRED)
@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5])
def test_bad_alpha(fn, alpha):
    with pytest.raises(ValueError, match="alpha must lie strictly between 0 and 1"):
        fn(A, B, alpha=alpha)
    with pytest.raises(ValueError, match="alpha"):
        S.mean_ci(A, alpha=alpha)


@pytest.mark.parametrize("n_boot", [0, 99, 500.0, True])
def test_bad_n_boot(n_boot):
    with pytest.raises(ValueError, match="n_boot must be an integer >= 100"):
        S.paired_over_users(A, B, n_boot=n_boot)


def test_mean_ci_bad_input():
    with pytest.raises(ValueError, match="x needs at least 2 values"):
        S.mean_ci([1.0])
    with pytest.raises(ValueError, match="x contains NaN"):
        S.mean_ci([1.0, np.nan])


@pytest.mark.parametrize("fn", [S.holm, S.bonferroni, S.adjust])
@pytest.mark.parametrize(
    ("pvalues", "match"),
    [
        ([], "pvalues is empty"),
        ([0.5, 1.2], r"pvalues must all lie in \[0, 1\]"),
        ([-0.01], r"pvalues must all lie in \[0, 1\]"),
        ([np.nan, 0.1], r"pvalues must all lie in \[0, 1\]"),
        ([[0.1, 0.2]], "pvalues must be a 1-D"),
    ],
)
def test_bad_pvalues(fn, pvalues, match):
    with pytest.raises(ValueError, match=match):
        fn(pvalues)


def test_bad_method_and_table_input():
    with pytest.raises(ValueError, match="method must be one of"):
        S.adjust([0.1], "fdr")
    with pytest.raises(ValueError, match="correction must be one of"):
        S.compare_table({"x": _result(0.1)}, correction="fdr")
    with pytest.raises(ValueError, match="results is empty"):
        S.compare_table({})
    with pytest.raises(TypeError, match="results values must be PairedResult"):
        S.compare_table({"x": 0.1})
    with pytest.raises(ValueError, match="alpha"):
        S.compare_table({"x": _result(0.1)}, alpha=2.0)


# ----------------------------------------------------------------- statistics of means


def _f1(means):
    # F1 of mean hit against mean (div + nov) / 2, as recommenders.metrics.f_beta
    # computes it, written out here so the tests do not depend on recommenders.
    a = means[..., 0]
    b = (means[..., 1] + means[..., 2]) / 2
    return 2 * a * b / (a + b)


def _users(seed, n=60, shift=0.0):
    rng = np.random.default_rng(seed)
    hit = (rng.random(n) < 0.3).astype(float)
    div, nov = rng.random(n), rng.random(n)
    return np.column_stack([hit, div, nov]), np.column_stack([hit, div + shift, nov + shift])


def test_bootstrap_of_means_identical_methods_ci_is_zero_and_p_is_one():
    a, _ = _users(0)
    r = S.bootstrap_of_means(a, a.copy(), _f1, n_boot=2000, seed=1)
    assert (r.diff, r.ci_low, r.ci_high, r.p) == (0.0, 0.0, 0.0, 1.0)
    assert r.stat_a == r.stat_b == pytest.approx(_f1(a.mean(axis=0)))


def test_bootstrap_of_means_recovers_a_known_shift():
    # B's statistic is the mean itself and B = A + 0.1 for every user: every resample's
    # difference is exactly -0.1 (up to rounding), so the CI is [-0.1, -0.1] and p tiny.
    rng = np.random.default_rng(3)
    a = rng.random(40)
    r = S.bootstrap_of_means(a, a + 0.1, lambda m: m[..., 0], n_boot=1000, seed=0)
    assert r.diff == pytest.approx(-0.1, abs=1e-12)
    assert r.ci_low == pytest.approx(-0.1, abs=1e-12) and r.ci_high == pytest.approx(-0.1)
    assert r.p == pytest.approx(2 / 1001)
    # A noisy shift: the CI covers the true shift and excludes 0.
    a, b = _users(4, n=500, shift=0.1)
    r = S.bootstrap_of_means(b, a, _f1, seed=2)
    assert r.diff == pytest.approx(_f1(b.mean(axis=0)) - _f1(a.mean(axis=0)))
    assert 0 < r.ci_low < r.diff < r.ci_high and r.p < 0.01


def test_bootstrap_of_means_equals_a_loop_over_the_same_resamples():
    # Brute force on 7 users: the same index draws (one chunk, one stream), then each
    # resample's means and F1 computed one at a time with Python sums.
    a, b = _users(5, n=7, shift=0.05)
    b[:, 0] = 1 - b[:, 0]
    n_boot = 300
    idx = np.random.default_rng(11).integers(0, 7, size=(n_boot, 7))
    diffs = []
    for row in idx:
        ma = [sum(a[i, j] for i in row) / 7 for j in range(3)]
        mb = [sum(b[i, j] for i in row) / 7 for j in range(3)]
        diffs.append(_f1(np.array(ma)) - _f1(np.array(mb)))
    diffs = np.array(diffs)
    r = S.bootstrap_of_means(a, b, _f1, n_boot=n_boot, seed=11)
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    assert r.ci_low == pytest.approx(lo, abs=1e-12) and r.ci_high == pytest.approx(hi, abs=1e-12)
    tail = min((diffs <= 0).sum(), (diffs >= 0).sum())
    assert r.p == pytest.approx(min(1.0, 2 * (1 + tail) / (n_boot + 1)))


def test_bootstrap_of_means_is_seeded_and_chunking_keeps_the_draws(monkeypatch):
    a, b = _users(6, n=50, shift=0.02)
    r1 = S.bootstrap_of_means(a, b, _f1, n_boot=1000, seed=3)
    assert r1 == S.bootstrap_of_means(a, b, _f1, n_boot=1000, seed=3)
    assert r1 != S.bootstrap_of_means(a, b, _f1, n_boot=1000, seed=4)
    monkeypatch.setattr(S, "_CHUNK_ELEMENTS", 7 * 50 * 6)  # 7 resamples per chunk
    assert S.bootstrap_of_means(a, b, _f1, n_boot=1000, seed=3) == r1


def _flip_brute_force(a, b, statistic):
    n = len(a)
    observed = abs(statistic(a.mean(axis=0)) - statistic(b.mean(axis=0)))
    count = 0
    for pattern in itertools.product((False, True), repeat=n):
        sa = np.array([b[i] if f else a[i] for i, f in enumerate(pattern)])
        sb = np.array([a[i] if f else b[i] for i, f in enumerate(pattern)])
        t = statistic(sa.mean(axis=0)) - statistic(sb.mean(axis=0))
        count += abs(t) >= observed - 1e-12
    return count / 2**n


def test_sign_flip_exact_enumeration_matches_brute_force():
    a, b = _users(7, n=9, shift=0.15)
    r = S.sign_flip_of_means(a, b, _f1, n_perm=1000)
    assert r.exact and r.n_resamples == 2**9
    assert r.p == _flip_brute_force(a, b, _f1)
    assert np.isnan(r.ci_low) and r.diff == pytest.approx(_f1(a.mean(0)) - _f1(b.mean(0)))


def test_sign_flip_hand_case():
    # Mean of one measure, d = a - b = [1, 1, 1]: |T| = 1 is reached only when no user or
    # every user is flipped (T* = +-1); the other 6 patterns give +-1/3. p = 2 / 8.
    r = S.sign_flip_of_means([2.0, 2.0, 2.0], [1.0, 1.0, 1.0], lambda m: m[..., 0], n_perm=100)
    assert r.exact and r.p == 0.25 and r.diff == 1.0
    same = S.sign_flip_of_means([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], lambda m: m[..., 0])
    assert same.p == 1.0


def test_sign_flip_random_patterns_approach_the_exact_p():
    a, b = _users(8, n=12, shift=0.1)
    exact = S.sign_flip_of_means(a, b, _f1, n_perm=4096)
    assert exact.exact
    sampled = S.sign_flip_of_means(a, b, _f1, n_perm=4095, seed=1)
    assert not sampled.exact and sampled.n_resamples == 4095
    se = np.sqrt(exact.p * (1 - exact.p) / 4095)
    assert abs(sampled.p - exact.p) < 4 * se + 1 / 4096
    assert sampled == S.sign_flip_of_means(a, b, _f1, n_perm=4095, seed=1)


@pytest.mark.parametrize("fn", [S.bootstrap_of_means, S.sign_flip_of_means])
def test_statistics_of_means_bad_input(fn):
    a = np.ones((5, 3))
    with pytest.raises(ValueError, match="pair the same users"):
        fn(a, np.ones((4, 3)), _f1)
    with pytest.raises(ValueError, match="n_users, n_measures"):
        fn(np.ones((1, 3)), np.ones((1, 3)), _f1)
    with pytest.raises(ValueError, match="NaN"):
        fn(np.full((5, 3), np.nan), a, _f1)
    with pytest.raises(TypeError, match="statistic must be a function"):
        fn(a, a, None)
    with pytest.raises(ValueError, match="r finite values"):
        fn(a, a, lambda m: m.sum())
    with pytest.raises(TypeError, match="real numbers"):
        fn(np.array([["x"] * 3] * 5), a, _f1)

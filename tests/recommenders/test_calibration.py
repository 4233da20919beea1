"""Temperature scaling (recommenders.calibration) and the calibrated candidates files that
``train_and_evaluate`` writes (validation candidates, temperatures, normalisers)."""

import math
import warnings

import numpy as np
import pytest

from recommenders.calibration import (
    calibration_table,
    expected_calibration_error,
    fit_temperature,
    hit_probabilities,
    log_partition,
)


def brute_log_partition(scores, t, mask=None):
    x = np.asarray(scores, dtype=np.float64) / t
    shift = x.max()  # one global shift: brute force, but without overflow
    e = np.exp(x - shift)
    if mask is not None:
        e = np.where(mask, 0.0, e)
    with np.errstate(divide="ignore"):
        return np.log(e.sum(axis=1)) + shift


def nll(scores, target, t, mask=None):
    lz = log_partition(scores, t, mask)
    return float(np.mean(lz - scores[np.arange(len(target)), target] / t))


def draw_targets(z, t_true, rng):
    p = np.exp(z / t_true - log_partition(z, t_true)[:, None])
    return (rng.random((len(z), 1)) < p.cumsum(axis=1)).argmax(axis=1)


# ----------------------------------------------------------------- log_partition


@pytest.mark.parametrize("t", [0.3, 1.0, 7.0])
def test_log_partition_matches_brute_force(t):
    rng = np.random.default_rng(0)
    s = rng.normal(size=(40, 25)).astype(np.float32)
    np.testing.assert_allclose(log_partition(s, t), brute_log_partition(s, t), rtol=1e-12)
    mask = rng.random(s.shape) < 0.4
    mask[:, 0] = False
    got = log_partition(s, t, mask)
    np.testing.assert_allclose(got, brute_log_partition(s, t, mask), rtol=1e-12)
    # Masking is the same as leaving the entries out.
    row = 3
    np.testing.assert_allclose(got[row], brute_log_partition(s[row : row + 1, ~mask[row]], t)[0])
    assert got.dtype == np.float64 and got.shape == (40,)


def test_log_partition_is_stable_and_handles_empty_rows():
    s = np.array([[1000.0, 999.0, -1000.0], [0.0, 0.0, 0.0]])
    got = log_partition(s, 0.01)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got[0], 1000.0 / 0.01 + math.log1p(math.exp(-100.0)))
    np.testing.assert_allclose(got[1], math.log(3.0))
    mask = np.array([[True, True, True], [False, True, True]])
    out = log_partition(s, 1.0, mask)
    assert out[0] == -np.inf and out[1] == 0.0


def test_log_partition_works_in_blocks(monkeypatch):
    import recommenders.calibration as C

    rng = np.random.default_rng(1)
    s = rng.normal(size=(57, 13))
    mask = rng.random(s.shape) < 0.3
    mask[:, 0] = False
    whole = log_partition(s, 0.7, mask)
    monkeypatch.setattr(C, "_BLOCK_ENTRIES", 20)  # one row per block
    np.testing.assert_array_equal(log_partition(s, 0.7, mask), whole)


# ----------------------------------------------------------------- fit_temperature


@pytest.mark.parametrize("t_true", [0.5, 2.0])
def test_fit_temperature_recovers_a_known_temperature(t_true):
    rng = np.random.default_rng(42)
    z = rng.normal(size=(3000, 50)) * 2.0
    target = draw_targets(z, t_true, rng)
    t = fit_temperature(z, target)
    assert abs(t - t_true) / t_true < 0.10
    # The fit is the minimum: no worse than T = 1 or 10 % either side.
    best = nll(z, target, t)
    for other in (1.0, 0.9 * t, 1.1 * t):
        assert best <= nll(z, target, other) + 1e-12


def test_fit_temperature_ignores_masked_entries():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(500, 20)) * 2.0
    target = draw_targets(z, 0.8, rng)
    t_plain = fit_temperature(z, target)
    # Extra columns with huge scores, masked, must not change anything.
    wide = np.hstack([z, np.full((500, 5), 50.0)])
    mask = np.zeros(wide.shape, dtype=bool)
    mask[:, 20:] = True
    assert fit_temperature(wide, target, mask=mask) == pytest.approx(t_plain, rel=1e-5)
    # A normaliser supplied by a function gives the same fit with only the targets given.
    t_fn = fit_temperature(z, target, log_norm_fn=lambda t: log_partition(z, t))
    assert t_fn == pytest.approx(t_plain, rel=1e-5)


def test_fit_temperature_refuses_missing_or_masked_targets():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(10, 6))
    target = np.arange(10) % 6
    with pytest.raises(ValueError, match="target_col"):
        fit_temperature(z, np.where(np.arange(10) == 4, -1, target))
    mask = np.zeros(z.shape, dtype=bool)
    mask[2, target[2]] = True
    with pytest.raises(ValueError, match="target_col.*drop"):
        fit_temperature(z, target, mask=mask)
    keep = ~mask[np.arange(10), target]
    assert fit_temperature(z[keep], target[keep], mask=mask[keep]) > 0


def test_fit_temperature_warns_at_a_bound():
    # Popularity-like scales need a large T: the default bounds are too narrow.
    rng = np.random.default_rng(0)
    z = rng.normal(size=(1000, 30)) * 200.0
    target = draw_targets(z, 100.0, rng)
    with pytest.warns(RuntimeWarning, match="widen bounds"):
        fit_temperature(z, target)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = fit_temperature(z, target, bounds=(1.0, 1e4))
    assert abs(t - 100.0) < 15.0


def test_fit_temperature_checks_log_norm_fn():
    z = np.random.default_rng(0).normal(size=(8, 5))
    target = np.zeros(8, dtype=np.int64)
    with pytest.raises(ValueError, match="log_norm_fn"):
        fit_temperature(z, target, log_norm_fn=lambda t: np.zeros(3))
    with pytest.raises(ValueError, match="probability > 1"):
        fit_temperature(z, target, log_norm_fn=lambda t: z[:, 0] / t - 1.0)
    with pytest.raises(TypeError, match="log_norm_fn"):
        fit_temperature(z, target, log_norm_fn=3.0)


# ----------------------------------------------------------------- hit_probabilities


def test_hit_probabilities_sum_to_one_over_the_same_row_and_less_over_a_subset():
    rng = np.random.default_rng(5)
    s = rng.normal(size=(30, 40)) * 3
    t = 1.7
    q = hit_probabilities(s, t, log_partition(s, t))
    np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=1e-12)
    top = -np.sort(-s, axis=1)[:, :10]
    q_top = hit_probabilities(top, t, log_partition(s, t))
    assert np.all(q_top.sum(axis=1) < 1.0)
    np.testing.assert_allclose(q_top, -np.sort(-q, axis=1)[:, :10], rtol=1e-12)


def test_hit_probabilities_refuses_a_foreign_normaliser():
    s = np.random.default_rng(0).normal(size=(4, 10))
    with pytest.raises(ValueError, match="superset"):
        hit_probabilities(s, 1.0, log_partition(s[:, :3], 1.0))
    with pytest.raises(ValueError, match="superset"):
        hit_probabilities(s, 0.5, log_partition(s, 1.0))


# ----------------------------------------------------------------- reliability


def test_calibration_table_hand_case():
    q = np.array([0.1, 0.9, 0.3, 0.1, 0.3, 0.9])
    hits = np.array([0, 1, 1, 0, 0, 1])
    table = calibration_table(q, hits, n_bins=3)  # equal-mass: two predictions per bin
    assert list(table.columns) == ["bin", "q_low", "q_high", "mean_q", "hit_rate", "count"]
    np.testing.assert_allclose(table["mean_q"], [0.1, 0.3, 0.9])
    np.testing.assert_allclose(table["hit_rate"], [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(table["count"], [2, 2, 2])
    assert expected_calibration_error(q, hits, n_bins=3) == pytest.approx((0.1 + 0.2 + 0.1) / 3)
    # Equal-width halves: [0, .5) holds .1 .1 .3 .3 (one hit), [.5, 1] holds .9 .9.
    uni = calibration_table(q, hits.astype(bool), n_bins=2, strategy="uniform")
    np.testing.assert_allclose(uni["q_low"], [0.0, 0.5])
    np.testing.assert_allclose(uni["mean_q"], [0.2, 0.9])
    np.testing.assert_allclose(uni["hit_rate"], [0.25, 1.0])
    assert expected_calibration_error(q, hits, 2, "uniform") == pytest.approx(
        (4 * 0.05 + 2 * 0.1) / 6
    )
    # Empty equal-width bins are left out; a 2-D input is flattened.
    assert len(calibration_table(q.reshape(2, 3), hits.reshape(2, 3), 10, "uniform")) == 3


def test_calibrated_probabilities_are_calibrated():
    rng = np.random.default_rng(7)
    z = rng.normal(size=(4000, 20)) * 2.0
    target = draw_targets(z, 1.3, rng)
    t = fit_temperature(z, target)
    q = hit_probabilities(z, t, log_partition(z, t))
    hits = np.arange(20)[None, :] == target[:, None]
    assert expected_calibration_error(q, hits) < 0.01
    assert expected_calibration_error(hit_probabilities(z, 0.3, log_partition(z, 0.3)), hits) > 0.03


# ----------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s: log_partition(np.where(s > 1, np.nan, s), 1.0), ValueError, "scores.*NaN"),
        (lambda s: log_partition(np.where(s > 1, -np.inf, s), 1.0), ValueError, "mask="),
        (lambda s: log_partition(s[0], 1.0), ValueError, "scores must be a 2-D"),
        (lambda s: log_partition(s > 0, 1.0), TypeError, "scores must be a real"),
        (lambda s: log_partition(s, 0.0), ValueError, "temperature must be a finite number > 0"),
        (lambda s: log_partition(s, -1.0), ValueError, "temperature"),
        (lambda s: log_partition(s, float("nan")), ValueError, "temperature"),
        (lambda s: log_partition(s, "1"), TypeError, "temperature must be a number"),
        (lambda s: log_partition(s, 1.0, np.zeros((5, 3), bool)), ValueError, "mask has shape"),
        (lambda s: log_partition(s, 1.0, np.zeros(s.shape)), TypeError, "mask must be a boolean"),
        (lambda s: fit_temperature(s, np.full(5, 8)), ValueError, r"target_col\[0\] = 8"),
        (lambda s: fit_temperature(s, np.full(5, -2)), ValueError, "out of range"),
        (lambda s: fit_temperature(s, np.zeros(4, int)), ValueError, "target_col must have"),
        (lambda s: fit_temperature(s, np.zeros(5)), TypeError, "target_col must hold integer"),
        (lambda s: fit_temperature(s, np.zeros(5, int), bounds=(2, 1)), ValueError, "bounds"),
        (lambda s: fit_temperature(s, np.zeros(5, int), bounds=3), TypeError, "bounds"),
        (lambda s: hit_probabilities(s, 1.0, np.zeros(4)), ValueError, "log_norm must have"),
        (lambda s: hit_probabilities(s, 1.0, np.full(5, np.inf)), ValueError, "log_norm holds"),
        (lambda s: hit_probabilities(s, 0, np.zeros(5)), ValueError, "temperature"),
        (lambda s: calibration_table(s, s > 0), ValueError, r"q must hold probabilities in"),
        (lambda s: calibration_table(np.abs(s) / 9, s > 0, 0), ValueError, "n_bins"),
        (lambda s: calibration_table(np.abs(s) / 9, s[:2] > 0), ValueError, "hits has"),
        (lambda s: calibration_table(np.abs(s) / 9, s * 3), ValueError, "hits must hold"),
        (lambda s: calibration_table(np.abs(s) / 9, s > 0, 5, "log"), ValueError, "strategy"),
        (lambda s: calibration_table(np.zeros(0), np.zeros(0, bool)), ValueError, "q is empty"),
    ],
)
def test_bad_inputs_name_the_argument(call, error, message):
    s = np.random.default_rng(0).normal(size=(5, 8))
    with pytest.raises(error, match=message):
        call(s)

"""The coupled dual choice: a toy with a known optimum, brute force, weak duality, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moopt.system import DualConfig, dual_choice, priced_choice


def _toy(n: int, seed: int):
    """Unit u keeps its top option (utility 1, adds 0) or pays d_u to add 1."""
    d = np.random.default_rng(seed).uniform(0.01, 1.0, n)
    r = np.stack([np.ones(n), 1.0 - d], axis=1)
    c = np.stack([np.zeros(n), np.ones(n)], axis=1)[:, :, None]
    return d, r, c


@pytest.mark.parametrize("m", [1, 7, 20, 49])
def test_toy_pays_the_m_cheapest_units_exactly(m):
    d, r, c = _toy(50, seed=m)
    res = dual_choice(r, c, [float(m)], config=DualConfig(tol=0.0))
    cheapest = np.sort(np.argsort(d)[:m])
    np.testing.assert_array_equal(np.flatnonzero(res.choice == 1), cheapest)
    assert res.feasible and res.violation == 0.0
    assert res.utility == pytest.approx(50 - d[cheapest].sum())
    assert res.upper_bound >= res.utility - 1e-9


def _brute(r, c, b):
    best, best_u = None, -np.inf
    rows = np.arange(r.shape[0])
    for choice in itertools.product(range(r.shape[1]), repeat=r.shape[0]):
        ch = np.array(choice)
        if np.all(c[rows, ch].sum(axis=0) >= b - 1e-12) and r[rows, ch].sum() > best_u:
            best, best_u = ch, r[rows, ch].sum()
    return best, best_u


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 2), st.floats(0.2, 0.9))
def test_against_brute_force_weak_duality_and_feasibility(seed, n_con, level):
    rng = np.random.default_rng(seed)
    r = rng.uniform(0, 1, (6, 3))
    c = rng.uniform(0, 1, (6, 3, n_con))
    lo, hi = c.min(axis=1).sum(axis=0), c.max(axis=1).sum(axis=0)
    b = lo + level * (hi - lo)
    _, opt = _brute(r, c, b)
    res = dual_choice(r, c, b, config=DualConfig(tol=0.0))
    assert res.upper_bound >= opt - 1e-9  # weak duality: the dual bounds the optimum
    if n_con == 1:  # one constraint: the repair always reaches a reachable bound
        assert res.feasible
    if res.feasible:
        assert res.utility <= opt + 1e-9
        rows = np.arange(6)
        np.testing.assert_allclose(res.totals, c[rows, res.choice].sum(axis=0))
        assert np.all(res.totals >= b - 1e-9)


def test_padding_options_are_never_chosen():
    r = np.array([[0.5, 9.0], [0.4, 0.1]])
    c = np.array([[[0.0], [5.0]], [[0.0], [1.0]]])
    valid = np.array([[True, False], [True, True]])
    res = dual_choice(r, c, [1.0], valid=valid)
    np.testing.assert_array_equal(res.choice, [0, 1])
    np.testing.assert_array_equal(priced_choice(r, c, [0.0], valid), [0, 0])


def test_same_input_same_result_and_warm_start():
    _, r, c = _toy(40, seed=3)
    a = dual_choice(r, c, [12.0])
    b = dual_choice(r, c, [12.0])
    np.testing.assert_array_equal(a.choice, b.choice)
    np.testing.assert_array_equal(a.prices, b.prices)
    warm = dual_choice(r, c, [12.0], prices=a.prices)
    assert warm.feasible and warm.utility == pytest.approx(a.utility)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"bound": [60.0]}, "bound\\[0\\] = 60 is unreachable: the most any choice gives is 50"),
        ({"utility": np.ones((50, 3))}, "contrib must have shape"),
        ({"bound": [1.0, 2.0]}, "bound must be 1 finite"),
        ({"valid": np.zeros((50, 2), dtype=bool)}, "at least one valid option"),
        ({"utility": np.full((50, 2), np.nan)}, "must be finite"),
        ({"prices": [-1.0]}, "prices must be"),
    ],
)
def test_bad_input_names_the_argument(kwargs, match):
    _, r, c = _toy(50, seed=0)
    args = {"utility": r, "contrib": c, "bound": [5.0], **kwargs}
    with pytest.raises(ValueError, match=match):
        dual_choice(**args)


@pytest.mark.parametrize("field, value", [("rounds", 0), ("step", -1.0), ("tol", 1.0),
                                          ("patience", 0)])  # fmt: skip
def test_config_checks(field, value):
    with pytest.raises(ValueError, match=field):
        DualConfig(**{field: value})


def _same_result(a, b):
    for name in ("choice", "prices", "totals", "bound"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("utility", "violation", "feasible", "upper_bound", "rounds"):
        assert getattr(a, name) == getattr(b, name), name
    for key in ("dual", "utility", "violation"):
        assert a.history[key] == b.history[key], key


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 3), st.floats(0.3, 1.0),
       st.sampled_from([0.0, 0.01]), st.integers(1, 7))  # fmt: skip
def test_blocks_give_the_same_bits_as_one_block(seed, n_con, level, tol, block):
    # float32 options read block by block against their float64 copy in one block, through
    # the rounds, the repairs (tol=0 and strict levels leave rounds infeasible) and the
    # tightening, with padding options
    rng = np.random.default_rng(seed)
    n, a = int(rng.integers(5, 30)), int(rng.integers(2, 6))
    r = rng.uniform(0, 1, (n, a)).astype(np.float32)
    c = rng.uniform(0, 1, (n, a, n_con)).astype(np.float32)
    valid = rng.random((n, a)) < 0.8
    valid[:, 0] = True
    hi = np.where(valid[:, :, None], c, -np.inf).max(axis=1).sum(axis=0, dtype=np.float64)
    lo = c[:, 0].sum(axis=0, dtype=np.float64)
    b = lo + level * (hi - lo)
    cfg = DualConfig(tol=tol, rounds=15, patience=5)
    dense = dual_choice(r.astype(np.float64), c.astype(np.float64), b, valid, cfg)
    _same_result(dual_choice(r, c, b, valid, cfg, block=block), dense)
    _same_result(dual_choice(r.astype(np.float64), c, b, valid, cfg, block=n + block), dense)
    lam = rng.uniform(0, 2, n_con)
    np.testing.assert_array_equal(priced_choice(r, c, lam, valid, block=block),
                                  priced_choice(r.astype(np.float64), c.astype(np.float64), lam,
                                                valid))  # fmt: skip


def test_blocked_choice_is_the_argmax_by_hand():
    # unit 0: 1 + 0.5 * 2 = 2 beats 1.5 + 0.5 * 0 = 1.5 (option 2 is padding); unit 1: 0.2
    # + 0.5 * 1 = 0.7 loses to 0.9 + 0.5 * 0 = 0.9
    r = np.array([[1.0, 1.5, 9.0], [0.2, 0.9, 0.0]], dtype=np.float32)
    c = np.array([[[2.0], [0.0], [9.0]], [[1.0], [0.0], [0.0]]], dtype=np.float32)
    valid = np.array([[True, True, False], [True, True, True]])
    for block in (1, 2, 5):
        np.testing.assert_array_equal(priced_choice(r, c, [0.5], valid, block=block), [0, 1])


@pytest.mark.parametrize("block", [0, -3, 2.5, True])
def test_block_must_be_a_positive_integer(block):
    _, r, c = _toy(10, seed=0)
    with pytest.raises(ValueError, match="block must be a positive number of units"):
        dual_choice(r, c, [2.0], block=block)
    with pytest.raises(ValueError, match="block must be a positive number of units"):
        priced_choice(r, c, [0.0], block=block)

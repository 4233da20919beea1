"""P-MMF: the dual projection against its definition, the per-request choice, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from recommenders.metrics import group_shares, min_share_ratio
from recommenders.rerank import pmmf_batch, project_dual


def _project_by_definition(z: np.ndarray, lam: float) -> np.ndarray:
    """The QP over the dual set as the method states it: one constraint per provider set."""
    subsets = [s for r in range(1, z.size + 1) for s in itertools.combinations(range(z.size), r)]
    cons = [{"type": "ineq", "fun": (lambda x, s=s: x[list(s)].sum() + lam)} for s in subsets]
    res = minimize(lambda x: ((x - z) ** 2).sum(), np.zeros_like(z), jac=lambda x: 2 * (x - z),
                   constraints=cons, method="SLSQP", options={"ftol": 1e-12, "maxiter": 500})
    return res.x


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-2, 2), min_size=1, max_size=4), st.floats(0.0, 1.5))
def test_projection_equals_the_qp_over_every_provider_set(z, lam):
    z = np.asarray(z)
    np.testing.assert_allclose(project_dual(z, lam), _project_by_definition(z, lam), atol=1e-5)


def _data(seed: int, n_users: int = 60, shift: float = 0.8):
    rng = np.random.default_rng(seed)
    n_items, n = 40, 15
    prov = np.repeat(np.arange(4), 10)  # items 0-9 provider 0, ..., 30-39 provider 3
    cand = np.stack([rng.choice(n_items, n, replace=False) for _ in range(n_users)])
    s = rng.normal(size=(n_users, n)) - shift * prov[cand]  # provider 3 scores lowest
    return s, cand, prov


def test_zero_step_is_the_top_k_by_score_until_a_budget_runs_out():
    s, cand, prov = _data(0, shift=0.0)  # no provider favoured: no budget binds
    pos = pmmf_batch(s, cand, prov, k=5, eta=0.0)
    np.testing.assert_array_equal(pos, np.argsort(-s, axis=1, kind="stable")[:, :5])
    # favoured providers spend their budget T K gamma (1 + 1/P) and are then left out
    s, cand, prov = _data(0, n_users=200)
    pos = pmmf_batch(s, cand, prov, k=5, eta=0.0)
    slots = np.bincount(prov[np.take_along_axis(cand, pos, axis=1)].ravel(), minlength=4)
    assert slots.max() <= np.ceil(200 * 5 * 0.25 * 1.25) + 5


def test_each_request_takes_the_top_k_of_its_price_adjusted_scores():
    s, cand, prov = _data(1)
    pos, prices = pmmf_batch(s, cand, prov, k=5, lam=0.5, eta=5.0, return_prices=True)
    rel = 1 / (1 + np.exp(-s))
    assert np.ptp(prices) > 0  # the prices moved
    for t in range(s.shape[0]):
        adj = rel[t] - prices[t][prov[cand[t]]]
        assert set(pos[t]) == set(np.argsort(-adj, kind="stable")[:5].tolist())
        assert np.all(np.diff(s[t, pos[t]]) <= 0)  # shown in descending score


def test_larger_steps_raise_the_worst_providers_share():
    s, cand, prov = _data(2, n_users=200)
    membership = np.eye(4)[prov]
    share = []
    for eta in (0.0, 1.0, 10.0):
        pos = pmmf_batch(s, cand, prov, k=5, lam=1.0, eta=eta)
        lists = np.take_along_axis(cand, pos, axis=1)
        share.append(min_share_ratio(group_shares(lists, membership, "uniform")))
    assert share[0] < share[1] < share[2]


def test_windows_restart_the_prices():
    s, cand, prov = _data(3)
    _, prices = pmmf_batch(s, cand, prov, k=5, lam=0.5, eta=5.0, window=20, return_prices=True)
    np.testing.assert_array_equal(prices[[0, 20, 40]], 0.0)
    whole = pmmf_batch(s[:20], cand[:20], prov, k=5, lam=0.5, eta=5.0)
    np.testing.assert_array_equal(pmmf_batch(s, cand, prov, k=5, lam=0.5, eta=5.0,
                                             window=20)[:20], whole)  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 16}, "larger than the candidate set"),
        ({"item_provider": np.repeat([0, 2], 20)}, "providers \\[1\\] have no items"),
        ({"item_provider": np.zeros(10, dtype=int)}, "outside \\[0, 10\\)"),
        ({"gamma": np.array([0.5, 0.5])}, "gamma must be 4"),
        ({"alpha": 0.0}, "alpha in \\(0, 1\\]"),
        ({"window": 0}, "window must be"),
        ({"candidates": np.zeros((60, 14), dtype=int)}, "candidates must be"),
    ],
)
def test_bad_input(kwargs, match):
    s, cand, prov = _data(0)
    args = {"scores": s, "candidates": cand, "item_provider": prov, "k": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        pmmf_batch(**args)


def test_nan_scores_are_refused():
    s, cand, prov = _data(0)
    s[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pmmf_batch(s, cand, prov, k=5)

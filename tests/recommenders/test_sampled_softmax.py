"""Sampled softmax with log-Q correction: a hand-computed case, the correction against the
exact softmax, accidental hits, weights and bad inputs."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders.sampled_softmax import NegativeSampler, sampled_softmax_loss

H = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
W = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
T = torch.tensor([0, 1])
P = torch.tensor([0.5, 0.25, 0.125, 0.125], dtype=torch.float64)


def test_in_batch_with_logq_by_hand():
    # Candidates = the targets (0, 1); logits row 0: (1, 0), row 1: (0, 1).
    # Expected counts B p = 2 * (0.5, 0.25) = (1, 0.5): log Q = (0, -log 2).
    # Row 0: corrected (1, log 2): loss = log(e + 2) - 1.
    # Row 1: corrected (0, 1 + log 2): loss = log(1 + 2e) - 1 - log 2.
    l0 = math.log(math.e + 2) - 1
    l1 = math.log(1 + 2 * math.e) - 1 - math.log(2)
    loss = sampled_softmax_loss(H, W, T, sampler=None, batch_probs=P, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [l0, l1], atol=1e-6)
    mean = sampled_softmax_loss(H, W, T, sampler=None, batch_probs=P)
    assert float(mean) == pytest.approx((l0 + l1) / 2, abs=1e-6)
    # Without the correction: plain softmax over (1, 0) and (0, 1): both log(1 + e) - 1.
    plain = sampled_softmax_loss(H, W, T, sampler=None, logq=False, reduction="none")
    np.testing.assert_allclose(plain.numpy(), [math.log(1 + math.e) - 1] * 2, atol=1e-6)


def test_mixed_negatives_with_logq_by_hand():
    # A popularity sampler with (almost) all its mass on item 2: q = (1, 1, 1e9, 1) / (1e9 + 3),
    # so both draws are item 2 (the chance of anything else is 6e-9) and q_2 = 1 to 1e-8.
    # Expected counts Q = B p + K q with B = K = 2:
    #   item 0: 2 * 0.5 = 1, item 1: 2 * 0.25 = 0.5, item 2: 2 * 0.125 + 2 * 1 = 2.25 (both
    #   sources, summed), up to the 2e-9 of q on items 0 and 1.
    # Row 0 (h = (1, 0), target 0): positive 1 - log 1 = 1; in-batch item 1: 0 - log 0.5 =
    #   log 2; sampled item 2, twice: 1 - log 2.25. Loss = log(e + 2 + 2 e / 2.25) - 1.
    # Row 1 (h = (0, 1), target 1): positive 1 + log 2; in-batch item 0: 0 - log 1 = 0;
    #   item 2, twice: 1 - log 2.25. Loss = log(2 e + 1 + 2 e / 2.25) - 1 - log 2.
    e = math.e
    l0 = math.log(e + 2 + 2 * e / 2.25) - 1
    l1 = math.log(2 * e + 1 + 2 * e / 2.25) - 1 - math.log(2)
    sampler = NegativeSampler(4, "popularity", np.array([0, 0, 1e9, 0]))
    assert torch.equal(sampler.sample(2, torch.Generator().manual_seed(0)), torch.tensor([2, 2]))
    loss = sampled_softmax_loss(H, W, T, sampler=sampler, n_negatives=2, batch_probs=P,
                                generator=torch.Generator().manual_seed(0),
                                reduction="none")  # fmt: skip
    np.testing.assert_allclose(loss.numpy(), [l0, l1], atol=1e-6)
    assert loss.dtype == torch.float32


def _negatives_gradient(z, target, sampler, logq, k):
    h = z.clone().reshape(1, -1).requires_grad_(True)
    loss = sampled_softmax_loss(h, torch.eye(z.numel()), torch.tensor([target]), sampler=sampler,
                                n_negatives=k, in_batch=False, logq=logq,
                                generator=torch.Generator().manual_seed(0))  # fmt: skip
    loss.backward()
    g = h.grad[0].numpy().copy()
    return np.delete(g, target)


def test_logq_makes_the_gradient_approach_the_exact_softmax():
    # Logits z over 30 items; hidden = z and item embeddings = identity, so d loss / d h is
    # d loss / d z. The full softmax gradient on a negative j is softmax(z)_j.
    rng = np.random.default_rng(0)
    z = torch.tensor(rng.normal(0, 1, 30))
    target = 7
    counts = np.arange(1, 31, dtype=float)  # popularity proposal, 30x from rarest to top
    sampler = NegativeSampler(30, "popularity", counts)
    p = torch.softmax(z, 0).numpy()
    exact = np.delete(p, target)
    with_q = _negatives_gradient(z, target, sampler, True, 20000)
    without = _negatives_gradient(z, target, sampler, False, 20000)
    err_with = np.abs(with_q - exact).sum()
    err_without = np.abs(without - exact).sum()
    # Measured: 0.073 with the correction against 0.52 without.
    assert err_with < 0.2 * err_without
    assert err_with < 0.1
    # What remains is the positive's own mass p_t = 0.072: sampled copies of the positive
    # are masked, so the corrected estimator tends to the softmax over the other items,
    # p_j / (1 - p_t). Against that the error is sampling noise only (measured 0.029).
    restricted = exact / (1 - p[target])
    err_restricted = np.abs(with_q - restricted).sum()
    assert err_restricted < 0.6 * err_with
    assert err_restricted < 0.1 * np.abs(without - restricted).sum()


def test_accidental_hits_are_masked():
    # A sampler that only ever draws item 0 = row 0's target: those columns are dropped
    # for row 0, so its loss equals the in-batch-only loss; row 1 sees them as negatives.
    counts = np.array([1e9, 0, 0, 0])
    sampler = NegativeSampler(4, "popularity", counts)
    assert float(sampler.probs[0]) > 0.999
    mixed = sampled_softmax_loss(H, W, T, sampler=sampler, n_negatives=5, logq=False,
                                 reduction="none")  # fmt: skip
    batch = sampled_softmax_loss(H, W, T, sampler=None, logq=False, reduction="none")
    assert float(mixed[0]) == pytest.approx(float(batch[0]), abs=1e-6)
    assert float(mixed[1]) > float(batch[1])
    # A repeated target in the batch is not its own negative either.
    twice = sampled_softmax_loss(H[[0, 0]], W, torch.tensor([0, 0]), sampler=None, logq=False,
                                 reduction="none")  # fmt: skip
    np.testing.assert_allclose(twice.numpy(), [0.0, 0.0], atol=1e-7)


def test_weights_and_reduction():
    base = sampled_softmax_loss(H, W, T, sampler=None, batch_probs=P, reduction="none")
    two = sampled_softmax_loss(H, W, T, sampler=None, batch_probs=P,
                               weights=torch.tensor([2.0, 2.0]))  # fmt: skip
    assert float(two) == pytest.approx(2 * float(base.mean()), abs=1e-6)
    one_row = sampled_softmax_loss(H, W, T, sampler=None, batch_probs=P,
                                   weights=torch.tensor([1.0, 0.0]))  # fmt: skip
    assert float(one_row) == pytest.approx(float(base[0]) / 2, abs=1e-6)
    assert base.shape == (2,)


def test_in_batch_negatives_are_subsampled_for_long_batches():
    g = torch.Generator().manual_seed(0)
    h, w = torch.randn(50, 4, generator=g), torch.randn(20, 4, generator=g)
    t = torch.randint(0, 20, (50,), generator=g)
    probs = torch.full((20,), 0.05, dtype=torch.float64)
    full = sampled_softmax_loss(h, w, t, sampler=None, batch_probs=probs, reduction="none")
    sub = [sampled_softmax_loss(h, w, t, sampler=None, batch_probs=probs, max_in_batch=10,
                                generator=torch.Generator().manual_seed(s), reduction="none")
           for s in range(2)]  # fmt: skip
    assert torch.isfinite(sub[0]).all() and not torch.equal(sub[0], full)
    assert not torch.equal(sub[0], sub[1])  # different rows drawn
    with pytest.raises(ValueError, match="max_in_batch"):
        sampled_softmax_loss(h, w, t, sampler=None, batch_probs=probs, max_in_batch=0)


def test_same_generator_same_loss():
    s = NegativeSampler(4)
    a = sampled_softmax_loss(H, W, T, sampler=s, n_negatives=3, batch_probs=P,
                             generator=torch.Generator().manual_seed(3))  # fmt: skip
    b = sampled_softmax_loss(H, W, T, sampler=s, n_negatives=3, batch_probs=P,
                             generator=torch.Generator().manual_seed(3))  # fmt: skip
    assert float(a) == float(b)
    pop = NegativeSampler(4, "popularity", np.array([1, 2, 3, 4]), alpha=0.75)
    draws = [pop.sample(50, torch.Generator().manual_seed(seed)) for seed in (5, 5, 6)]
    assert torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], draws[2])
    assert draws[0].dtype == torch.int64 and draws[0].shape == (50,)


def test_popularity_probs_and_smoothing():
    counts = np.array([0, 1, 4, 16])
    raw = NegativeSampler(4, "popularity", counts).probs  # floor: max(0, 1) = 1
    np.testing.assert_allclose(raw.numpy(), np.array([1, 1, 4, 16]) / 22)
    half = NegativeSampler(4, "popularity", counts, alpha=0.5).probs
    np.testing.assert_allclose(half.numpy(), np.array([1, 1, 2, 4]) / 8)
    flat = NegativeSampler(4, "popularity", counts, alpha=0).probs
    np.testing.assert_allclose(flat.numpy(), np.full(4, 0.25))
    assert raw.dtype == torch.float64
    np.testing.assert_allclose(NegativeSampler(5).probs.numpy(), np.full(5, 0.2))


def test_gradient_matches_finite_differences():
    # Same seed on every call, so the candidate set is fixed and the loss is smooth in h, W.
    g = torch.Generator().manual_seed(0)
    h = torch.randn(3, 2, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 2, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0, 3, 3])
    sampler = NegativeSampler(5, "popularity", np.array([5, 1, 2, 3, 4]))
    probs = torch.tensor([0.3, 0.1, 0.1, 0.4, 0.1], dtype=torch.float64)

    def f(h, w):
        return sampled_softmax_loss(h, w, t, sampler=sampler, n_negatives=4, batch_probs=probs,
                                    weights=torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64),
                                    generator=torch.Generator().manual_seed(1))  # fmt: skip

    assert torch.autograd.gradcheck(f, (h, w))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), i=st.integers(2, 12), k=st.integers(0, 8), logq=st.booleans(),
       in_batch=st.booleans(), popularity=st.booleans(), seed=st.integers(0, 1000))  # fmt: skip
def test_loss_is_a_finite_non_negative_cross_entropy(n, i, k, logq, in_batch, popularity, seed):
    if not in_batch and k == 0:
        k = 1
    g = torch.Generator().manual_seed(seed)
    h, w = 3 * torch.randn(n, 3, generator=g), 3 * torch.randn(i, 3, generator=g)
    t = torch.randint(0, i, (n,), generator=g)
    counts = torch.randint(0, 50, (i,), generator=g).numpy()
    counts[0] += 1
    sampler = NegativeSampler(i, "popularity", counts) if popularity else NegativeSampler(i)
    probs = torch.rand(i, generator=g, dtype=torch.float64) + 0.01
    probs /= probs.sum()
    weights = torch.rand(n, generator=g)
    kwargs = dict(sampler=sampler, n_negatives=k, in_batch=in_batch, batch_probs=probs,
                  logq=logq, weights=weights)  # fmt: skip
    loss = sampled_softmax_loss(h, w, t, generator=torch.Generator().manual_seed(seed),
                                reduction="none", **kwargs)  # fmt: skip
    assert loss.shape == (n,)
    assert torch.isfinite(loss).all() and bool((loss >= -1e-9).all())
    mean = sampled_softmax_loss(h, w, t, generator=torch.Generator().manual_seed(seed), **kwargs)
    assert float(mean) == pytest.approx(float(loss.mean()), rel=1e-5, abs=1e-7)


def test_bad_inputs():
    with pytest.raises(ValueError, match="kind must be one of"):
        NegativeSampler(4, "zipf")
    with pytest.raises(ValueError, match="needs counts"):
        NegativeSampler(4, "popularity")
    with pytest.raises(ValueError, match="counts must have shape"):
        NegativeSampler(4, "popularity", [1, 2])
    with pytest.raises(ValueError, match="non-negative"):
        NegativeSampler(4, "popularity", [1, -2, 1, 1])
    with pytest.raises(ValueError, match="same d"):
        sampled_softmax_loss(H, W[:, :1], T, sampler=None, batch_probs=P)
    with pytest.raises(ValueError, match="targets must lie in"):
        sampled_softmax_loss(H, W, torch.tensor([0, 4]), sampler=None, batch_probs=P)
    with pytest.raises(ValueError, match="NaN or infinite"):
        sampled_softmax_loss(H * float("nan"), W, T, sampler=None, batch_probs=P)
    with pytest.raises(ValueError, match="weights must be finite"):
        sampled_softmax_loss(H, W, T, sampler=None, batch_probs=P,
                             weights=torch.tensor([1.0, float("inf")]))  # fmt: skip
    with pytest.raises(ValueError, match="weights must be"):
        sampled_softmax_loss(H, W, T, sampler=None, batch_probs=P, weights=torch.ones(3))
    with pytest.raises(ValueError, match="needs batch_probs"):
        sampled_softmax_loss(H, W, T, sampler=None)
    with pytest.raises(ValueError, match="no negatives"):
        sampled_softmax_loss(H, W, T, sampler=None, in_batch=False)
    with pytest.raises(ValueError, match="n_negatives"):
        sampled_softmax_loss(H, W, T, sampler=NegativeSampler(4), n_negatives=-1, batch_probs=P)
    with pytest.raises(TypeError, match="integer"):
        sampled_softmax_loss(H, W, T.float(), sampler=None, batch_probs=P)
    with pytest.raises(ValueError, match="all zero"):
        NegativeSampler(4, "popularity", np.zeros(4))
    with pytest.raises(ValueError, match="alpha"):
        NegativeSampler(4, "popularity", [1, 2, 1, 1], alpha=-1.0)
    with pytest.raises(ValueError, match="n_items"):
        NegativeSampler(0)
    with pytest.raises(ValueError, match="n must be"):
        NegativeSampler(4).sample(-1)
    with pytest.raises(ValueError, match="weights must be finite and non-negative"):
        sampled_softmax_loss(H, W, T, sampler=None, batch_probs=P,
                             weights=torch.tensor([1.0, -0.5]))  # fmt: skip
    with pytest.raises(TypeError, match="weights must be a torch tensor"):
        sampled_softmax_loss(H, W, T, sampler=None, batch_probs=P, weights=[1.0, 1.0])
    with pytest.raises(TypeError, match="targets must be a torch tensor"):
        sampled_softmax_loss(H, W, [0, 1], sampler=None, batch_probs=P)
    with pytest.raises(ValueError, match="targets must be"):
        sampled_softmax_loss(H, W, torch.tensor([0, 1, 2]), sampler=None, batch_probs=P)
    with pytest.raises(ValueError, match="targets must lie in"):
        sampled_softmax_loss(H, W, torch.tensor([-1, 0]), sampler=None, batch_probs=P)
    with pytest.raises(ValueError, match="item_weights holds NaN"):
        sampled_softmax_loss(H, W * float("inf"), T, sampler=None, batch_probs=P)
    with pytest.raises(ValueError, match="no rows"):
        sampled_softmax_loss(H[:0], W, T[:0], sampler=None, batch_probs=P)
    with pytest.raises(ValueError, match="reduction"):
        sampled_softmax_loss(H, W, T, sampler=None, batch_probs=P, reduction="sum")
    with pytest.raises(ValueError, match="sampler covers 5 items"):
        sampled_softmax_loss(H, W, T, sampler=NegativeSampler(5), batch_probs=P)
    with pytest.raises(ValueError, match="batch_probs must be"):
        sampled_softmax_loss(H, W, T, sampler=None, batch_probs=P[:3])
    with pytest.raises(ValueError, match="batch_probs must be"):
        sampled_softmax_loss(H, W, T, sampler=None, batch_probs=-P)
    with pytest.raises(ValueError, match="expected count 0"):
        sampled_softmax_loss(H, W, T, sampler=None,
                             batch_probs=torch.tensor([1.0, 0.0, 0.0, 0.0]))  # fmt: skip


def test_target_probs_counts_targets_only():
    from recommenders.sampled_softmax import target_probs

    p = target_probs(np.array([1, 2, 1, 1]), 4)
    assert p.dtype == torch.float64 and p.tolist() == [0.0, 0.75, 0.25, 0.0]
    assert target_probs(torch.tensor([3]), 4).tolist() == [0.0, 0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="drop padding"):
        target_probs(np.array([1, -100]), 4)
    with pytest.raises(ValueError, match="non-empty 1-D integer"):
        target_probs(np.array([1.0, 2.0]), 4)
    with pytest.raises(ValueError, match="n_items must be"):
        target_probs(np.array([1]), 0)

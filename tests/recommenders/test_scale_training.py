"""Training at size: the re-implemented samplers and windows give what the per-user
code gave, and scoring never asks for a users x items block larger than the batch."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders.data.interactions import Interactions
from recommenders.models import BPRMF
from recommenders.models.bpr import sample_negatives_uniform
from recommenders.models.sequential import IGNORE, training_windows


def _log(seed, n_users=6, n_items=9, size=40):
    rng = np.random.default_rng(seed)
    return Interactions(rng.integers(0, n_users, size), rng.integers(0, n_items, size),
                        rng.integers(0, 50, size), np.ones(size), n_users, n_items)


def _windows_per_user(train, max_len, rng):
    """The per-user loop ``training_windows`` replaced, kept as the reference."""
    counts = train.user_counts()
    users, ends = [], []
    for u in np.flatnonzero(counts >= 2):
        last = int(counts[u]) - 1
        overlap = int(rng.integers(0, max_len))
        e, nxt = [last], last - max_len + overlap
        while nxt >= 1:
            e.append(nxt)
            nxt -= max_len
        users.extend([u] * len(e))
        ends.extend(e)
    users_a, ends_a = np.asarray(users), np.asarray(ends)
    pos = ends_a[:, None] - np.arange(max_len - 1, -1, -1)[None, :]
    valid = pos >= 1
    base = train.indptr[users_a][:, None]
    targets = np.where(valid, train.items[np.where(valid, base + pos, 0)], IGNORE)
    inputs = np.where(valid, train.items[np.where(valid, base + pos - 1, 0)] + 1, 0)
    return inputs, targets


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 7), st.integers(2, 80))
def test_training_windows_equal_the_per_user_loop(seed, max_len, size):
    train = _log(seed, size=size)
    if not (train.user_counts() >= 2).any():
        return
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    got = training_windows(train, max_len, a)
    want = _windows_per_user(train, max_len, b)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    assert a.integers(0, 2**30) == b.integers(0, 2**30)  # the same draws were consumed


def _negatives_isin(train, users, rng, max_rounds=20):
    """The numpy.isin rejection sampler ``sample_negatives_uniform`` replaced."""
    seen = np.unique(train.keys())
    neg = rng.integers(0, train.n_items, size=users.shape[0])
    bad = np.isin(users * np.int64(train.n_items) + neg, seen)
    for _ in range(max_rounds):
        if not bad.any():
            break
        neg[bad] = rng.integers(0, train.n_items, size=int(bad.sum()))
        bad = np.isin(users * np.int64(train.n_items) + neg, seen)
    return neg, bad


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(0, 60))
def test_negative_sampler_equals_the_isin_sampler(seed, size):
    train = _log(seed, size=size)
    users = np.random.default_rng(seed + 1).integers(0, train.n_users, 50)
    want, unresolved = _negatives_isin(train, users, np.random.default_rng(seed))
    if unresolved.any():  # the exact fallback is unchanged; compare the common case
        return
    got = sample_negatives_uniform(train, users, np.random.default_rng(seed))
    np.testing.assert_array_equal(got, want)
    assert not train.contains(users, got).any()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(0, 60))
def test_contains_equals_a_dense_lookup(seed, size):
    train = _log(seed, size=size)
    rng = np.random.default_rng(seed)
    u, i = rng.integers(0, train.n_users, 30), rng.integers(0, train.n_items, 30)
    np.testing.assert_array_equal(train.contains(u, i), train.to_dense(bool)[u, i])


def test_score_never_scores_more_users_than_a_batch(split):
    """Ranker.score scored all its users at once, a (U, n_items) array: at 138k x 27k
    that is 14.8 GB, asked for by the sampled protocol."""
    model = BPRMF(epochs=1, seed=0, device="cpu").fit(split.train)
    users = np.arange(split.n_users)
    items = np.random.default_rng(0).integers(0, split.n_items, (users.size, 5))
    want = model.full_scores(users)
    model.eval_batch_users = 7
    sizes = []
    inner = model.full_scores

    def spy(chunk):
        sizes.append(len(chunk))
        return inner(chunk)

    model.full_scores = spy
    got = model.score(users, items)
    assert max(sizes) <= 7
    np.testing.assert_allclose(got, np.take_along_axis(want, items, axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.score(users, items[0]), want[:, items[0]],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("loss", ["sampled"])
def test_sasrec_sampled_softmax_trains_on_windows(split, loss):
    from recommenders.models import SASRec

    torch.set_num_threads(1)
    model = SASRec(epochs=1, loss=loss, n_negatives=16, device="cpu", seed=0).fit(split.train)
    assert np.isfinite(model.train_log_[0]["loss"])


def _one_pair_per_user_fit(sparse):
    # Users 0 and 1 have one pair each; batch_size=1 makes two steps, one per user.
    train = Interactions([0, 1], [0, 1], [1, 1], [1.0, 1.0], 2, 4)
    torch.manual_seed(0)
    from recommenders.models.bpr import MFNet

    start = MFNet(2, 4, 8).user.weight.detach().clone()
    model = BPRMF(epochs=1, dim=8, batch_size=1, lr=1e-3, reg=0.0, sparse=sparse, seed=0,
                  device="cpu").fit(train)  # fmt: skip
    return (model.net.user.weight.detach() - start).abs()


def test_sparse_adam_moves_each_row_only_in_its_own_step():
    """Hand-computed lazy Adam: a row's only step moves each coordinate by
    lr * m_hat / sqrt(v_hat), at the table's step count t (1 or 2): 1 at t = 1 and
    (0.1 / 0.19) / sqrt(0.001 / 0.001999) at t = 2; the first step's user is not moved
    again. Dense Adam moves it again by its momentum (more than 1.5 lr in all)."""
    lazy = np.sort(_one_pair_per_user_fit(True).numpy(), axis=0)  # rows: 2nd-step user first
    second = (0.1 / 0.19) / np.sqrt(0.001 / 0.001999)
    np.testing.assert_allclose(lazy, np.repeat([[second * 1e-3], [1e-3]], 8, axis=1), rtol=1e-3)
    assert (_one_pair_per_user_fit(False) > 1.5e-3).any()


def test_sparse_bpr_is_seeded_and_learns(split):
    a = BPRMF(epochs=3, sparse=True, seed=1, device="cpu").fit(split.train)
    b = BPRMF(epochs=3, sparse=True, seed=1, device="cpu").fit(split.train)
    assert torch.equal(a.net.user.weight, b.net.user.weight)
    losses = [row["loss"] for row in a.train_log_]
    assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match="set weight_decay=0"):
        BPRMF(sparse=True, weight_decay=1e-4)

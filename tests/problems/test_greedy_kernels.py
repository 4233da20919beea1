"""The Numba greedy seeds equal the numpy reference (recommenders.rerank) position for
position: every parameter, ties, N = K, Jaccard and random similarities."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from problems.rerank_eval.greedy_kernels import greedy_batch, greedy_seeds_batch
from problems.rerank_eval.stages import Context, RerankEvalConfig, Stage
from recommenders import rerank as R

GRID = (0.0, 0.1, 0.5, 0.9, 1.0)
THETAS = (0.0, 0.1, 0.5, 0.9, 0.99)
GAMMAS = (0.0, 0.3, 0.7, 2.0)


def _reference(q, sim, emb, k, window, normalize=True):
    runs = [R.mmr_batch(q, sim, k, p, normalize) for p in GRID]
    runs += [R.dpp_batch(q, sim, k, p, normalize) for p in THETAS]
    runs += [R.ssd_batch(q, emb, k, p, window, normalize) for p in GAMMAS]
    return np.stack(runs, axis=1)


def _genre_case(rng, n_users, n, n_items, n_genres, levels):
    items = np.stack([rng.choice(n_items, n, replace=False) for _ in range(n_users)])
    genres = rng.random((n_items, n_genres)) < 0.3
    # Few score levels: many exact ties in relevance as well as in similarity.
    q = rng.integers(0, levels, (n_users, n)).astype(np.float64)
    return q, items, genres


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 9), levels=st.integers(1, 4),
       window=st.integers(1, 6), normalize=st.booleans())
def test_equal_to_the_reference_on_jaccard_inputs_with_ties(seed, n, levels, window, normalize):
    rng = np.random.default_rng(seed)
    q, items, genres = _genre_case(rng, 3, n, 12, 3, levels)
    sim = R.candidate_similarity(items, item_genres=genres)
    emb = genres[items].astype(np.float64)
    for k in sorted({1, n, max(1, n // 2)}):  # N = K included
        got = greedy_batch(q, sim, emb, k, GRID, THETAS, GAMMAS, window, normalize)
        np.testing.assert_array_equal(got, _reference(q, sim, emb, k, window, normalize))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 12), d=st.integers(1, 5))
def test_equal_to_the_reference_on_random_cosine_inputs(seed, n, d):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(4, n))
    emb = rng.normal(size=(4, n, d))
    emb[:, -1] = emb[:, 0]  # an exact duplicate: a DPP pivot and an SSD residual of ~0
    unit = emb / np.linalg.norm(emb, axis=2, keepdims=True)
    sim = np.clip(unit @ unit.transpose(0, 2, 1), -1.0, 1.0)
    sim = (sim + sim.transpose(0, 2, 1)) / 2
    k = int(rng.integers(1, n + 1))
    got = greedy_batch(q, sim, emb, k, GRID, THETAS, GAMMAS, 2)
    np.testing.assert_array_equal(got, _reference(q, sim, emb, k, 2))


def test_hand_case_follows_the_docstring_examples():
    # Candidates 0 and 1 share a genre, 2 has another; scaled scores r = (1, 0.8, 0).
    g = np.array([[1, 0], [1, 0], [0, 1]], dtype=bool)
    s = np.array([[1.0, 0.9, 0.5]])
    out = greedy_seeds_batch(s, np.array([[0, 1, 2]]), g, 2, (0.5, 0.9))
    # MMR: 0.5 * 0.8 - 0.5 * 1 < 0 = gain of 2 at lam 0.5; 0.9 * 0.8 - 0.1 > 0 at 0.9.
    np.testing.assert_array_equal(out[0, :2], [[0, 2], [0, 1]])
    # DPP: after 0, candidate 1's pivot 1 - 1 * 1 = 0 is dead at every theta.
    np.testing.assert_array_equal(out[0, 2:4], [[0, 2], [0, 2]])
    # SSD: residuals 0 (1) and 1 (2): 0.8 > 0 + 0.5, but 0.8 < 0 + 0.9.
    np.testing.assert_array_equal(out[0, 4:], [[0, 1], [0, 2]])


@pytest.mark.parametrize("k", [1, 5, 8])
def test_seeds_equal_the_contexts_numpy_seeds(k):
    rng = np.random.default_rng(k)
    q, items, genres = _genre_case(rng, 20, 8, 40, 6, 1000)
    q = q + rng.random(q.shape)
    cfg = RerankEvalConfig(k=k, ks=(k,))
    ctx = Context(Stage("test", "full", q, items, np.zeros(20, dtype=np.int64)),
                  genres, np.ones(40), cfg)  # fmt: skip
    ref = np.stack([ctx.greedy(m, p) for m in ("mmr", "dpp", "ssd") for p in cfg.grid], axis=1)
    np.testing.assert_array_equal(greedy_seeds_batch(q, items, genres, k, cfg.grid, 5), ref)
    fresh = Context(ctx.stage, genres, np.ones(40), cfg)
    np.testing.assert_array_equal(fresh.greedy_seeds(), ref)


def test_more_than_64_genres_give_the_same_seeds():
    rng = np.random.default_rng(3)
    q, items, genres = _genre_case(rng, 6, 7, 30, 70, 3)
    genres[:, 64:] |= genres[:, :6]  # genres past the 64th bit decide the similarity too
    genres[:, :6] = False
    cfg = RerankEvalConfig(k=4, ks=(4,))
    ctx = Context(Stage("test", "full", q, items, np.zeros(6, dtype=np.int64)),
                  genres, np.ones(30), cfg)  # fmt: skip
    ref = np.stack([ctx.greedy(m, p) for m in ("mmr", "dpp", "ssd") for p in cfg.grid], axis=1)
    np.testing.assert_array_equal(greedy_seeds_batch(q, items, genres, 4, cfg.grid, 5), ref)


def test_bad_input_names_the_argument():
    q = np.zeros((2, 3))
    items = np.array([[0, 1, 2], [0, 1, 2]])
    g = np.ones((3, 2), dtype=bool)
    with pytest.raises(ValueError, match="k"):
        greedy_seeds_batch(q, items, g, 4, (0.5,))
    with pytest.raises(ValueError, match="theta"):
        greedy_seeds_batch(q, items, g, 2, (1.0,))
    with pytest.raises(ValueError, match="window"):
        greedy_seeds_batch(q, items, g, 2, (0.5,), window=0)
    with pytest.raises(ValueError, match="outside"):
        greedy_seeds_batch(q, items + 1, g, 2, (0.5,))
    with pytest.raises(ValueError, match="finite"):
        greedy_batch(np.array([[0.0, 1.0], [0.0, np.nan]]), np.ones((2, 2, 2)),
                     np.ones((2, 2, 1)), 1, (0.5,), (0.5,), (0.5,))  # fmt: skip


def test_stream_block_estimate_holds_no_block_of_similarities():
    import numba

    from problems.rerank_stream import StreamConfig, check_block_memory

    est = check_block_memory(100, StreamConfig(block_users=2048, seeds="greedy", k=10))
    # The 27 lists of 10 int64 per user and two (N, N) float64 per thread, not 2 (U, N, N).
    assert est["seeds"] == 2048 * 27 * 10 * 8 + 2 * numba.get_num_threads() * 100 * 100 * 8
    assert check_block_memory(100, StreamConfig(block_users=2048, seeds="topk"))["seeds"] == 0

"""Re-rankers against hand-computed cases and brute-force references (arithmetic in comments)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders import rerank as R

# ----------------------------------------------------------------- helpers


def _unit_psd(rng, n, rank=None):
    """S = B B^T scaled to unit diagonal; full rank unless ``rank`` < n."""
    b = rng.normal(size=(n, n + 2 if rank is None else rank))
    s = b @ b.T
    d = np.sqrt(np.diag(s))
    s = s / d[:, None] / d[None, :]
    np.fill_diagonal(s, 1.0)  # exactly, as candidate_similarity does (not 1 +- 1 ulp)
    return s


def _minmax(s):
    span = s.max() - s.min()
    return (s - s.min()) / span if span > 0 else np.zeros_like(s)


def _brute_dpp(scores, sim, k, theta):
    """Greedy argmax of log det(L_{Y+i}) with slogdet, L = Diag(q) S Diag(q)."""
    q = np.exp(theta / (2 * (1 - theta)) * _minmax(scores))
    kernel = q[:, None] * sim * q[None, :]
    chosen = []
    for _ in range(k):
        best, best_val = None, -np.inf
        for i in range(len(scores)):
            if i in chosen:
                continue
            idx = chosen + [i]
            sign, logdet = np.linalg.slogdet(kernel[np.ix_(idx, idx)])
            if sign > 0 and logdet > best_val:
                best, best_val = i, logdet
        chosen.append(best)
    return chosen


def _brute_ssd(scores, emb, k, gamma, window):
    """Greedy r_i + gamma * ||v_i - proj_W v_i|| with the projection from least squares."""
    chosen = []
    for _ in range(k):
        win = emb[chosen[-window:]] if chosen else np.zeros((0, emb.shape[1]))
        best, best_val = None, -np.inf
        for i in range(len(scores)):
            if i in chosen:
                continue
            v = emb[i]
            if len(win):
                coef = np.linalg.lstsq(win.T, v, rcond=None)[0]
                v = v - win.T @ coef
            val = scores[i] + gamma * np.linalg.norm(v)
            if val > best_val:
                best, best_val = i, val
        chosen.append(best)
    return chosen


def _top_k(scores, k):
    return np.argsort(-np.asarray(scores), kind="stable")[:k].tolist()


# ----------------------------------------------------------------- candidate_similarity

GENRES = np.array(
    [
        [1, 1, 0],  # item 0: {0, 1}
        [0, 1, 1],  # item 1: {1, 2}
        [0, 0, 0],  # item 2: no genre
        [0, 0, 0],  # item 3: no genre
        [1, 1, 0],  # item 4: same genres as item 0
    ],
    dtype=bool,
)


def test_candidate_similarity_jaccard():
    sim = R.candidate_similarity(np.array([[0, 1, 2, 3, 4]]), item_genres=GENRES)
    assert sim.shape == (1, 5, 5) and sim.dtype == np.float64
    s = sim[0]
    # |{1}| / |{0, 1, 2}| = 1/3.
    assert s[0, 1] == pytest.approx(1 / 3) and s[1, 0] == pytest.approx(1 / 3)
    assert s[0, 4] == 1.0  # identical genre sets
    assert s[1, 4] == pytest.approx(1 / 3)
    assert s[0, 2] == 0.0 and s[2, 1] == 0.0  # genre-less vs. genres: union > 0, inter 0
    assert s[2, 3] == 1.0  # two genre-less items: same convention as metrics.ild
    np.testing.assert_array_equal(np.diag(s), 1.0)
    # 1-D candidates give the (N, N) matrix of one user.
    np.testing.assert_array_equal(R.candidate_similarity(np.array([0, 1]), GENRES), s[:2, :2])


def test_candidate_similarity_cosine():
    emb = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [-2.0, 0.0]])
    sim = R.candidate_similarity(
        np.array([[0, 1, 2, 3], [2, 2, 1, 0]]), item_embeddings=emb, metric="cosine"
    )
    s = sim[0]
    assert s[0, 1] == pytest.approx(1 / np.sqrt(2))  # 1 / (1 * sqrt 2)
    assert s[0, 3] == pytest.approx(-1.0)
    assert s[1, 3] == pytest.approx(-1 / np.sqrt(2))
    assert s[2, 0] == 0.0 and s[0, 2] == 0.0 and s[2, 3] == 0.0  # zero vector vs others
    np.testing.assert_allclose(np.diag(s), 1.0)
    # The same zero-vector item twice in one candidate set is the same item: similarity 1.
    assert sim[1, 0, 1] == 1.0 and sim[1, 0, 2] == 0.0


def test_candidate_similarity_validation():
    with pytest.raises(ValueError, match="outside"):
        R.candidate_similarity(np.array([[0, 5]]), item_genres=GENRES)
    with pytest.raises(ValueError, match="outside"):
        R.candidate_similarity(np.array([[-1, 0]]), item_genres=GENRES)
    with pytest.raises(TypeError, match="integer"):
        R.candidate_similarity(np.array([[0.0, 1.0]]), item_genres=GENRES)
    with pytest.raises(ValueError, match="item_genres"):
        R.candidate_similarity(np.array([[0, 1]]))
    with pytest.raises(ValueError, match="item_embeddings"):
        R.candidate_similarity(np.array([[0, 1]]), item_genres=GENRES, metric="cosine")
    with pytest.raises(ValueError, match="metric"):
        R.candidate_similarity(np.array([[0, 1]]), item_genres=GENRES, metric="dot")
    with pytest.raises(ValueError, match="0/1"):
        R.candidate_similarity(np.array([[0, 1]]), item_genres=GENRES * 2.0)
    with pytest.raises(ValueError, match="NaN"):
        R.candidate_similarity(
            np.array([[0, 1]]), item_embeddings=np.full((2, 2), np.nan), metric="cosine"
        )


# ----------------------------------------------------------------- MMR

MMR_SCORES = np.array([0.9, 0.8, 0.5, 0.3])
MMR_SIM = np.array(
    [
        [1.0, 0.9, 0.1, 0.2],
        [0.9, 1.0, 0.2, 0.1],
        [0.1, 0.2, 1.0, 0.8],
        [0.2, 0.1, 0.8, 1.0],
    ]
)


def test_mmr_hand_case():
    # lam = 0.5, raw scores. Step 1: argmax score -> 0.
    # Step 2 (S = {0}): 1: .5*.8 - .5*.9 = -.05;  2: .25 - .05 = .20;  3: .15 - .10 = .05 -> 2.
    # Step 3 (S = {0, 2}): 1: .40 - .5*max(.9, .2) = -.05;  3: .15 - .5*max(.2, .8) = -.25 -> 1.
    # Step 4: 3. Plain top-k by score would be [0, 1, 2, 3].
    out = R.mmr(MMR_SCORES, MMR_SIM, 4, lam=0.5, normalize=False)
    assert out.tolist() == [0, 2, 1, 3]
    assert out.dtype == np.int64
    assert R.mmr(MMR_SCORES, MMR_SIM, 2, lam=0.5, normalize=False).tolist() == [0, 2]


def test_mmr_normalisation_changes_the_trade_off():
    # Scores x10, lam = 0.5, raw: step 2 gains 1: 4 - .45, 2: 2.5 - .05, 3: 1.5 - .1 -> 1
    # (relevance swamps similarity). Min-max scaled to [1, 5/6, 1/3, 0] it is the hand case
    # again: 1: .41667 - .45 = -.0333;  2: .16667 - .05 = .1167;  3: 0 - .1 -> 2.
    big = MMR_SCORES * 10
    assert R.mmr(big, MMR_SIM, 3, lam=0.5, normalize=False).tolist() == [0, 1, 2]
    assert R.mmr(big, MMR_SIM, 3, lam=0.5, normalize=True).tolist() == [0, 2, 1]


def test_mmr_lam_one_is_top_k_and_lam_zero_is_diversity():
    rng = np.random.default_rng(3)
    for n in (5, 9):
        scores = rng.normal(size=n)
        sim = _unit_psd(rng, n)
        for k in range(1, n + 1):
            assert R.mmr(scores, sim, k, lam=1.0).tolist() == _top_k(scores, k)
    # lam = 0 after the first (most relevant) pick: minimal max-similarity, i.e. 2 then 3
    # (3: max(.2, .8) = .8 vs 1: max(.9, .2) = .9).
    assert R.mmr(MMR_SCORES, MMR_SIM, 3, lam=0.0).tolist() == [0, 2, 3]


def test_mmr_negative_similarity_counts():
    # Cosine may be negative: item 2 at -0.5 from item 0 beats item 1 at 0 when lam = 0.
    sim = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, 0.0], [-0.5, 0.0, 1.0]])
    assert R.mmr(np.array([1.0, 0.5, 0.4]), sim, 2, lam=0.0).tolist() == [0, 2]


def test_mmr_batch_equals_per_user_and_is_affine_invariant():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(6, 10))
    sim = np.stack([_unit_psd(rng, 10) for _ in range(6)])
    batch = R.mmr_batch(scores, sim, 5, lam=0.6)
    assert batch.shape == (6, 5) and batch.dtype == np.int64
    for u in range(6):
        assert batch[u].tolist() == R.mmr(scores[u], sim[u], 5, lam=0.6).tolist()
    np.testing.assert_array_equal(R.mmr_batch(3.0 * scores - 7.0, sim, 5, lam=0.6), batch)


# ----------------------------------------------------------------- DPP


@pytest.mark.parametrize("seed", range(6))
def test_dpp_equals_brute_force_log_det_greedy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 13))
    sim = _unit_psd(rng, n)
    scores = rng.normal(size=n)
    for theta in (0.0, 0.3, 0.7, 0.9):
        for k in range(1, 6):
            assert R.dpp(scores, sim, k, theta=theta).tolist() == _brute_dpp(
                scores, sim, k, theta
            ), (seed, theta, k)


def test_dpp_batch_equals_per_user():
    rng = np.random.default_rng(11)
    n, users = 9, 5
    sim = np.stack([_unit_psd(rng, n) for _ in range(users)])
    scores = rng.normal(size=(users, n))
    batch = R.dpp_batch(scores, sim, 5, theta=0.6)
    assert batch.shape == (users, 5) and batch.dtype == np.int64
    for u in range(users):
        assert batch[u].tolist() == R.dpp(scores[u], sim[u], 5, theta=0.6).tolist()
        assert batch[u].tolist() == _brute_dpp(scores[u], sim[u], 5, 0.6)


def test_dpp_theta_extremes():
    rng = np.random.default_rng(4)
    sim = _unit_psd(rng, 8)
    scores = rng.normal(size=8)
    # Unit diagonal: every first-step log-gain is log 1 + theta/(1-theta) r_i, so the first
    # pick is the most relevant item for theta > 0 and a tie (-> position 0) for theta = 0.
    assert R.dpp(scores, sim, 1, theta=0.0).tolist() == [0]
    assert R.dpp(scores, sim, 1, theta=0.1).tolist() == _top_k(scores, 1)
    # theta near 1: alpha is ~5e5 and q = exp(alpha r) would overflow; relevance dominates.
    assert R.dpp(scores, sim, 5, theta=0.99999).tolist() == _top_k(scores, 5)


def test_dpp_fallback_fills_by_relevance():
    # Items 0 and 1 are duplicates (similarity 1), 2 is orthogonal to both.
    # Step 1: most relevant -> 0. Step 2: d_1^2 = 1 - 1^2 = 0 (no volume), d_2^2 = 1 -> 2.
    # Step 3: only item 1 is left and its gain is 0: the paper would stop at 2 items; the
    # fallback appends it by relevance.
    sim = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    scores = np.array([1.0, 0.9, 0.1])
    assert R.dpp(scores, sim, 3, theta=0.9).tolist() == [0, 2, 1]

    # Rank-2 kernel on 7 items: two greedy DPP picks, then the rest by relevance.
    rng = np.random.default_rng(5)
    sim = _unit_psd(rng, 7, rank=2)
    scores = rng.normal(size=7)
    out = R.dpp(scores, sim, 6, theta=0.5).tolist()
    assert out[:2] == _brute_dpp(scores, sim, 2, 0.5)
    rest = [i for i in _top_k(scores, 7) if i not in out[:2]]
    assert out[2:] == rest[:4]


def test_dpp_non_psd_similarity_still_returns_k_items():
    # Eigenvalues 1 - 0.9 sqrt 2 < 0: not PSD; the marginal gain of item 2 after {0, 1}
    # is negative. Hand: pick 0; d_1^2 = d_2^2 = 1 - .81 = .19, tie -> more relevant 1;
    # e_2 = (0 - .9 * .9) / sqrt .19, d_2^2 = .19 - .6561/.19 < 0 -> fallback appends 2.
    sim = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, 0.0], [0.9, 0.0, 1.0]])
    out = R.dpp(np.array([1.0, 0.5, 0.4]), sim, 3, theta=0.5)
    assert out.tolist() == [0, 1, 2]


# ----------------------------------------------------------------- SSD


def test_ssd_orthogonal_embeddings_keep_score_order():
    # Orthogonal unit vectors: every residual is 1, so each gain is r_i + gamma.
    scores = np.array([0.2, 0.9, 0.5, 0.7])
    for window in (1, 2, 5):
        out = R.ssd(scores, np.eye(4), 4, gamma=0.7, window=window)
        assert out.tolist() == [1, 3, 2, 0]


def test_ssd_first_pick_uses_embedding_norm():
    # Gains r + gamma ||v||: 1.0 + .7 * 1 = 1.7 vs .8 + .7 * 2 = 2.2 -> item 1 first.
    emb = np.array([[1.0, 0.0], [0.0, 2.0]])
    out = R.ssd(np.array([1.0, 0.8]), emb, 2, gamma=0.7, normalize=False)
    assert out.tolist() == [1, 0]


def test_ssd_duplicate_gets_no_bonus_inside_window():
    # v0 = v1 = e1, v2 = e2, v3 = e3; r = [1, .9, .5, .3], gamma = .7, raw scores.
    # Step 1: 0 (1.7). Step 2, window {0}: 1: .9 + 0 = .9; 2: 1.2; 3: 1.0 -> 2.
    # window = 2, step 3, window {0, 2}: 1: .9 (still a duplicate); 3: 1.0 -> 3, then 1.
    # window = 1, step 3, window {2}: 1: .9 + .7 = 1.6 (0 left the window); 3: 1.0 -> 1.
    emb = np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    scores = np.array([1.0, 0.9, 0.5, 0.3])
    assert R.ssd(scores, emb, 4, gamma=0.7, window=2, normalize=False).tolist() == [0, 2, 3, 1]
    assert R.ssd(scores, emb, 4, gamma=0.7, window=1, normalize=False).tolist() == [0, 2, 1, 3]


def test_ssd_gram_schmidt_residual():
    # Window {e1}; (1, 1)/sqrt 2 keeps residual 1/sqrt 2 = .7071, e2 keeps 1.
    # Gains: item 1: .6 + .7071 = 1.3071; item 2: .35 + 1 = 1.35 -> 2, although 1 scores higher.
    emb = np.array([[1.0, 0.0], [1.0, 1.0] / np.sqrt(2), [0.0, 1.0]])
    out = R.ssd(np.array([1.0, 0.6, 0.35]), emb, 2, gamma=1.0, normalize=False)
    assert out.tolist() == [0, 2]


@pytest.mark.parametrize("seed", range(4))
def test_ssd_equals_brute_force_projection(seed):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(5, 13)), int(rng.integers(2, 6))
    emb = rng.normal(size=(n, d))
    scores = rng.normal(size=n)
    for window in (1, 3, 10):
        for gamma in (0.0, 0.5, 2.0):
            expected = _brute_ssd(_minmax(scores), emb, min(n, 6), gamma, window)
            assert R.ssd(scores, emb, min(n, 6), gamma, window).tolist() == expected


def test_ssd_batch_equals_per_user():
    rng = np.random.default_rng(2)
    scores = rng.normal(size=(4, 11))
    emb = rng.normal(size=(4, 11, 3))
    batch = R.ssd_batch(scores, emb, 7, gamma=0.8, window=3)
    assert batch.shape == (4, 7) and batch.dtype == np.int64
    for u in range(4):
        assert batch[u].tolist() == R.ssd(scores[u], emb[u], 7, gamma=0.8, window=3).tolist()


# ----------------------------------------------------------------- epsilon-greedy


def test_epsilon_greedy_zero_is_top_k():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(5, 12))
    out = R.epsilon_greedy_batch(scores, 6, epsilon=0.0, seed=3)
    assert out.tolist() == [_top_k(row, 6) for row in scores]
    assert R.epsilon_greedy(scores[0], 6, epsilon=0.0).tolist() == _top_k(scores[0], 6)


def test_epsilon_greedy_seeding():
    scores = np.linspace(0.0, 1.0, 50)
    a = R.epsilon_greedy(scores, 10, epsilon=1.0, seed=7)
    np.testing.assert_array_equal(a, R.epsilon_greedy(scores, 10, epsilon=1.0, seed=7))
    assert a.tolist() != R.epsilon_greedy(scores, 10, epsilon=1.0, seed=8).tolist()
    assert len(set(a.tolist())) == 10 and a.min() >= 0 and a.max() < 50
    gen = np.random.default_rng(7)
    np.testing.assert_array_equal(R.epsilon_greedy(scores, 10, epsilon=1.0, seed=gen), a)


def test_epsilon_greedy_slot_frequencies():
    # First slot: best item with prob (1 - eps) + eps / N = .5 + .5 / 4 = .625, each other
    # item .125. 20000 users: standard error ~.0035.
    scores = np.tile(np.array([0.1, 0.9, 0.3, 0.2]), (20000, 1))
    first = R.epsilon_greedy_batch(scores, 1, epsilon=0.5, seed=0)[:, 0]
    freq = np.bincount(first, minlength=4) / len(first)
    np.testing.assert_allclose(freq, [0.125, 0.625, 0.125, 0.125], atol=0.02)


# ----------------------------------------------------------------- properties


@st.composite
def _problems(draw):
    users = draw(st.integers(1, 3))
    n = draw(st.integers(1, 12))
    k = draw(st.integers(1, n))
    seed = draw(st.integers(0, 2**32 - 1))
    ties = draw(st.booleans())
    return users, n, k, seed, ties


@settings(max_examples=40, deadline=None)
@given(_problems())
def test_every_method_returns_k_distinct_valid_positions(problem):
    users, n, k, seed, ties = problem
    rng = np.random.default_rng(seed)
    # Integer-valued scores produce ties (and constant rows when n is small).
    scores = (
        rng.integers(0, 3, size=(users, n)).astype(float) if ties else rng.normal(size=(users, n))
    )
    n_items = 2 * n
    cand = np.stack([rng.permutation(n_items)[:n] for _ in range(users)])
    genres = rng.random((n_items, 4)) < 0.3  # some genre-less items; Jaccard need not be PSD
    emb = rng.normal(size=(n_items, 3)) * (rng.random((n_items, 1)) < 0.8)  # some zero rows
    jac = R.candidate_similarity(cand, item_genres=genres)
    cos = R.candidate_similarity(cand, item_embeddings=emb, metric="cosine")
    assert np.all(np.isfinite(jac)) and np.all(np.isfinite(cos))
    outs = [
        R.mmr_batch(scores, jac, k, lam=0.5),
        R.mmr_batch(scores, cos, k, lam=0.3, normalize=False),
        R.dpp_batch(scores, jac, k, theta=0.5),
        R.dpp_batch(scores, cos, k, theta=0.2),  # rank <= 3: exercises the fallback
        R.ssd_batch(scores, emb[cand], k, gamma=1.0, window=2),
        R.epsilon_greedy_batch(scores, k, epsilon=0.5, seed=seed),
    ]
    for out in outs:
        assert out.shape == (users, k) and out.dtype == np.int64
        assert out.min() >= 0 and out.max() < n
        for row in out:
            assert len(set(row.tolist())) == k


# ----------------------------------------------------------------- validation

S3 = np.array([0.3, 0.2, 0.1])
SIM3 = np.eye(3)
EMB3 = np.eye(3)

METHODS = {
    "mmr": lambda scores, k: R.mmr(scores, SIM3, k),
    "dpp": lambda scores, k: R.dpp(scores, SIM3, k),
    "ssd": lambda scores, k: R.ssd(scores, EMB3, k),
    "epsilon_greedy": lambda scores, k: R.epsilon_greedy(scores, k),
}


@pytest.mark.parametrize("name", METHODS)
def test_bad_scores_and_k(name):
    call = METHODS[name]
    with pytest.raises(ValueError, match="NaN or infinite"):
        call(np.array([0.3, np.nan, 0.1]), 2)
    with pytest.raises(ValueError, match="NaN or infinite"):
        call(np.array([0.3, np.inf, 0.1]), 2)
    with pytest.raises(ValueError, match="larger than the candidate set"):
        call(S3, 4)
    with pytest.raises(ValueError, match="at least 1"):
        call(S3, 0)
    with pytest.raises(TypeError, match="k must be an integer"):
        call(S3, 2.0)
    with pytest.raises(TypeError, match="k must be an integer"):
        call(S3, True)
    with pytest.raises(ValueError, match="_batch"):
        call(S3[None], 2)  # (1, N) passed to the single-user form
    with pytest.raises(TypeError, match="numeric"):
        call(np.array(["a", "b", "c"]), 2)
    assert call(S3, np.int64(2)).tolist() == [0, 1]  # numpy integers are fine


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"similarity must have shape \(3, 3\)"):
        R.mmr(S3, np.eye(4), 2)
    with pytest.raises(ValueError, match="similarity must have shape"):
        R.dpp(S3, np.eye(3)[None], 2)
    with pytest.raises(ValueError, match="similarity must have shape"):
        R.mmr_batch(np.tile(S3, (2, 1)), np.eye(3)[None], 2)
    with pytest.raises(ValueError, match=r"embeddings must have shape \(3, d\)"):
        R.ssd(S3, np.eye(4), 2)
    with pytest.raises(ValueError, match="embeddings must have shape"):
        R.ssd_batch(np.tile(S3, (2, 1)), np.eye(3), 2)
    with pytest.raises(ValueError, match="embeddings must have shape"):
        R.ssd(S3, np.zeros((3, 0)), 2)
    with pytest.raises(ValueError, match="scores must be 2-D"):
        R.mmr_batch(S3, SIM3, 2)
    with pytest.raises(ValueError, match="N = 0"):
        R.epsilon_greedy(np.array([]), 1)
    with pytest.raises(ValueError, match="similarity contains NaN"):
        R.mmr(S3, np.full((3, 3), np.nan), 2)
    with pytest.raises(ValueError, match="embeddings contain NaN"):
        R.ssd(S3, np.full((3, 2), np.inf), 2)
    with pytest.raises(ValueError, match="symmetric"):
        R.dpp(S3, np.triu(np.ones((3, 3))), 2)


def test_bad_trade_off_parameters():
    with pytest.raises(ValueError, match=r"lam must lie in \[0, 1\]"):
        R.mmr(S3, SIM3, 2, lam=1.5)
    with pytest.raises(ValueError, match="lam"):
        R.mmr(S3, SIM3, 2, lam=-0.1)
    with pytest.raises(ValueError, match=r"theta must lie in \[0, 1\)"):
        R.dpp(S3, SIM3, 2, theta=1.0)
    with pytest.raises(ValueError, match="theta"):
        R.dpp(S3, SIM3, 2, theta=float("nan"))
    with pytest.raises(ValueError, match="gamma"):
        R.ssd(S3, EMB3, 2, gamma=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        R.ssd(S3, EMB3, 2, gamma=float("inf"))
    with pytest.raises(ValueError, match="window"):
        R.ssd(S3, EMB3, 2, window=0)
    with pytest.raises(TypeError, match="window"):
        R.ssd(S3, EMB3, 2, window=2.5)
    with pytest.raises(ValueError, match="epsilon"):
        R.epsilon_greedy(S3, 2, epsilon=1.1)
    with pytest.raises(TypeError, match="lam"):
        R.mmr(S3, SIM3, 2, lam="0.5")
    with pytest.raises(TypeError, match="seed"):
        R.epsilon_greedy(S3, 2, seed=1.5)


def test_constant_scores_never_nan():
    # Min-max of a constant row is 0 everywhere: relevance carries no information, the
    # diversity term decides and nothing divides by zero.
    flat = np.ones(4)
    sim = np.array(
        [[1.0, 0.9, 0.0, 0.0], [0.9, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.5], [0.0, 0.0, 0.5, 1.0]]
    )
    # MMR: first 0 (tie -> lowest); then 2 and 3 tie at max-sim 0 -> 2; then 3 (.5 < .9).
    assert R.mmr(flat, sim, 4, lam=0.5).tolist() == [0, 2, 3, 1]
    assert sorted(R.dpp(flat, sim, 4).tolist()) == [0, 1, 2, 3]
    assert sorted(R.ssd(flat, np.eye(4), 4).tolist()) == [0, 1, 2, 3]

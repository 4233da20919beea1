"""Numba twins of the greedy re-rankers MMR, DPP and SSD (``recommenders.rerank``), for
the greedy seeds of every user along the parameter paths in one parallel pass.

``recommenders.rerank.mmr_batch``, ``dpp_batch`` and ``ssd_batch`` stay the reference:
they validate, document and define the formulas. The kernels here run the same greedy
steps user by user (``prange`` over users, per-user scratch), so a block of users never
holds ``(U, N, N)`` float64 similarities or ``(U, N, d)`` projections, and each user's
similarity is built once for all ``3 * len(grid)`` runs. MMR and the Jaccard similarity
are the numpy arithmetic operation for operation (bit-identical); DPP's inner products
(numpy's ``einsum``), its ``log`` and SSD's projections (numpy's ``matmul``) are summed in
another order, so their gains agree to rounding (~1e-15) and the selected positions are
the same unless two gains tie to the last bits (tested on random and Jaccard inputs).

``greedy_seeds_batch`` is what ``Context.greedy_seeds`` runs; ``greedy_batch`` takes
given similarities and embeddings (the reference functions' inputs) for the equality tests.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# The reference's thresholds (recommenders.rerank.determinantal.DPP_EPS, spectrum._GS_TOL).
from recommenders.rerank.determinantal import DPP_EPS
from recommenders.rerank.spectrum import _GS_TOL

# ----------------------------------------------------------------- per-user steps


@njit(cache=True)
def _first_max(values, taken):
    """Index of the first largest of ``values`` among positions not ``taken``."""
    best = -np.inf
    pick = -1
    for i in range(values.size):
        if not taken[i] and (pick < 0 or values[i] > best):
            best = values[i]
            pick = i
    return pick


@njit(cache=True)
def _mmr_user(r, sim, k, lam, out, taken, max_sim, gain):
    """``mmr_batch`` of one user (``r`` already min-max scaled) into ``out`` (k,)."""
    n = r.size
    taken[:] = False
    max_sim[:] = -np.inf
    pick = 0
    for i in range(1, n):  # argmax(r): the first pick ignores the similarity
        if r[i] > r[pick]:
            pick = i
    for t in range(k):
        if t > 0:
            for i in range(n):
                gain[i] = lam * r[i] - (1.0 - lam) * max_sim[i]
            pick = _first_max(gain, taken)
        out[t] = pick
        taken[pick] = True
        for i in range(n):
            if sim[i, pick] > max_sim[i]:
                max_sim[i] = sim[i, pick]


@njit(cache=True)
def _dpp_user(r, sim, k, theta, out, taken, c, d2, log_q2, log_d2):
    """``dpp_batch`` of one user (``r`` already scaled) into ``out`` (k,); ``c`` is
    (N, max(k - 1, 1)) scratch."""
    n = r.size
    a = theta / (1.0 - theta)
    for i in range(n):
        log_q2[i] = a * r[i]
        d2[i] = sim[i, i]
        log_d2[i] = math.log(d2[i]) if d2[i] > DPP_EPS else 0.0
        taken[i] = False
    exhausted = False
    for t in range(k):
        pick = -1
        best = -np.inf
        for i in range(n):
            if not taken[i] and d2[i] > DPP_EPS:
                g = log_d2[i] + log_q2[i]
                if pick < 0 or g > best:
                    best = g
                    pick = i
        if pick < 0:
            exhausted = True
        if exhausted:  # fill by relevance (the reference's fallback)
            pick = _first_max(r, taken)
        out[t] = pick
        taken[pick] = True
        if t == k - 1:
            break
        if exhausted:
            c[:, t] = 0.0
            continue
        d_j = math.sqrt(d2[pick])
        for i in range(n):
            dot = 0.0
            for s in range(t):
                dot += c[i, s] * c[pick, s]
            e = (sim[pick, i] - dot) / d_j
            c[i, t] = e
            if e != 0.0:  # log d2 only where it changed (e == 0 leaves d2 as it is)
                d2[i] = d2[i] - e * e
                log_d2[i] = math.log(d2[i]) if d2[i] > DPP_EPS else 0.0


@njit(cache=True)
def _ssd_runs(r, emb, same_as, k, gammas, window, out, taken, gain):
    """``ssd_batch`` of one user (``r`` already scaled) at every gamma, into ``out``
    (len(gammas), k); ``same_as[i]`` is a candidate ``<= i`` with the same embedding.

    Exact shortcuts, each leaving every floating-point operation that can change a sum:
    a residual depends only on the window, so a run whose window at step t equals the
    previous run's reuses that run's residuals; inner products skip the zero entries of
    an embedding (adding +0 or -0 to a sum started at +0 leaves it unchanged, and 1 * x
    is x); the projection touches only the window's support (the basis is +0 elsewhere);
    a candidate with the same embedding as an earlier one copies its residual.
    """
    n, d = emb.shape
    nz_cnt = np.zeros(n, dtype=np.int64)  # each row's nonzero features, in order
    nz_idx = np.empty((n, d), dtype=np.int64)
    for i in range(n):
        for f in range(d):
            if emb[i, f] != 0.0:
                nz_idx[i, nz_cnt[i]] = f
                nz_cnt[i] += 1
    cache = np.empty((k, n))  # residuals at each step of the previous run
    for i in range(n):
        acc = 0.0
        for f in range(d):
            acc += emb[i, f] * emb[i, f]
        cache[0, i] = math.sqrt(acc)
    basis = np.zeros((max(window, 1), d))
    v = np.empty(d)
    proj = np.zeros(d)
    in_support = np.zeros(d, dtype=np.bool_)
    support = np.empty(d, dtype=np.int64)
    for j in range(gammas.size):
        gamma = gammas[j]
        row_out = out[j]
        taken[:] = False
        for t in range(k):
            lo = max(0, t - window)
            same = j > 0
            for a in range(lo, t):
                if same and out[j - 1, a] != row_out[a]:
                    same = False
            if t > 0 and not same:
                _window_residuals(emb, same_as, row_out[lo:t], nz_cnt, nz_idx, basis, v,
                                  proj, in_support, support, cache[t])  # fmt: skip
            residual = cache[t]
            for i in range(n):
                gain[i] = r[i] + gamma * residual[i]
            pick = _first_max(gain, taken)
            row_out[t] = pick
            taken[pick] = True


@njit(cache=True)
def _window_residuals(emb, same_as, recent, nz_cnt, nz_idx, basis, v, proj, in_support, support,
                      residual):  # fmt: skip
    """|| v_i - (v_i B^T) B || for every candidate i, B the Gram-Schmidt basis of the
    window ``recent``, as ``ssd_batch`` computes it."""
    n, d = emb.shape
    m = recent.size
    # Modified Gram-Schmidt over the window, twice, dependent rows to zero.
    for a in range(m):
        row = recent[a]
        acc = 0.0
        for f in range(d):
            v[f] = emb[row, f]
            acc += v[f] * v[f]
        scale = math.sqrt(acc)
        for _ in range(2):
            for b in range(a):
                dot = 0.0
                for f in range(d):
                    dot += v[f] * basis[b, f]
                for f in range(d):
                    v[f] -= dot * basis[b, f]
        acc = 0.0
        for f in range(d):
            acc += v[f] * v[f]
        norm = math.sqrt(acc)
        keep = norm > _GS_TOL * scale
        for f in range(d):
            basis[a, f] = v[f] / norm if keep else 0.0
    in_support[:] = False
    proj[:] = 0.0  # only the support is written below
    for a in range(m):
        for c in range(nz_cnt[recent[a]]):
            in_support[nz_idx[recent[a], c]] = True
    n_sup = 0
    for f in range(d):
        if in_support[f]:
            support[n_sup] = f
            n_sup += 1
    for i in range(n):
        if same_as[i] != i:
            residual[i] = residual[same_as[i]]
            continue
        for c in range(n_sup):
            proj[support[c]] = 0.0
        for a in range(m):
            dot = 0.0
            for c in range(nz_cnt[i]):
                f = nz_idx[i, c]
                dot += emb[i, f] * basis[a, f]
            for c in range(n_sup):
                f = support[c]
                proj[f] += dot * basis[a, f]
        acc = 0.0
        for f in range(d):
            x = emb[i, f] - proj[f]
            acc += x * x
        residual[i] = math.sqrt(acc)


@njit(cache=True)
def _runs_of_user(r, sim, emb, same_as, k, lams, thetas, gammas, window, out):
    """Every MMR, DPP and SSD run of one user into ``out`` (runs, k), in that order."""
    n = r.size
    taken = np.zeros(n, dtype=np.bool_)
    a = np.empty(n)
    b = np.empty(n)
    c = np.zeros((n, max(k - 1, 1)))
    log_d2 = np.empty(n)
    j = 0
    for lam in lams:
        _mmr_user(r, sim, k, lam, out[j], taken, a, b)
        j += 1
    for theta in thetas:
        _dpp_user(r, sim, k, theta, out[j], taken, c, a, b, log_d2)
        j += 1
    _ssd_runs(r, emb, same_as, k, gammas, window, out[j:], taken, b)


# ----------------------------------------------------------------- batches


@njit(parallel=True, cache=True)
def _greedy_batch(r, sim, emb, k, lams, thetas, gammas, window):
    n_users = r.shape[0]
    out = np.empty((n_users, lams.size + thetas.size + gammas.size, k), dtype=np.int64)
    for u in prange(n_users):
        _runs_of_user(r[u], sim[u], emb[u], np.arange(r.shape[1]), k, lams, thetas, gammas,
                      window, out[u])  # fmt: skip
    return out


@njit(cache=True)
def _popcount(x):
    """Set bits of a uint64 (SWAR)."""
    m2 = np.uint64(0x3333333333333333)
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & m2) + ((x >> np.uint64(2)) & m2)
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(parallel=True, cache=True)
def _greedy_seeds(r, items, genres, k, grid, window):
    n_users, n = items.shape
    g = genres.shape[1]
    out = np.empty((n_users, 3 * grid.size, k), dtype=np.int64)
    for u in prange(n_users):
        emb = np.empty((n, g))
        masks = np.zeros(n, dtype=np.uint64)
        sizes = np.empty(n)
        same_as = np.arange(n)
        for i in range(n):
            for f in range(g):
                x = genres[items[u, i], f]
                emb[i, f] = 1.0 if x else 0.0
                if x:
                    masks[i] |= np.uint64(1) << np.uint64(f)
            sizes[i] = _popcount(masks[i])
            for j in range(i):  # the first candidate with the same genres
                if masks[j] == masks[i]:
                    same_as[i] = j
                    break
        # Jaccard similarity as candidate_similarity computes it (exact integer counts).
        sim = np.empty((n, n))
        for i in range(n):
            for j in range(i, n):
                inter = _popcount(masks[i] & masks[j])
                union = sizes[i] + sizes[j] - inter
                x = inter / union if union > 0 else 1.0
                if items[u, i] == items[u, j]:
                    x = 1.0
                sim[i, j] = x
                sim[j, i] = x
        _runs_of_user(r[u], sim, emb, same_as, k, grid, grid, grid, window, out[u])
    return out


def greedy_batch(
    scores: np.ndarray,
    similarity: np.ndarray,
    embeddings: np.ndarray,
    k: int,
    lams,
    thetas,
    gammas,
    window: int = 5,
    normalize: bool = True,
) -> np.ndarray:
    """MMR, DPP and SSD of every user at several parameter values in one parallel pass.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite scores.
    similarity : numpy.ndarray
        ``(U, N, N)`` finite similarities (symmetric, for DPP), as ``mmr_batch`` and
        ``dpp_batch`` take them.
    embeddings : numpy.ndarray
        ``(U, N, d)`` finite candidate vectors, as ``ssd_batch`` takes them.
    k : int
        List length, ``1 <= k <= N``.
    lams, thetas, gammas : sequence of float
        MMR's lambdas, DPP's thetas and SSD's gammas.
    window : int, default 5
        SSD's sliding window.
    normalize : bool, default True
        Min-max scale the scores first.

    Returns
    -------
    numpy.ndarray
        ``(U, len(lams) + len(thetas) + len(gammas), k)`` int64 positions: run ``j`` is
        ``mmr_batch(scores, similarity, k, lams[j], normalize)``, then ``dpp_batch`` along
        ``thetas``, then ``ssd_batch`` along ``gammas`` (equal positions, see the module).

    Raises
    ------
    TypeError, ValueError
        Input the reference functions refuse (they validate it: each runs on the first
        user, which is cheap).
    """
    from recommenders.rerank._checks import _minmax

    s = np.ascontiguousarray(scores, dtype=np.float64) if np.ndim(scores) == 2 else scores
    lams, thetas, gammas = (np.asarray(p, dtype=np.float64).ravel()
                            for p in (lams, thetas, gammas))  # fmt: skip
    _validate(s, similarity, embeddings, k, lams, thetas, gammas, window, normalize)
    r = _minmax(s) if normalize else s
    return _greedy_batch(r, np.ascontiguousarray(similarity, dtype=np.float64),
                         np.ascontiguousarray(embeddings, dtype=np.float64), int(k),
                         lams, thetas, gammas, int(window))  # fmt: skip


def greedy_seeds_batch(
    scores: np.ndarray, items: np.ndarray, genres: np.ndarray, k: int, grid, window: int = 5
) -> np.ndarray:
    """``Context.greedy_seeds``: MMR and DPP on the Jaccard similarity of the candidates'
    genres, SSD on their genre vectors, each at every value of ``grid``.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite scores (min-max scaled here, as the reference does).
    items : numpy.ndarray
        ``(U, N)`` int item ids of the candidates.
    genres : numpy.ndarray
        ``(n_items, G)`` bool (or 0/1) item genres.
    k : int
        List length, ``1 <= k <= N``.
    grid : sequence of float
        The parameter values (MMR lambda, DPP theta, SSD gamma).
    window : int, default 5
        SSD's sliding window.

    Returns
    -------
    numpy.ndarray
        ``(U, 3 * len(grid), k)`` int64 positions, MMR then DPP then SSD along ``grid``:
        ``mmr_batch(scores, candidate_similarity(items, item_genres=genres), k, p)`` etc.

    Raises
    ------
    TypeError, ValueError
        Input the reference functions refuse (checked on the first user).
    """
    from recommenders.rerank import candidate_similarity
    from recommenders.rerank._checks import _minmax

    s = np.asarray(scores)
    it = np.asarray(items)
    g = np.asarray(genres)
    grid = np.asarray(grid, dtype=np.float64).ravel()
    if s.ndim != 2 or it.shape != s.shape:
        raise ValueError(f"scores and items must both be (U, N), got {s.shape} and {it.shape}")
    if s.shape[0]:
        sim0 = candidate_similarity(it[:1], item_genres=g)  # validates items and genres
        _validate(s[:1], sim0, g[it[:1]].astype(np.float64), k, grid, grid, grid, window, True)
    g = g.astype(np.bool_)
    if g.shape[1] > 64:  # the kernel packs each item's genres into one 64-bit word
        return greedy_batch(s, candidate_similarity(it, item_genres=g),
                            g[it].astype(np.float64), k, grid, grid, grid, window)  # fmt: skip
    return _greedy_seeds(_minmax(s.astype(np.float64)), np.ascontiguousarray(it, np.int64),
                         np.ascontiguousarray(g), int(k), grid, int(window))  # fmt: skip


def _validate(s, sim, emb, k, lams, thetas, gammas, window, normalize) -> None:
    """Run the reference functions on the first user at each parameter's extremes: they
    raise the documented errors for bad input (shapes, values, k, parameters, window)."""
    from recommenders.rerank import dpp_batch, mmr_batch, ssd_batch
    from recommenders.rerank._checks import _check_scores

    s = _check_scores(s, 2)
    if np.shape(sim) != (s.shape[0], s.shape[1], s.shape[1]) or np.ndim(emb) != 3 \
            or np.shape(emb)[:2] != s.shape:
        raise ValueError(f"similarity must be (U, N, N) and embeddings (U, N, d) for scores "
                         f"{s.shape}, got {np.shape(sim)} and {np.shape(emb)}")  # fmt: skip
    sim, emb = np.asarray(sim), np.asarray(emb)
    for fn, params, data in ((mmr_batch, lams, sim), (dpp_batch, thetas, sim)):
        for p in params:
            fn(s[:1], data[:1], k, float(p), normalize)
    for p in gammas:
        ssd_batch(s[:1], emb[:1], k, float(p), window, normalize)
    if s.shape[0] > 1:  # the rest of the block: finite values, symmetric for DPP
        if not (np.isfinite(sim).all() and np.isfinite(emb).all()):
            raise ValueError("similarity and embeddings must be finite")
        if thetas.size and not np.allclose(sim, sim.transpose(0, 2, 1), rtol=0.0, atol=1e-8):
            raise ValueError("similarity must be symmetric for a DPP kernel; symmetrise it "
                             "with (S + S^T) / 2")  # fmt: skip

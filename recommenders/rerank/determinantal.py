"""Determinantal point process (DPP) re-ranking: greedy MAP inference by incremental
Cholesky updates of a quality-weighted similarity kernel.
"""

from __future__ import annotations

import numpy as np

from ._checks import _check_k, _check_param, _check_scores, _check_similarity, _minmax, _one_user

# The Examples call candidate_similarity to build their similarity matrices.
from .similarity import candidate_similarity  # noqa: F401

# Marginal DPP gains (squared Cholesky pivots of a unit-diagonal similarity) at or below
# this are treated as zero: the item lies in the span of those already selected.
DPP_EPS = 1e-10



# ----------------------------------------------------------------- DPP


def dpp_batch(
    scores: np.ndarray,
    similarity: np.ndarray,
    k: int,
    theta: float = 0.7,
    normalize: bool = True,
) -> np.ndarray:
    """Fast greedy DPP MAP re-ranking for a batch of users; see ``dpp``.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite scores.
    similarity : numpy.ndarray
        ``(U, N, N)`` finite and symmetric.
    k, theta, normalize : int, float, bool
        As for ``dpp``.

    Returns
    -------
    numpy.ndarray
        ``(U, k)`` int64 candidate positions in selection order.
    """
    s = _check_scores(scores, 2)
    n_users, n = s.shape
    sim = _check_similarity(similarity, (n_users, n, n))
    if not np.allclose(sim, sim.transpose(0, 2, 1), rtol=0.0, atol=1e-8):
        raise ValueError(
            "similarity must be symmetric for a DPP kernel; symmetrise it with (S + S^T) / 2"
        )
    k = _check_k(k, n)
    theta = _check_param(theta, "theta", 0.0, 1.0, high_open=True)
    r = _minmax(s) if normalize else s
    # log q_i^2 = 2 * alpha * r_i = theta / (1 - theta) * r_i.
    log_q2 = (theta / (1.0 - theta)) * r

    rows = np.arange(n_users)
    out = np.empty((n_users, k), dtype=np.int64)
    taken = np.zeros((n_users, n), dtype=bool)
    # c[u, i, :t] is row i of the Cholesky factor of S restricted to the selected items
    # and i; d2[u, i] the squared pivot, i.e. det(S_{Y+i}) / det(S_Y).
    c = np.zeros((n_users, n, max(k - 1, 1)))
    d2 = np.einsum("uii->ui", sim).copy()
    exhausted = np.zeros(n_users, dtype=bool)
    for t in range(k):
        alive = (d2 > DPP_EPS) & ~taken
        gain = np.where(alive, np.log(np.maximum(d2, DPP_EPS)) + log_q2, -np.inf)
        pick = np.argmax(gain, axis=1)
        # No remaining item has a positive marginal gain (S is rank-deficient on the
        # candidates, or not PSD as Jaccard matrices may be): the paper stops here, but
        # callers need exactly k items, so the rest are filled by relevance. For PSD S gains
        # never grow as Y grows, and for non-PSD S the recursion means nothing past this
        # point, so once a user is exhausted it stays exhausted (and its factor is frozen).
        exhausted |= ~alive.any(axis=1)
        by_relevance = np.argmax(np.where(taken, -np.inf, r), axis=1)
        pick = np.where(exhausted, by_relevance, pick)
        out[:, t] = pick
        taken[rows, pick] = True
        if t == k - 1:
            break
        # Incremental Cholesky step of Chen et al. (2018), Algorithm 1, run on S:
        # e_i = (S_ji - <c_j, c_i>) / d_j,  c_i <- [c_i, e_i],  d_i^2 <- d_i^2 - e_i^2.
        c_j = c[rows, pick, :t]  # (U, t)
        d_j = np.sqrt(np.where(exhausted, 1.0, d2[rows, pick]))
        e = (sim[rows, pick, :] - np.einsum("uit,ut->ui", c[:, :, :t], c_j)) / d_j[:, None]
        e[exhausted] = 0.0
        c[:, :, t] = e
        d2 = d2 - e * e
    return out


def dpp(
    scores: np.ndarray,
    similarity: np.ndarray,
    k: int,
    theta: float = 0.7,
    normalize: bool = True,
) -> np.ndarray:
    """Greedy MAP inference of a DPP for one user, with incremental Cholesky updates.

    Chen, Zhang & Zhou, "Fast Greedy MAP Inference for Determinantal Point Process to
    Improve Recommendation Diversity", NeurIPS 2018, Algorithm 1. The kernel is

        L = Diag(q) S Diag(q),   q_i = exp(alpha * r_i),   alpha = theta / (2 (1 - theta))

    (section 4.1), with ``S = similarity`` (symmetric, ideally PSD with unit diagonal) and
    ``r`` the scores (min-max scaled to [0, 1] when ``normalize``). Each step adds the item
    maximising log det(L_{Y+i}), i.e. log d_i^2 of the incremental Cholesky factor, which
    is equivalent to maximising

        theta * sum_{i in Y} r_i + (1 - theta) * log det(S_Y),

    so ``theta = 0`` is pure diversity and ``theta -> 1`` the base ranking. Cost is
    O(N k^2) per user; no determinant is ever recomputed. Because
    log det(L_Y) = sum_{i in Y} log q_i^2 + log det(S_Y), the Cholesky recursion runs on S
    and adds 2 alpha r_i to the log-gain, which is exactly the paper's rule without
    overflowing exp(alpha r) for theta near 1.

    Fallback: an item whose marginal gain d_i^2 (a squared Cholesky pivot of S) is at most
    ``DPP_EPS`` adds no volume: it lies in the span of the selected items, or S is not PSD
    (Jaccard similarity need not be). Such items are skipped while any item with a positive
    gain remains. The paper stops when none remains; here the remaining slots are filled
    with the unselected items of highest ``r`` instead, so exactly ``k`` positions are
    always returned. The threshold applies to the pivots of S, not of L, so it does not
    depend on ``theta``.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(N,)`` finite relevance of the candidates.
    similarity : numpy.ndarray
        ``(N, N)`` finite, symmetric (within 1e-8).
    k : int
        List length, ``1 <= k <= N``.
    theta : float, default 0.7
        Relevance weight in [0, 1).
    normalize : bool, default True
        Min-max scale the scores to [0, 1] first.

    Returns
    -------
    numpy.ndarray
        ``(k,)`` int64 candidate positions in selection order.

    Raises
    ------
    TypeError
        Non-numeric arrays, or ``k``/``theta`` of the wrong type.
    ValueError
        Bad shapes, non-finite values, an asymmetric ``similarity``, ``k`` or ``theta``
        out of range.

    Examples
    --------
    >>> g = np.array([[1, 0], [1, 0], [0, 1]], dtype=bool)
    >>> dpp(np.array([1.0, 0.9, 0.5]), candidate_similarity(np.arange(3), item_genres=g), 2)
    array([0, 2])
    """
    s = _check_scores(scores, 1, "dpp_batch")
    return dpp_batch(
        s[None],
        _one_user(similarity, "similarity", (s.size, s.size), "dpp_batch"),
        k,
        theta,
        normalize,
    )[0]

"""Sliding spectrum decomposition (SSD): greedy selection of the candidate whose relevance
plus ``gamma`` times its embedding's distance from the span of the last ``window``
selected items is largest.
"""

from __future__ import annotations

import numpy as np

from ._checks import (
    _check_embeddings,
    _check_k,
    _check_param,
    _check_scores,
    _check_window,
    _minmax,
    _one_user,
)

# A Gram-Schmidt residual shorter than this fraction of the vector's own norm counts as
# linearly dependent on the window (rounding leaves ~1e-16, never exactly zero).
_GS_TOL = 1e-10



# ----------------------------------------------------------------- SSD


def _orthonormal_rows(w: np.ndarray) -> np.ndarray:
    """Modified Gram-Schmidt over the rows of each ``(U, m, d)`` block.

    Rows that are (numerically) dependent on the earlier rows become zero, so projecting
    onto the result is projecting onto the span of the window.
    """
    q = np.zeros_like(w)
    for a in range(w.shape[1]):
        v = w[:, a, :].copy()
        scale = np.linalg.norm(v, axis=1)
        # Two passes ("twice is enough") keep the basis orthogonal for near-duplicates.
        for _ in range(2):
            for b in range(a):
                v -= np.sum(v * q[:, b, :], axis=1, keepdims=True) * q[:, b, :]
        norm = np.linalg.norm(v, axis=1)
        keep = norm > _GS_TOL * scale
        q[:, a, :] = np.divide(v, norm[:, None], out=np.zeros_like(v), where=keep[:, None])
    return q


def ssd_batch(
    scores: np.ndarray,
    embeddings: np.ndarray,
    k: int,
    gamma: float = 0.7,
    window: int = 5,
    normalize: bool = True,
) -> np.ndarray:
    """Sliding Spectrum Decomposition re-ranking for a batch of users; see ``ssd``.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite scores.
    embeddings : numpy.ndarray
        ``(U, N, d)`` finite candidate vectors.
    k, gamma, window, normalize : int, float, int, bool
        As for ``ssd``.

    Returns
    -------
    numpy.ndarray
        ``(U, k)`` int64 candidate positions in selection order.
    """
    s = _check_scores(scores, 2)
    n_users, n = s.shape
    emb = _check_embeddings(embeddings, (n_users, n))
    k = _check_k(k, n)
    gamma = _check_param(gamma, "gamma", 0.0, None)
    window = _check_window(window)
    r = _minmax(s) if normalize else s

    rows = np.arange(n_users)
    out = np.empty((n_users, k), dtype=np.int64)
    taken = np.zeros((n_users, n), dtype=bool)
    for t in range(k):
        if t == 0:
            residual = np.linalg.norm(emb, axis=2)
        else:
            recent = out[:, max(0, t - window) : t]  # (U, m), the sliding window
            basis = _orthonormal_rows(emb[rows[:, None], recent])  # (U, m, d)
            # Subtracting the projection (rather than ||v||^2 - ||Pv||^2) keeps an exact
            # duplicate of a window item at a residual of ~1e-16, not ~1e-8.
            proj = (emb @ basis.transpose(0, 2, 1)) @ basis
            residual = np.linalg.norm(emb - proj, axis=2)
        gain = np.where(taken, -np.inf, r + gamma * residual)
        pick = np.argmax(gain, axis=1)
        out[:, t] = pick
        taken[rows, pick] = True
    return out


def ssd(
    scores: np.ndarray,
    embeddings: np.ndarray,
    k: int,
    gamma: float = 0.7,
    window: int = 5,
    normalize: bool = True,
) -> np.ndarray:
    """Sliding Spectrum Decomposition re-ranking of one user's candidates.

    Huang et al., "Sliding Spectrum Decomposition for Diversified Recommendation",
    KDD 2021. Greedy: with W the last ``window`` selected items (fewer at the start), each
    step picks

        argmax_{i not selected}  r_i + gamma * || v_i - P_W v_i ||

    where P_W projects onto span{v_j : j in W}, computed by Gram-Schmidt over the window;
    the residual norm is the volume that v_i adds to the window's parallelepiped. The first
    pick (empty window) is argmax r_i + gamma * ||v_i||. Items leaving the window stop
    penalising their look-alikes, so a feed only has to stay diverse locally. ``gamma = 0``
    is the base ranking.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(N,)`` finite relevance of the candidates.
    embeddings : numpy.ndarray
        ``(N, d)`` finite candidate vectors, used as given: L2-normalise them first if only
        their direction should count.
    k : int
        List length, ``1 <= k <= N``.
    gamma : float, default 0.7
        Diversity weight, ``>= 0``.
    window : int, default 5
        Selected items kept in the sliding window, ``>= 1``.
    normalize : bool, default True
        Min-max scale the scores to [0, 1] first.

    Returns
    -------
    numpy.ndarray
        ``(k,)`` int64 candidate positions in selection order.

    Raises
    ------
    TypeError
        Non-numeric arrays, or ``k``/``gamma``/``window`` of the wrong type.
    ValueError
        Bad shapes, non-finite values, or ``k``, ``gamma``, ``window`` out of range.
    """
    s = _check_scores(scores, 1, "ssd_batch")
    return ssd_batch(
        s[None],
        _one_user(embeddings, "embeddings", (s.size,), "ssd_batch"),
        k,
        gamma,
        window,
        normalize,
    )[0]

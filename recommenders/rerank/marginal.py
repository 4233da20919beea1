"""Maximal marginal relevance (MMR): greedy selection of the candidate with the best
``lam * relevance - (1 - lam) * max similarity to those already selected``.
"""

from __future__ import annotations

import numpy as np

from ._checks import _check_k, _check_param, _check_scores, _check_similarity, _minmax, _one_user

# The Examples call candidate_similarity to build their similarity matrices.
from .similarity import candidate_similarity  # noqa: F401

# ----------------------------------------------------------------- MMR


def mmr_batch(
    scores: np.ndarray,
    similarity: np.ndarray,
    k: int,
    lam: float = 0.7,
    normalize: bool = True,
) -> np.ndarray:
    """Maximal Marginal Relevance for a batch of users; see ``mmr``.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite scores.
    similarity : numpy.ndarray
        ``(U, N, N)`` finite similarities.
    k, lam, normalize : int, float, bool
        As for ``mmr``.

    Returns
    -------
    numpy.ndarray
        ``(U, k)`` int64 candidate positions in selection order.
    """
    s = _check_scores(scores, 2)
    n_users, n = s.shape
    sim = _check_similarity(similarity, (n_users, n, n))
    k = _check_k(k, n)
    lam = _check_param(lam, "lam", 0.0, 1.0)
    if normalize:
        s = _minmax(s)

    rows = np.arange(n_users)
    out = np.empty((n_users, k), dtype=np.int64)
    taken = np.zeros((n_users, n), dtype=bool)
    # The first pick is the most relevant item: with S empty the max-similarity term is
    # undefined, and treating it as 0 would make lam=0 pick position 0 regardless of score.
    pick = np.argmax(s, axis=1)
    # -inf, not 0: similarities may be negative (cosine) and max over S must see them.
    max_sim = np.full((n_users, n), -np.inf)
    for t in range(k):
        if t > 0:
            gain = lam * s - (1.0 - lam) * max_sim
            pick = np.argmax(np.where(taken, -np.inf, gain), axis=1)
        out[:, t] = pick
        taken[rows, pick] = True
        # sim[u, i, j] with i a remaining candidate and j the item just selected.
        max_sim = np.maximum(max_sim, sim[rows, :, pick])
    return out


def mmr(
    scores: np.ndarray,
    similarity: np.ndarray,
    k: int,
    lam: float = 0.7,
    normalize: bool = True,
) -> np.ndarray:
    """Maximal Marginal Relevance re-ranking of one user's candidates.

    Carbonell & Goldstein, "The Use of MMR, Diversity-Based Reranking for Reordering
    Documents and Producing Summaries", SIGIR 1998. Greedy: the first pick is
    argmax_i s_i; every later pick is

        argmax_{i not in S}  lam * s_i - (1 - lam) * max_{j in S} sim(i, j)

    where S holds the items selected so far. ``lam = 1`` is the base ranking's top-k,
    ``lam = 0`` pure dissimilarity to the selected items.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(N,)`` finite relevance of the candidates.
    similarity : numpy.ndarray
        ``(N, N)``, ``similarity[i, j]`` the similarity of candidate ``i`` to the selected
        candidate ``j`` (e.g. from ``candidate_similarity``).
    k : int
        List length, ``1 <= k <= N``.
    lam : float, default 0.7
        Relevance weight in [0, 1].
    normalize : bool, default True
        Min-max scale the scores to [0, 1] first (module docstring).

    Returns
    -------
    numpy.ndarray
        ``(k,)`` int64 candidate positions in selection order.

    Raises
    ------
    TypeError
        Non-numeric arrays, or ``k``/``lam`` of the wrong type.
    ValueError
        Shapes that do not match, non-finite values, ``k`` or ``lam`` out of range.

    Examples
    --------
    Candidates 0 and 1 share their genre: at ``lam=0.5`` the second pick is 2
    (gain 0.5 * 0 - 0.5 * 0 = 0 against 0.5 * 0.8 - 0.5 * 1 = -0.1 for candidate 1):

    >>> g = np.array([[1, 0], [1, 0], [0, 1]], dtype=bool)
    >>> sim = candidate_similarity(np.array([0, 1, 2]), item_genres=g)
    >>> s = np.array([1.0, 0.9, 0.5])
    >>> mmr(s, sim, k=2, lam=0.5), mmr(s, sim, k=2, lam=1.0)
    (array([0, 2]), array([0, 1]))
    """
    s = _check_scores(scores, 1, "mmr_batch")
    return mmr_batch(
        s[None],
        _one_user(similarity, "similarity", (s.size, s.size), "mmr_batch"),
        k,
        lam,
        normalize,
    )[0]

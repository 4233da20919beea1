"""Accuracy metrics: hit matrices, HR, Precision, Recall, NDCG and MRR at a cut-off ``k``.

The per-user functions take a ``(U, L)`` hit array and return ``(U,)`` float64 arrays;
``hit_matrix`` and ``rank_candidates`` build that hit array from ranked lists or from
candidate scores.
"""

from __future__ import annotations

import numpy as np

from ._checks import _check_hits, _check_k, _check_lists, _check_n_relevant

# ----------------------------------------------------------------- relevance helpers


def hit_matrix(
    lists: np.ndarray,
    users: np.ndarray,
    truth_users: np.ndarray,
    truth_items: np.ndarray,
    n_items: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Mark which listed items are relevant.

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids; ``lists[r]`` is the list of user ``users[r]``.
    users : numpy.ndarray
        ``(U,)`` int user index of each row.
    truth_users, truth_items : numpy.ndarray
        Equal-shaped int arrays; ``(truth_users[j], truth_items[j])`` are the relevant
        pairs (duplicates count once).
    n_items : int
        Catalogue size; every listed item must lie in ``[0, n_items)``.

    Returns
    -------
    hit : numpy.ndarray
        ``(U, K)`` bool, true where the listed item is relevant to the row's user.
    n_relevant : numpy.ndarray
        ``(U,)`` int, the number of relevant items of each row's user (may be 0).

    Raises
    ------
    ValueError
        Bad ``lists``, ``users`` not of shape ``(U,)``, or truth arrays of unequal shape.

    Examples
    --------
    >>> hit, n_rel = hit_matrix(np.array([[2, 0], [1, 3]]), np.array([0, 1]),
    ...                         np.array([0, 1, 1]), np.array([0, 2, 3]), n_items=4)
    >>> hit.tolist(), n_rel.tolist()
    ([[False, True], [False, True]], [1, 2])
    """
    lists = _check_lists(lists, n_items)
    users = np.asarray(users, dtype=np.int64)
    if users.shape != (lists.shape[0],):
        raise ValueError(f"users must have shape ({lists.shape[0]},), got {users.shape}")
    truth_users = np.asarray(truth_users, dtype=np.int64)
    truth_items = np.asarray(truth_items, dtype=np.int64)
    if truth_users.shape != truth_items.shape:
        raise ValueError("truth_users and truth_items must have the same shape")
    truth_keys = np.unique(truth_users * np.int64(n_items) + truth_items)
    hit = np.isin(users[:, None] * np.int64(n_items) + lists, truth_keys)
    counts = np.bincount(truth_keys // n_items, minlength=int(users.max(initial=-1)) + 1)
    return hit, counts[users]


def rank_candidates(scores: np.ndarray, positive_column: int = 0) -> np.ndarray:
    """Hit matrix of candidate sets ranked by score, ties broken against the positive.

    The positive's rank counts every other candidate scored higher *or equal* (a
    pessimistic tie rule, so a constant scorer earns no credit).

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, C)`` finite scores, ``C >= 2``.
    positive_column : int, default 0
        The column holding each row's positive candidate.

    Returns
    -------
    numpy.ndarray
        ``(U, C)`` bool hit matrix with exactly one true per row, at the positive's rank.

    Raises
    ------
    ValueError
        ``scores`` not 2-D with at least 2 columns, or not finite.

    Examples
    --------
    >>> rank_candidates(np.array([[0.5, 0.9, 0.1], [0.7, 0.7, 0.2]])).astype(int)
    array([[0, 1, 0],
           [0, 1, 0]])
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(
            f"scores must be (users, candidates) with >= 2 columns, got {scores.shape}"
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or infinite values")
    pos = scores[:, positive_column : positive_column + 1]
    others = np.delete(scores, positive_column, axis=1)
    rank = np.sum(others >= pos, axis=1)
    hit = np.zeros(scores.shape, dtype=bool)
    hit[np.arange(scores.shape[0]), rank] = True
    return hit


# ----------------------------------------------------------------- accuracy


def hit_rate(hit: np.ndarray, k: int) -> np.ndarray:
    """HR@k: ``1`` if any of the first ``k`` positions is relevant, else ``0``.

    Parameters
    ----------
    hit : numpy.ndarray
        ``(U, L)`` bool (or 0/1) hit matrix.
    k : int
        Cut-off, ``1 <= k <= L``.

    Returns
    -------
    numpy.ndarray
        ``(U,)`` float64 of 0.0 and 1.0.

    Examples
    --------
    >>> hit_rate(np.array([[0, 1, 0], [0, 0, 1]]), k=2)
    array([1., 0.])
    """
    hit = _check_hits(hit)
    k = _check_k(k, hit.shape[1], "hit")
    return hit[:, :k].any(axis=1).astype(np.float64)


def precision(hit: np.ndarray, k: int) -> np.ndarray:
    """Precision@k = (relevant items among the first k) / k.

    Parameters
    ----------
    hit : numpy.ndarray
        ``(U, L)`` bool (or 0/1) hit matrix.
    k : int
        Cut-off, ``1 <= k <= L``.

    Returns
    -------
    numpy.ndarray
        ``(U,)`` float64 in ``[0, 1]``.

    Examples
    --------
    >>> precision(np.array([[1, 1, 0, 1]]), k=4)
    array([0.75])
    """
    hit = _check_hits(hit)
    k = _check_k(k, hit.shape[1], "hit")
    return hit[:, :k].sum(axis=1) / k


def recall(hit: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Recall@k = (relevant items among the first k) / (number of relevant items).

    Parameters
    ----------
    hit : numpy.ndarray
        ``(U, L)`` bool (or 0/1) hit matrix.
    n_relevant : numpy.ndarray
        ``(U,)`` number of relevant items of each user, each ``>= 1``.
    k : int
        Cut-off, ``1 <= k <= L``.

    Returns
    -------
    numpy.ndarray
        ``(U,)`` float64 in ``[0, 1]``.

    Examples
    --------
    >>> recall(np.array([[1, 0, 1], [0, 0, 0]]), np.array([4, 1]), k=3)
    array([0.5, 0. ])
    """
    hit = _check_hits(hit)
    k = _check_k(k, hit.shape[1], "hit")
    return hit[:, :k].sum(axis=1) / _check_n_relevant(n_relevant, hit.shape[0])


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(k) + 2.0)


def ndcg(hit: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """NDCG@k with binary gains.

    DCG@k = sum_{p=0}^{k-1} hit_p / log2(p + 2); the ideal DCG puts all
    ``min(n_relevant, k)`` relevant items first: IDCG@k = sum_{p<min(n_rel,k)} 1/log2(p + 2).

    Parameters
    ----------
    hit : numpy.ndarray
        ``(U, L)`` bool (or 0/1) hit matrix.
    n_relevant : numpy.ndarray
        ``(U,)`` number of relevant items of each user, each ``>= 1``.
    k : int
        Cut-off, ``1 <= k <= L``.

    Returns
    -------
    numpy.ndarray
        ``(U,)`` float64 in ``[0, 1]``.

    Examples
    --------
    One relevant item at position 2 scores 1 / log2(3); two relevant items, one found
    first, score 1 / (1 + 1 / log2(3)):

    >>> ndcg(np.array([[0, 1, 0], [1, 0, 0]]), np.array([1, 2]), k=3)
    array([0.6309, 0.6131])
    """
    hit = _check_hits(hit)
    k = _check_k(k, hit.shape[1], "hit")
    n_rel = _check_n_relevant(n_relevant, hit.shape[0])
    disc = _discounts(k)
    dcg = hit[:, :k] @ disc
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[np.minimum(n_rel, k).astype(np.int64)]
    return dcg / ideal


def mrr(hit: np.ndarray, k: int) -> np.ndarray:
    """MRR@k: 1 / (1-based position of the first relevant item) if within k, else 0.

    Parameters
    ----------
    hit : numpy.ndarray
        ``(U, L)`` bool (or 0/1) hit matrix.
    k : int
        Cut-off, ``1 <= k <= L``.

    Returns
    -------
    numpy.ndarray
        ``(U,)`` float64 in ``[0, 1]``.

    Examples
    --------
    >>> mrr(np.array([[0, 0, 1, 1], [0, 0, 0, 1]]), k=3)
    array([0.3333, 0.    ])
    """
    hit = _check_hits(hit)
    k = _check_k(k, hit.shape[1], "hit")
    top = hit[:, :k]
    first = np.argmax(top, axis=1)
    return np.where(top.any(axis=1), 1.0 / (first + 1.0), 0.0)

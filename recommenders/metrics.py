"""Ranking metrics, vectorised over users.

Conventions
-----------
* A *list* array is ``(U, K)`` int item ids, row ``r`` being one user's ranked list.
* A *hit* array is ``(U, L)`` bool, ``hit[r, p]`` true when position ``p`` (0-based) of
  row ``r`` is relevant; ``n_relevant`` is ``(U,)``, the number of relevant items of
  each user (the denominator of recall and of the ideal DCG).
* Per-user functions return ``(U,)`` float64 arrays; average them (or use
  ``accuracy_report``) for a table. Catalogue-level functions return a float.

Every function validates its input and raises ``ValueError`` rather than returning NaN:
a ``hit`` array that is not 2-D 0/1, ``k`` outside ``[1, L]``, ``n_relevant`` of the wrong
shape or below 1, ``lists`` that are not 2-D or name items outside the catalogue (a
non-integer ``lists`` dtype is a ``TypeError``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

# ----------------------------------------------------------------- input validation


def _check_k(k: int, width: int, what: str = "lists") -> int:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k > width:
        raise ValueError(f"k={k} exceeds the {what} length {width}; compute longer lists")
    return int(k)


def _check_hits(hit: np.ndarray) -> np.ndarray:
    hit = np.asarray(hit)
    if hit.ndim != 2:
        raise ValueError(f"hit must be a 2-D (users, positions) array, got shape {hit.shape}")
    if hit.dtype != bool:
        if not np.all((hit == 0) | (hit == 1)):
            raise ValueError("hit must hold booleans (or 0/1)")
        hit = hit.astype(bool)
    return hit


def _check_n_relevant(n_relevant, n_rows: int) -> np.ndarray:
    n_rel = np.asarray(n_relevant)
    if n_rel.shape != (n_rows,):
        raise ValueError(f"n_relevant must have shape ({n_rows},), got {n_rel.shape}")
    if np.any(n_rel < 1):
        raise ValueError(
            "every user needs at least one relevant item (n_relevant >= 1); "
            "drop users without test interactions before evaluating"
        )
    return n_rel.astype(np.float64)


def _check_lists(lists: np.ndarray, n_items: int) -> np.ndarray:
    lists = np.asarray(lists)
    if lists.ndim != 2:
        raise ValueError(f"lists must be a 2-D (users, K) array of item ids, got {lists.shape}")
    if lists.size and not np.issubdtype(lists.dtype, np.integer):
        raise TypeError(f"lists must hold integer item ids, got dtype {lists.dtype}")
    if lists.shape[1] == 0:
        raise ValueError("lists are empty (K = 0)")
    if lists.size and (lists.min() < 0 or lists.max() >= n_items):
        raise ValueError(
            f"lists hold item ids outside [0, {n_items}); pass catalogue arrays "
            "that cover every listed item"
        )
    return lists.astype(np.int64, copy=False)


def _check_popularity(popularity) -> np.ndarray:
    pop = np.asarray(popularity, dtype=np.float64)
    if pop.ndim != 1:
        raise ValueError(f"popularity must be 1-D (n_items,), got shape {pop.shape}")
    if not np.all(np.isfinite(pop)) or np.any(pop < 0):
        raise ValueError("popularity must be finite and non-negative")
    return pop


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


# ----------------------------------------------------------------- beyond accuracy


def category_coverage(lists: np.ndarray, item_genres: np.ndarray) -> np.ndarray:
    """Div@K: distinct genres covered by the list / number of genres (PreferRec eq. 4).

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids in ``[0, n_items)``.
    item_genres : numpy.ndarray
        ``(n_items, n_genres)`` bool genre membership, ``n_genres >= 1``.

    Returns
    -------
    numpy.ndarray
        ``(U,)`` float64 in ``[0, 1]``.

    Examples
    --------
    >>> g = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)
    >>> category_coverage(np.array([[0, 1], [1, 2]]), g)
    array([0.6667, 1.    ])
    """
    genres = np.asarray(item_genres, dtype=bool)
    if genres.ndim != 2 or genres.shape[1] == 0:
        raise ValueError("item_genres must be a (n_items, n_genres) array with n_genres >= 1")
    lists = _check_lists(lists, genres.shape[0])
    return genres[lists].any(axis=1).sum(axis=1) / genres.shape[1]


def _pairwise_mean(dist: np.ndarray) -> np.ndarray:
    """Mean over i < j of a (U, K, K) distance tensor; lists of one item score 0."""
    k = dist.shape[1]
    if k < 2:
        return np.zeros(dist.shape[0])
    iu = np.triu_indices(k, 1)
    return dist[:, iu[0], iu[1]].mean(axis=1)


def ild(lists: np.ndarray, item_genres: np.ndarray) -> np.ndarray:
    """Intra-list distance with genre Jaccard distance.

    ILD = 2 / (K (K-1)) * sum_{i<j} (1 - |G_i & G_j| / |G_i | G_j|); two items without any
    genre are at distance 0. A list of one item has ILD 0.

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids in ``[0, n_items)``.
    item_genres : numpy.ndarray
        ``(n_items, n_genres)`` bool genre membership.

    Returns
    -------
    numpy.ndarray
        ``(U,)`` float64 in ``[0, 1]``.

    Examples
    --------
    Items 0 and 1 share one of two genres (distance 0.5), item 2 shares none (1 and 1):

    >>> g = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)
    >>> ild(np.array([[0, 1, 2]]), g)
    array([0.8333])
    """
    genres = np.asarray(item_genres, dtype=bool)
    if genres.ndim != 2:
        raise ValueError("item_genres must be a (n_items, n_genres) array")
    lists = _check_lists(lists, genres.shape[0])
    g = genres[lists].astype(np.float64)  # (U, K, G)
    inter = g @ g.transpose(0, 2, 1)
    sizes = g.sum(axis=2)
    union = sizes[:, :, None] + sizes[:, None, :] - inter
    sim = np.divide(inter, union, out=np.ones_like(inter), where=union > 0)
    return _pairwise_mean(1.0 - sim)


def ild_embedding(lists: np.ndarray, item_embeddings: np.ndarray) -> np.ndarray:
    """Intra-list distance with cosine distance of item embeddings (e.g. text embeddings).

    ILD = mean over i < j of (1 - cos(e_i, e_j)); zero vectors count as distance 1 to all.

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids in ``[0, n_items)``.
    item_embeddings : numpy.ndarray
        ``(n_items, dim)`` finite item vectors.

    Returns
    -------
    numpy.ndarray
        ``(U,)`` float64 in ``[0, 2]``.
    """
    emb = np.asarray(item_embeddings, dtype=np.float64)
    if emb.ndim != 2:
        raise ValueError("item_embeddings must be a (n_items, dim) array")
    if not np.all(np.isfinite(emb)):
        raise ValueError("item_embeddings contain NaN or infinite values")
    lists = _check_lists(lists, emb.shape[0])
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    unit = np.divide(emb, norms, out=np.zeros_like(emb), where=norms > 0)
    e = unit[lists]
    return _pairwise_mean(1.0 - e @ e.transpose(0, 2, 1))


def novelty(lists: np.ndarray, popularity: np.ndarray, normalize: bool = False) -> np.ndarray:
    """Mean self-information of the listed items.

    Nov = (1/K) sum_i -log2(max(pop_i, 1) / P), with P = sum of all popularities; an item
    never interacted with counts as seen once.

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids in ``[0, n_items)``.
    popularity : numpy.ndarray
        ``(n_items,)`` finite non-negative interaction counts, summing to more than 1.
    normalize : bool, default False
        Divide by the maximum log2(P), so the value lies in [0, 1] (1 = only items seen once).

    Returns
    -------
    numpy.ndarray
        ``(U,)`` float64, in bits (or in [0, 1] when normalised).

    Raises
    ------
    ValueError
        ``popularity`` not 1-D, negative, non-finite or summing to at most 1; bad ``lists``.

    Examples
    --------
    >>> pop = np.array([4.0, 2.0, 1.0, 1.0])  # P = 8
    >>> novelty(np.array([[0, 2], [1, 3]]), pop)
    array([2. , 2.5])
    >>> novelty(np.array([[2, 3]]), pop, normalize=True)
    array([1.])
    """
    pop = _check_popularity(popularity)
    lists = _check_lists(lists, pop.shape[0])
    total = pop.sum()
    if total <= 1:
        raise ValueError("popularity must sum to more than 1 for novelty to be defined")
    info = -np.log2(np.maximum(pop[lists], 1.0) / total).mean(axis=1)
    return info / np.log2(total) if normalize else info


def arp(lists: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """Average recommendation popularity: ARP = (1/K) sum_i pop_i (BOOML; lower is fairer).

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids in ``[0, n_items)``.
    popularity : numpy.ndarray
        ``(n_items,)`` finite non-negative item popularity.

    Returns
    -------
    numpy.ndarray
        ``(U,)`` float64, the mean popularity of each list.
    """
    pop = _check_popularity(popularity)
    lists = _check_lists(lists, pop.shape[0])
    return pop[lists].mean(axis=1)


def exposure(lists: np.ndarray, n_items: int) -> np.ndarray:
    """How often each catalogue item appears across all lists.

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids in ``[0, n_items)``.
    n_items : int
        Catalogue size.

    Returns
    -------
    numpy.ndarray
        ``(n_items,)`` float64 counts.
    """
    lists = _check_lists(lists, n_items)
    return np.bincount(lists.ravel(), minlength=n_items).astype(np.float64)


def catalog_coverage(lists: np.ndarray, n_items: int) -> float:
    """Distinct items recommended to anyone / catalogue size.

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids in ``[0, n_items)``.
    n_items : int
        Catalogue size.

    Returns
    -------
    float
        Coverage in ``[0, 1]``.
    """
    return float(np.count_nonzero(exposure(lists, n_items)) / n_items)


def gini(lists: np.ndarray, n_items: int) -> float:
    """Gini coefficient of item exposure over the whole catalogue (0 equal, ->1 concentrated).

    With exposures sorted ascending x_(1) <= ... <= x_(n):
    G = sum_i (2i - n - 1) x_(i) / (n sum_i x_(i)).

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids in ``[0, n_items)``.
    n_items : int
        Catalogue size (items never listed count with exposure 0).

    Returns
    -------
    float
        Gini coefficient in ``[0, 1)``.

    Raises
    ------
    ValueError
        Bad ``lists``, or no listed item at all.

    Examples
    --------
    Exposures (0, 1, 1, 2): G = (-3 * 0 - 1 * 1 + 1 * 1 + 3 * 2) / (4 * 4):

    >>> gini(np.array([[0, 1], [1, 2]]), n_items=4)
    0.375
    """
    x = np.sort(exposure(lists, n_items))
    n = x.shape[0]
    total = x.sum()
    if total == 0:
        raise ValueError("lists are empty; Gini of exposure is undefined")
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * x) / (n * total))


def exposure_entropy(lists: np.ndarray, n_items: int, normalize: bool = True) -> float:
    """Shannon entropy of the exposure distribution, H = -sum p_i log2 p_i over exposed items.

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids in ``[0, n_items)``.
    n_items : int
        Catalogue size.
    normalize : bool, default True
        Divide by log2(n_items), the entropy of uniform exposure (skipped when
        ``n_items == 1``).

    Returns
    -------
    float
        Entropy in bits, or in ``[0, 1]`` when normalised.
    """
    x = exposure(lists, n_items)
    p = x[x > 0] / x.sum()
    h = float(-(p * np.log2(p)).sum())
    return float(h / np.log2(n_items)) if normalize and n_items > 1 else h


def f_beta(accuracy, diversity, novelty_score, beta: float = 1.0):
    """Trade-off score of accuracy against diversity and novelty.

    F_beta = (1 + beta^2) A B / (beta^2 A + B), with A the accuracy score (Recall@K) and
    B = (Div + Nov) / 2 the mean of the diversity and (normalised) novelty scores. As in
    the usual F-beta, B is weighted beta times as much as A, so F2 favours diversity and
    novelty over accuracy. 0 when A = B = 0. Works elementwise on arrays.

    Parameters
    ----------
    accuracy, diversity, novelty_score : float or numpy.ndarray
        A, Div and normalised Nov; finite, non-negative, broadcastable.
    beta : float, default 1.0
        Weight of B relative to A, positive.

    Returns
    -------
    float or numpy.ndarray
        A float for scalar inputs, else an array of the broadcast shape.

    Raises
    ------
    ValueError
        ``beta <= 0``, or A or B negative or non-finite.

    Examples
    --------
    A = 0.2, B = (0.8 + 0.4) / 2 = 0.6: F1 = 2 * 0.12 / 0.8 and F2 = 5 * 0.12 / 1.4.

    >>> f_beta(0.2, 0.8, 0.4), f_beta(0.2, 0.8, 0.4, beta=2.0)
    (0.3, 0.4286)
    """
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    a = np.asarray(accuracy, dtype=np.float64)
    b = (np.asarray(diversity, dtype=np.float64) + np.asarray(novelty_score, dtype=np.float64)) / 2
    for name, v in (("accuracy", a), ("diversity/novelty", b)):
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ValueError(f"{name} must be finite and non-negative")
    b2 = beta * beta
    denom = b2 * a + b
    out = np.zeros(np.broadcast(a, b).shape)
    np.divide((1 + b2) * a * b, denom, out=out, where=denom > 0)
    return out if out.ndim else float(out)


def res_sum(ndcg_value, ild_value, arp_value):
    """BOOML's rescaled sum: NDCG + sigmoid(ILD) + sigmoid(1 / ARP).

    Parameters
    ----------
    ndcg_value, ild_value, arp_value : float or numpy.ndarray
        NDCG, ILD and ARP (positive), broadcastable.

    Returns
    -------
    numpy.ndarray
        The rescaled sum, of the broadcast shape (0-d for scalars).

    Raises
    ------
    ValueError
        Some ARP is not positive.
    """
    n, d, p = (np.asarray(v, dtype=np.float64) for v in (ndcg_value, ild_value, arp_value))
    if np.any(p <= 0):
        raise ValueError("ARP must be positive for the rescaled sum")
    return n + _sigmoid(d) + _sigmoid(1.0 / p)


def har_mean(ndcg_value, ild_value, arp_value):
    """BOOML's harmonic mean: 3 / (1/NDCG + 1/sigmoid(ILD) + 1/sigmoid(1/ARP)); 0 if NDCG=0.

    Parameters
    ----------
    ndcg_value, ild_value, arp_value : float or numpy.ndarray
        NDCG (non-negative), ILD and ARP (positive), broadcastable.

    Returns
    -------
    numpy.ndarray
        The harmonic mean, of the broadcast shape (0-d for scalars).

    Raises
    ------
    ValueError
        Some ARP is not positive.
    """
    n, d, p = (np.asarray(v, dtype=np.float64) for v in (ndcg_value, ild_value, arp_value))
    if np.any(p <= 0):
        raise ValueError("ARP must be positive for the harmonic mean")
    inv = 1.0 / _sigmoid(d) + 1.0 / _sigmoid(1.0 / p)
    return np.where(n > 0, 3.0 / (np.divide(1.0, n, where=n > 0, out=np.zeros_like(n)) + inv), 0.0)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# ----------------------------------------------------------------- one-call evaluation


def accuracy_report(
    hit: np.ndarray, n_relevant: np.ndarray, ks: Iterable[int] = (5, 10, 20)
) -> dict[str, float]:
    """Mean HR, Recall, NDCG, MRR and Precision at every k.

    Parameters
    ----------
    hit : numpy.ndarray
        ``(U, L)`` bool (or 0/1) hit matrix.
    n_relevant : numpy.ndarray
        ``(U,)`` number of relevant items of each user, each ``>= 1``.
    ks : iterable of int, default (5, 10, 20)
        Cut-offs, each in ``[1, L]``.

    Returns
    -------
    dict of str to float
        ``{"HR@k", "Recall@k", "NDCG@k", "MRR@k", "Precision@k"}`` for each k.

    Examples
    --------
    >>> r = accuracy_report(np.array([[0, 1], [0, 0]]), np.array([1, 1]), ks=[2])
    >>> r["HR@2"], r["MRR@2"], r["Precision@2"]
    (0.5, 0.25, 0.25)
    """
    out: dict[str, float] = {}
    for k in ks:
        out[f"HR@{k}"] = float(hit_rate(hit, k).mean())
        out[f"Recall@{k}"] = float(recall(hit, n_relevant, k).mean())
        out[f"NDCG@{k}"] = float(ndcg(hit, n_relevant, k).mean())
        out[f"MRR@{k}"] = float(mrr(hit, k).mean())
        out[f"Precision@{k}"] = float(precision(hit, k).mean())
    return out


def beyond_accuracy_report(
    lists: np.ndarray,
    item_genres: np.ndarray,
    popularity: np.ndarray,
    ks: Iterable[int] = (5, 10, 20),
    recall_at: Mapping[int, float] | None = None,
) -> dict[str, float]:
    """Div, ILD, Nov (normalised), ARP, coverage, Gini and entropy at every k.

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids; the first k columns are scored at each k.
    item_genres : numpy.ndarray
        ``(n_items, n_genres)`` bool genre membership.
    popularity : numpy.ndarray
        ``(n_items,)`` item popularity; its length is the catalogue size.
    ks : iterable of int, default (5, 10, 20)
        Cut-offs, each in ``[1, K]``.
    recall_at : mapping of int to float, optional
        Mean Recall@k per k; for each k it holds, F1@k and F2@k (``f_beta``) are added.

    Returns
    -------
    dict of str to float
        ``Div@k``, ``ILD@k``, ``Nov@k``, ``ARP@k``, ``Coverage@k``, ``Gini@k``,
        ``Entropy@k`` (and ``F1@k``, ``F2@k``) for each k.
    """
    n_items = np.asarray(popularity).shape[0]
    out: dict[str, float] = {}
    for k in ks:
        top = np.asarray(lists)[:, : _check_k(k, np.asarray(lists).shape[1])]
        div = float(category_coverage(top, item_genres).mean())
        nov = float(novelty(top, popularity, normalize=True).mean())
        out[f"Div@{k}"] = div
        out[f"ILD@{k}"] = float(ild(top, item_genres).mean())
        out[f"Nov@{k}"] = nov
        out[f"ARP@{k}"] = float(arp(top, popularity).mean())
        out[f"Coverage@{k}"] = catalog_coverage(top, n_items)
        out[f"Gini@{k}"] = gini(top, n_items)
        out[f"Entropy@{k}"] = exposure_entropy(top, n_items)
        if recall_at is not None and k in recall_at:
            out[f"F1@{k}"] = f_beta(recall_at[k], div, nov, 1.0)
            out[f"F2@{k}"] = f_beta(recall_at[k], div, nov, 2.0)
    return out


# ----------------------------------------------------------------- per domain


def interest_entropy(lists: np.ndarray, item_genres: np.ndarray) -> np.ndarray:
    """User interest entropy: Shannon entropy (natural log) of each list's genre mix.

    Every listed item spreads one unit of mass evenly over its genres (items without a
    genre are left out; a list with none scores 0).

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids in ``[0, n_items)``.
    item_genres : numpy.ndarray
        ``(n_items, n_genres)`` bool genre membership, ``n_genres >= 1``.

    Returns
    -------
    numpy.ndarray
        ``(U,)`` float64 entropies in nats, in ``[0, log(n_genres)]``.

    Examples
    --------
    Item 1 splits its unit over genres 0 and 1, so list (0, 1) has mass (1.5, 0.5, 0):

    >>> g = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)
    >>> interest_entropy(np.array([[0, 1], [0, 2]]), g)
    array([0.5623, 0.6931])
    """
    genres = np.asarray(item_genres, dtype=bool)
    if genres.ndim != 2 or genres.shape[1] == 0:
        raise ValueError("item_genres must be a (n_items, n_genres) array with n_genres >= 1")
    lists = _check_lists(lists, genres.shape[0])
    g = genres[lists].astype(np.float64)  # (U, K, G)
    sizes = g.sum(axis=2, keepdims=True)
    mass = np.divide(g, sizes, out=np.zeros_like(g), where=sizes > 0).sum(axis=1)  # (U, G)
    total = mass.sum(axis=1, keepdims=True)
    p = np.divide(mass, total, out=np.zeros_like(mass), where=total > 0)
    logp = np.log(p, out=np.zeros_like(p), where=p > 0)
    return -(p * logp).sum(axis=1)


def per_domain_accuracy(
    hit: np.ndarray,
    n_relevant: np.ndarray,
    target_items: np.ndarray,
    item_genres: np.ndarray,
    names: Sequence[str],
    k: int = 10,
) -> list[dict]:
    """Recall@k and NDCG@k over the rows whose held-out item belongs to each domain.

    Parameters
    ----------
    hit : numpy.ndarray
        ``(R, L)`` hit matrix, one row per held-out item (leave-one-out: one per user).
    n_relevant : numpy.ndarray
        ``(R,)`` relevant items per row, each ``>= 1``.
    target_items : numpy.ndarray
        ``(R,)`` int held-out item of each row, in ``[0, n_items)``; a target of several
        genres counts in each of them.
    item_genres : numpy.ndarray
        ``(n_items, D)`` bool domain (genre) membership.
    names : sequence of str
        The D domain names, in ``item_genres``' column order.
    k : int, default 10
        Cut-off, ``1 <= k <= L``.

    Returns
    -------
    list of dict
        One dict per domain: ``domain``, ``n_targets``, ``Recall@k``, ``NDCG@k``; a domain
        without test targets has ``n_targets`` 0 and no metric keys, never a silent NaN.

    Raises
    ------
    ValueError
        ``item_genres`` not ``(n_items, len(names))``, ``target_items`` of the wrong shape
        or out of range, or bad ``hit``, ``n_relevant`` or ``k``.
    """
    genres = np.asarray(item_genres, dtype=bool)
    if genres.ndim != 2 or genres.shape[1] != len(names):
        raise ValueError(f"item_genres must be (n_items, {len(names)}) to match names, "
                         f"got {genres.shape}")  # fmt: skip
    target_items = np.asarray(target_items, dtype=np.int64)
    if target_items.shape != (np.asarray(hit).shape[0],):
        raise ValueError(f"target_items must have one entry per row of hit "
                         f"({np.asarray(hit).shape[0]}), got {target_items.shape}")  # fmt: skip
    if target_items.size and (target_items.min() < 0 or target_items.max() >= genres.shape[0]):
        raise ValueError("target_items must lie in [0, n_items)")
    rec = recall(hit, n_relevant, k)
    nd = ndcg(hit, n_relevant, k)
    member = genres[target_items]  # (rows, G)
    out = []
    for d, name in enumerate(names):
        rows = member[:, d]
        row = {"domain": name, "n_targets": int(rows.sum())}
        if rows.any():
            row[f"Recall@{k}"] = float(rec[rows].mean())
            row[f"NDCG@{k}"] = float(nd[rows].mean())
        out.append(row)
    return out

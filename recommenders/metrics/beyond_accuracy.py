"""Beyond-accuracy metrics of ranked lists: genre coverage (Div), intra-list distance
(ILD), novelty, average popularity (ARP), exposure, catalogue coverage, Gini, exposure
entropy and user interest entropy.

Per-list functions take ``(U, K)`` int item ids and return ``(U,)`` float64 arrays;
catalogue-level functions return a float.
"""

from __future__ import annotations

import numpy as np

from ._checks import _check_lists, _check_popularity

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


def exposure(lists: np.ndarray, n_items: int, weights=None) -> np.ndarray:
    """How much exposure each catalogue item receives across all lists.

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids in ``[0, n_items)``.
    n_items : int
        Catalogue size.
    weights : array_like, optional
        ``(K,)`` finite non-negative exposure of each rank (e.g.
        ``recommenders.metrics.position_weights``); default 1 at every rank, so the
        result counts appearances.

    Returns
    -------
    numpy.ndarray
        ``(n_items,)`` float64 exposure of each item.

    Raises
    ------
    ValueError
        Bad ``lists``, or ``weights`` of the wrong shape, negative or not finite.

    Examples
    --------
    >>> exposure(np.array([[0, 1], [1, 2]]), 4, weights=[1.0, 0.5])
    array([1. , 1.5, 0.5, 0. ])
    """
    lists = _check_lists(lists, n_items)
    if weights is None:
        return np.bincount(lists.ravel(), minlength=n_items).astype(np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (lists.shape[1],) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weights must be {lists.shape[1]} finite non-negative rank weights, "
                         f"got shape {w.shape}")  # fmt: skip
    return np.bincount(lists.ravel(), weights=np.broadcast_to(w, lists.shape).ravel(),
                       minlength=n_items)  # fmt: skip


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
    return gini_of(exposure(lists, n_items))


def gini_of(x) -> float:
    """Gini coefficient of a vector of non-negative values (0 equal, towards 1 concentrated).

    With ``x`` sorted ascending, ``G = sum_i (2i - n - 1) x_(i) / (n sum_i x_(i))``.

    Parameters
    ----------
    x : array_like
        ``(n,)`` finite non-negative values (e.g. item exposures) with a positive sum.

    Returns
    -------
    float
        The coefficient, in ``[0, 1)``.

    Raises
    ------
    ValueError
        Not 1-D, negative or non-finite values, or a zero sum (no exposure at all).

    Examples
    --------
    >>> gini_of([0, 1, 1, 2])
    0.375
    """
    x = np.sort(np.asarray(x, dtype=np.float64))
    if x.ndim != 1 or not np.all(np.isfinite(x)) or (x.size and x[0] < 0):
        raise ValueError("x must be a 1-D array of finite non-negative values")
    total = x.sum()
    if total <= 0:
        raise ValueError("lists are empty; Gini of exposure is undefined")
    n = x.shape[0]
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

"""System-level metrics: goals measured over every user's list at once.

A per-user metric scores one list; these score the whole set of lists a system shows, so
no user's list can be judged on its own. They are the quantities the fairness re-ranking
literature constrains:

* **Provider (item group) exposure.** Each listed item receives the position weight of
  the slot it fills (``position_weights``: 1 / log2(r + 1) at rank r, as in DCG, or 1 at
  every rank); a group's exposure is the sum over its items, and its *share* that sum
  divided by the total. ``min_share_ratio`` is the max-min goal (the worst-off group's
  share relative to its target, 1 when every group reaches its target) and
  ``exposure_gap`` the total-variation distance between the shares and a target
  distribution.
* **Consumer fairness.** ``group_gap`` is the difference of a per-user metric's mean
  between two user groups (for example NDCG@10 of the most active 5% against the rest,
  ``activity_groups``).
* **Catalogue coverage and concentration**: ``catalog_coverage`` and ``gini`` in
  ``beyond_accuracy``, here with position weights through ``exposure``.

Items are assigned to groups by a *membership* matrix ``(n_items, G)`` of non-negative
weights whose rows sum to 1: one-hot for a partition (``popularity_groups``), fractional
when an item belongs to several groups (``genre_groups`` splits an item's exposure evenly
over its genres).
"""

from __future__ import annotations

import numpy as np

from ._checks import _check_lists, _check_popularity
from .beyond_accuracy import exposure, gini_of

DISCOUNTS = ("log", "uniform")


def position_weights(k: int, discount: str = "log") -> np.ndarray:
    """Exposure received by each rank of a ``k``-item list.

    Parameters
    ----------
    k : int
        List length, at least 1.
    discount : {"log", "uniform"}, default "log"
        ``"log"``: 1 / log2(r + 1) at rank r = 1..k (DCG's discount, the attention a
        user pays to a slot); ``"uniform"``: 1 at every rank.

    Returns
    -------
    numpy.ndarray
        ``(k,)`` float64 weights.

    Raises
    ------
    ValueError
        ``k`` below 1, or an unknown ``discount``.

    Examples
    --------
    >>> position_weights(3)
    array([1.   , 0.631, 0.5  ])
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if discount == "log":
        return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))
    if discount == "uniform":
        return np.ones(int(k))
    raise ValueError(f"discount must be one of {DISCOUNTS}, got {discount!r}")


def popularity_groups(popularity, n_groups: int) -> np.ndarray:
    """One-hot membership of items in equal-size popularity buckets.

    Items are sorted by popularity (ties by item id) and cut into ``n_groups``
    consecutive buckets whose sizes differ by at most one; group 0 holds the least
    popular items, group ``n_groups - 1`` the most popular.

    Parameters
    ----------
    popularity : array_like
        ``(n_items,)`` non-negative popularity (e.g. training interaction counts).
    n_groups : int
        Number of buckets, from 1 to ``n_items``.

    Returns
    -------
    numpy.ndarray
        ``(n_items, n_groups)`` float64 one-hot membership.

    Raises
    ------
    ValueError
        Bad ``popularity``, or ``n_groups`` outside ``[1, n_items]`` (a bucket would be
        empty).

    Examples
    --------
    >>> popularity_groups([5, 1, 3, 9], 2).argmax(axis=1)
    array([1, 0, 0, 1])
    """
    pop = _check_popularity(popularity)
    n_items = pop.shape[0]
    if isinstance(n_groups, bool) or not isinstance(n_groups, (int, np.integer)):
        raise TypeError(f"n_groups must be an integer, got {type(n_groups).__name__}")
    if not 1 <= n_groups <= n_items:
        raise ValueError(f"n_groups must be in [1, {n_items}] (one item per group at least), "
                         f"got {n_groups}")  # fmt: skip
    order = np.lexsort((np.arange(n_items), pop))
    label = np.empty(n_items, dtype=np.int64)
    for g, part in enumerate(np.array_split(order, n_groups)):
        label[part] = g
    return np.eye(n_groups)[label]


def genre_groups(item_genres) -> np.ndarray:
    """Fractional membership of items in their genres: an item's exposure is split evenly.

    Parameters
    ----------
    item_genres : array_like
        ``(n_items, C)`` bool (or 0/1) genre indicators; every item needs at least one
        genre and every genre at least one item.

    Returns
    -------
    numpy.ndarray
        ``(n_items, C)`` float64, each row summing to 1.

    Raises
    ------
    ValueError
        Not 2-D 0/1, an item without a genre, or a genre without items (its share would
        always be 0; drop the column).

    Examples
    --------
    >>> genre_groups([[1, 1], [0, 1]])
    array([[0.5, 0.5],
           [0. , 1. ]])
    """
    g = np.asarray(item_genres)
    if g.ndim != 2 or not np.all((g == 0) | (g == 1)):
        raise ValueError(f"item_genres must be a 2-D 0/1 (items, genres) array, got shape "
                         f"{g.shape}")  # fmt: skip
    g = g.astype(np.float64)
    counts = g.sum(axis=1)
    if np.any(counts == 0):
        raise ValueError(f"item_genres: {int(np.sum(counts == 0))} items have no genre; give "
                         "them one (e.g. an 'unknown' column) so their exposure is counted")
    empty = np.flatnonzero(g.sum(axis=0) == 0)
    if empty.size:
        raise ValueError(f"item_genres: genre columns {empty.tolist()} have no items; drop them")
    return g / counts[:, None]


def _check_membership(membership, n_items: int) -> np.ndarray:
    m = np.asarray(membership, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != n_items:
        raise ValueError(f"membership must be an (n_items={n_items}, groups) array, got shape "
                         f"{m.shape}")  # fmt: skip
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise ValueError("membership must hold finite non-negative weights")
    if not np.allclose(m.sum(axis=1), 1.0):
        raise ValueError("membership rows must sum to 1 (each item's exposure is shared out "
                         "among its groups); normalise the rows")
    empty = np.flatnonzero(m.sum(axis=0) == 0)
    if empty.size:
        raise ValueError(f"membership: groups {empty.tolist()} have no items; drop them")
    return m


def group_exposure(lists, membership, discount: str = "log") -> np.ndarray:
    """Position-weighted exposure of each item group over all lists.

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids, each row one user's ranked list.
    membership : array_like
        ``(n_items, G)`` non-negative item-to-group weights, rows summing to 1
        (``popularity_groups``, ``genre_groups``).
    discount : {"log", "uniform"}, default "log"
        Position weights (``position_weights``).

    Returns
    -------
    numpy.ndarray
        ``(G,)`` float64 exposure of each group.

    Raises
    ------
    ValueError
        Bad ``lists`` or ``membership`` (as ``group_shares`` says).

    Examples
    --------
    Two users, two groups (items 0, 1 in group 0; item 2 in group 1), uniform weights:

    >>> group_exposure(np.array([[0, 2], [1, 0]]), np.eye(2)[[0, 0, 1]], "uniform")
    array([3., 1.])
    """
    return list_exposure(lists, membership, discount).sum(axis=0)


def list_exposure(lists, membership, discount: str = "log") -> np.ndarray:
    """The exposure each list gives each item group (``group_exposure`` before the sum).

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids, each row a ranked list.
    membership : array_like
        ``(n_items, G)`` non-negative item-to-group weights, rows summing to 1.
    discount : {"log", "uniform"}, default "log"
        Position weights (``position_weights``).

    Returns
    -------
    numpy.ndarray
        ``(U, G)`` float64, row u the sum over ranks r of w_r times the group weights of
        list u's item at rank r.

    Raises
    ------
    ValueError
        Bad ``lists`` or ``membership``, or an unknown ``discount``.

    Examples
    --------
    >>> list_exposure(np.array([[0, 2], [1, 0]]), np.eye(2)[[0, 0, 1]], "uniform")
    array([[1., 1.],
           [2., 0.]])
    """
    m = np.asarray(membership, dtype=np.float64)
    n_items = m.shape[0] if m.ndim == 2 else -1
    m = _check_membership(m, n_items)
    lists = _check_lists(lists, n_items)
    w = position_weights(lists.shape[1], discount)
    return np.einsum("ukg,k->ug", m[lists], w)


def group_shares(lists, membership, discount: str = "log") -> np.ndarray:
    """Each item group's share of the total exposure.

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids (at least one user).
    membership : array_like
        ``(n_items, G)`` item-to-group weights, rows summing to 1, no empty group.
    discount : {"log", "uniform"}, default "log"
        Position weights.

    Returns
    -------
    numpy.ndarray
        ``(G,)`` float64 shares summing to 1.

    Raises
    ------
    ValueError
        No lists (zero users), bad ``lists`` or ``membership``, or an unknown
        ``discount``.

    Examples
    --------
    >>> group_shares(np.array([[0, 2], [1, 0]]), np.eye(2)[[0, 0, 1]], "uniform")
    array([0.75, 0.25])
    """
    e = group_exposure(lists, membership, discount)
    total = e.sum()
    if total <= 0:
        raise ValueError("lists are empty (no users); shares of exposure are undefined")
    return e / total


def _check_target(target, n_groups: int) -> np.ndarray:
    if target is None:
        return np.full(n_groups, 1.0 / n_groups)
    t = np.asarray(target, dtype=np.float64)
    if t.shape != (n_groups,):
        raise ValueError(f"target must have shape ({n_groups},), one share per group, got "
                         f"{t.shape}")  # fmt: skip
    if not np.all(np.isfinite(t)) or np.any(t <= 0) or not np.isclose(t.sum(), 1.0):
        raise ValueError("target must be positive shares summing to 1 (e.g. each group's "
                         "share of the catalogue)")  # fmt: skip
    return t


def min_share_ratio(shares, target=None) -> float:
    """The max-min exposure goal: the worst-off group's share relative to its target.

    ``min_g share_g / target_g``; 1 when every group gets at least its target share, 0
    when some group gets none. With a uniform target it is ``G * min_g share_g``.

    Parameters
    ----------
    shares : array_like
        ``(G,)`` exposure shares (``group_shares``), summing to 1.
    target : array_like, optional
        ``(G,)`` positive target shares summing to 1; default uniform, ``1 / G`` each.

    Returns
    -------
    float
        The ratio, in ``[0, 1]``.

    Raises
    ------
    ValueError
        ``shares`` not 1-D non-negative summing to 1, or a bad ``target``.

    Examples
    --------
    >>> min_share_ratio([0.75, 0.25])
    0.5
    >>> min_share_ratio([0.75, 0.25], target=[0.8, 0.2])
    0.9375
    """
    s = _check_shares(shares)
    t = _check_target(target, s.shape[0])
    return float(np.min(s / t))


def exposure_gap(shares, target=None) -> float:
    """Total-variation distance between the exposure shares and a target distribution.

    ``0.5 * sum_g |share_g - target_g|``: 0 when the shares equal the target, at most 1.

    Parameters
    ----------
    shares : array_like
        ``(G,)`` exposure shares summing to 1.
    target : array_like, optional
        ``(G,)`` target shares summing to 1; default uniform.

    Returns
    -------
    float
        The distance, in ``[0, 1]``.

    Raises
    ------
    ValueError
        Bad ``shares`` or ``target``.

    Examples
    --------
    >>> exposure_gap([0.75, 0.25])
    0.25
    """
    s = _check_shares(shares)
    t = _check_target(target, s.shape[0])
    return float(0.5 * np.abs(s - t).sum())


def _check_shares(shares) -> np.ndarray:
    s = np.asarray(shares, dtype=np.float64)
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"shares must be a 1-D array with one share per group, got shape "
                         f"{s.shape}")  # fmt: skip
    if not np.all(np.isfinite(s)) or np.any(s < 0) or not np.isclose(s.sum(), 1.0):
        raise ValueError("shares must be non-negative and sum to 1; compute them with "
                         "group_shares")  # fmt: skip
    return s


def activity_groups(n_interactions, top: float = 0.05) -> np.ndarray:
    """The advantaged (most active) users, as the consumer-fairness literature splits them.

    The ``ceil(top * U)`` users with the most interactions (ties by the lower row) are
    advantaged; the rest are not.

    Parameters
    ----------
    n_interactions : array_like
        ``(U,)`` non-negative interaction counts (e.g. training interactions per user).
    top : float, default 0.05
        Fraction of users in the advantaged group, in ``(0, 1)``.

    Returns
    -------
    numpy.ndarray
        ``(U,)`` bool, True for the advantaged users.

    Raises
    ------
    ValueError
        ``top`` outside ``(0, 1)``, bad counts, or fewer than two users (one group would
        be empty).

    Examples
    --------
    >>> activity_groups([3, 50, 7, 2], top=0.25)
    array([False,  True, False, False])
    """
    n = np.asarray(n_interactions, dtype=np.float64)
    if n.ndim != 1 or not np.all(np.isfinite(n)) or np.any(n < 0):
        raise ValueError("n_interactions must be a 1-D array of finite non-negative counts")
    if not 0 < top < 1:
        raise ValueError(f"top must be a fraction in (0, 1), got {top}")
    if n.size < 2:
        raise ValueError("activity_groups needs at least two users (one per group)")
    k = min(int(np.ceil(top * n.size)), n.size - 1)
    order = np.lexsort((np.arange(n.size), -n))
    adv = np.zeros(n.size, dtype=bool)
    adv[order[:k]] = True
    return adv


def group_gap(values, advantaged) -> float:
    """Consumer fairness gap: mean of a per-user metric over the advantaged group minus the rest.

    Positive when the advantaged users are served better; CP-FairRank's consumer
    fairness constraint bounds its absolute value.

    Parameters
    ----------
    values : array_like
        ``(U,)`` finite per-user metric (e.g. NDCG@10 of each user's list).
    advantaged : array_like
        ``(U,)`` bool group of each user (``activity_groups``); both groups non-empty.

    Returns
    -------
    float
        ``mean(values[advantaged]) - mean(values[~advantaged])``.

    Raises
    ------
    ValueError
        Shapes that differ, non-finite values, or an empty group.

    Examples
    --------
    >>> group_gap([0.5, 0.1, 0.3, 0.2], [True, False, False, False])
    0.3
    """
    v = np.asarray(values, dtype=np.float64)
    a = np.asarray(advantaged)
    if v.ndim != 1 or a.shape != v.shape:
        raise ValueError(f"values and advantaged must be 1-D of one length, got shapes "
                         f"{v.shape} and {a.shape}")  # fmt: skip
    if a.dtype != bool:
        raise TypeError(f"advantaged must be a bool array, got dtype {a.dtype}")
    if not np.all(np.isfinite(v)):
        raise ValueError("values hold NaN or infinite entries; compute the metric for every "
                         "user first")  # fmt: skip
    if a.all() or not a.any():
        raise ValueError("advantaged must split the users into two non-empty groups")
    return float(v[a].mean() - v[~a].mean())


def system_report(lists, membership, n_items: int | None = None, discount: str = "log",
                  target=None) -> dict[str, float]:  # fmt: skip
    """The system-level metrics of a set of lists in one dict.

    Parameters
    ----------
    lists : numpy.ndarray
        ``(U, K)`` int item ids.
    membership : array_like
        ``(n_items, G)`` item-to-group weights, rows summing to 1.
    n_items : int, optional
        Catalogue size; default ``membership``'s rows.
    discount : {"log", "uniform"}, default "log"
        Position weights of exposure.
    target : array_like, optional
        ``(G,)`` target shares; default uniform.

    Returns
    -------
    dict of str to float
        ``min_share_ratio``, ``exposure_gap``, ``coverage`` (share of the catalogue listed
        at least once) and ``gini`` (of position-weighted item exposure).

    Raises
    ------
    ValueError
        As the metrics raise, or ``n_items`` different from ``membership``'s rows.
    """
    m = np.asarray(membership, dtype=np.float64)
    if n_items is not None and (m.ndim != 2 or m.shape[0] != n_items):
        raise ValueError(f"membership has {m.shape[0] if m.ndim else 0} rows, expected "
                         f"n_items={n_items}")  # fmt: skip
    shares = group_shares(lists, m, discount)
    x = exposure(_check_lists(lists, m.shape[0]), m.shape[0],
                 weights=position_weights(np.asarray(lists).shape[1], discount))  # fmt: skip
    return {
        "min_share_ratio": min_share_ratio(shares, target),
        "exposure_gap": exposure_gap(shares, target),
        "coverage": float(np.count_nonzero(x) / x.size),
        "gini": gini_of(x),
    }

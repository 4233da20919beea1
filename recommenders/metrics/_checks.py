"""Input validation shared by the metric modules: each check raises ``ValueError``
(``TypeError`` for a non-integer ``lists`` dtype) with a message naming the argument.
"""

from __future__ import annotations

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

"""One-call evaluation: mean accuracy and beyond-accuracy tables at several cut-offs,
and accuracy per domain (genre) of the held-out item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ._checks import _check_k
from .accuracy import hit_rate, mrr, ndcg, precision, recall
from .beyond_accuracy import (
    arp,
    catalog_coverage,
    category_coverage,
    exposure_entropy,
    gini,
    ild,
    novelty,
)
from .tradeoff import f_beta

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

"""Top-n selection and seen-item positions for blocks of score rows.

Both serve the rankers' ``topk`` and the blocked evaluation (``recommenders.blocked``):
``top_n`` partitions each row instead of sorting it (a full sort of 27,000 items per user
is most of a full-ranking evaluation at ML-20M size) and returns exactly what a stable
sort would, ties going to the lower item id; ``seen_entries`` gives the (row, item)
pairs of the users' histories without building a users x items mask.
"""

from __future__ import annotations

import numpy as np


def seen_entries(
    indptr: np.ndarray, items: np.ndarray, users: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Row and item of every history entry of ``users``, for masking a score block.

    Parameters
    ----------
    indptr : numpy.ndarray
        ``(n_users + 1,)`` CSR row pointer of the history (``Interactions.indptr``).
    items : numpy.ndarray
        The history's item of each row (``Interactions.items``).
    users : numpy.ndarray
        ``(B,)`` int user ids, the rows of the block.

    Returns
    -------
    rows : numpy.ndarray
        int64 index into ``users`` of each entry.
    cols : numpy.ndarray
        int64 item of each entry.

    Examples
    --------
    >>> indptr, items = np.array([0, 2, 3]), np.array([4, 1, 0])
    >>> [a.tolist() for a in seen_entries(indptr, items, np.array([1, 0]))]
    [[0, 1, 1], [0, 4, 1]]
    """
    users = np.asarray(users, dtype=np.int64)
    starts = indptr[users]
    counts = indptr[users + 1] - starts
    rows = np.repeat(np.arange(users.size), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, np.asarray(items[np.repeat(starts, counts) + offsets], dtype=np.int64)


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` highest entries of each row, best first, ties to the lower column.

    Equal to ``np.argsort(-scores, axis=1, kind="stable")[:, :n]`` and the values there,
    in time linear in the row length: each row is partitioned at its n-th largest value,
    of the entries equal to it the lowest columns are kept, and only the ``n`` kept
    ones are sorted.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(B, M)`` real scores without NaN (``-inf`` marks an excluded entry).
    n : int
        Entries per row, ``1 <= n <= M``.

    Returns
    -------
    columns : numpy.ndarray
        ``(B, n)`` int64 column of each kept entry, best first.
    values : numpy.ndarray
        ``(B, n)`` their scores, in ``scores``' dtype.

    Raises
    ------
    ValueError
        ``scores`` not 2-D, or ``n`` outside ``[1, M]``.

    Examples
    --------
    >>> cols, vals = top_n(np.array([[1.0, 3.0, 3.0, 2.0]]), 2)
    >>> cols.tolist(), vals.tolist()
    ([[1, 2]], [[3.0, 3.0]])
    """
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (rows, items), got shape {scores.shape}")
    b, m = scores.shape
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= m:
        raise ValueError(f"n must be an integer in [1, {m}], got {n!r}")
    if n == m or b == 0:
        cols = np.argsort(-scores, axis=1, kind="stable")[:, :n]
    else:
        neg = -scores
        kth = np.partition(neg, n - 1, axis=1)[:, n - 1 : n]
        keep = neg < kth
        tie = neg == kth
        need = n - keep.sum(axis=1)
        crowded = np.flatnonzero(tie.sum(axis=1) > need)
        if crowded.size:  # more entries equal the n-th value than fit: the lowest columns
            rank = np.cumsum(tie[crowded], axis=1, dtype=np.int32)
            tie[crowded] &= rank <= need[crowded, None]
        keep |= tie
        cols = np.nonzero(keep)[1].reshape(b, n)  # row-major: columns ascending per row
        order = np.argsort(-np.take_along_axis(scores, cols, axis=1), axis=1, kind="stable")
        cols = np.take_along_axis(cols, order, axis=1)
    return cols.astype(np.int64, copy=False), np.take_along_axis(scores, cols, axis=1)

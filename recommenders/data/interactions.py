"""User-item interaction logs as flat arrays.

Everything downstream (splits, models, metrics) consumes ``Interactions``: four
parallel arrays plus the id-space sizes. Rows are kept sorted by (user, timestamp) with a
stable sort, so each user's history is a contiguous, chronologically ordered slice and
interactions sharing a timestamp keep their input order (as RecBole does). Breaking such
ties by item id instead would bias leave-one-out targets: in ML-100K many ratings share a
second, and high item ids are mostly obscure films.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


def _as_1d(name: str, values, dtype) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if np.issubdtype(dtype, np.integer):
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                raise ValueError(f"{name} must hold integers; got non-integer values")
    elif arr.size and not np.all(np.isfinite(arr.astype(np.float64))):
        raise ValueError(f"{name} contains NaN or infinite values; drop or impute them first")
    return np.ascontiguousarray(arr, dtype=dtype)


@dataclass(frozen=True, eq=False)
class Interactions:
    """An interaction log over contiguous ids ``0..n_users-1`` and ``0..n_items-1``.

    Rows are re-sorted by (user, timestamp), stably, on construction.

    Parameters
    ----------
    users, items : array-like of int
        1-D integer ids, one entry per interaction, in ``[0, n_users)`` and ``[0, n_items)``.
    timestamps : array-like of int
        Integer timestamps (seconds); used only for ordering and time-aware losses.
    ratings : array-like of float
        Finite explicit ratings, or ones for implicit feedback (stored as float32).
    n_users, n_items : int
        Sizes of the id spaces, non-negative (may exceed the largest id present).

    Raises
    ------
    ValueError
        Arrays not 1-D, of unequal lengths, non-integer ids, non-finite values, negative
        sizes, or ids outside the id spaces.

    Examples
    --------
    >>> log = Interactions([1, 0, 1], [2, 0, 1], [5, 3, 4], [1.0, 1.0, 1.0], 2, 3)
    >>> log.users.tolist(), log.items.tolist(), log.user_items(1).tolist()
    ([0, 1, 1], [0, 1, 2], [1, 2])
    """

    users: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray
    ratings: np.ndarray
    n_users: int
    n_items: int

    def __post_init__(self) -> None:
        users = _as_1d("users", self.users, np.int64)
        items = _as_1d("items", self.items, np.int64)
        timestamps = _as_1d("timestamps", self.timestamps, np.int64)
        ratings = _as_1d("ratings", self.ratings, np.float32)
        n = users.shape[0]
        for name, arr in (("items", items), ("timestamps", timestamps), ("ratings", ratings)):
            if arr.shape[0] != n:
                raise ValueError(
                    f"{name} has {arr.shape[0]} entries but users has {n}; "
                    "all interaction arrays must have the same length"
                )
        n_users, n_items = int(self.n_users), int(self.n_items)
        if n_users < 0 or n_items < 0:
            raise ValueError("n_users and n_items must be non-negative")
        if n and (users.min() < 0 or users.max() >= n_users):
            raise ValueError(f"users must lie in [0, n_users={n_users}); got a value outside")
        if n and (items.min() < 0 or items.max() >= n_items):
            raise ValueError(f"items must lie in [0, n_items={n_items}); got a value outside")
        order = np.lexsort((timestamps, users))  # stable: ties keep input order
        if n and not np.all(order == np.arange(n)):
            users, items = users[order], items[order]
            timestamps, ratings = timestamps[order], ratings[order]
        object.__setattr__(self, "users", users)
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "timestamps", timestamps)
        object.__setattr__(self, "ratings", ratings)
        object.__setattr__(self, "n_users", n_users)
        object.__setattr__(self, "n_items", n_items)

    def __len__(self) -> int:
        return int(self.users.shape[0])

    def __repr__(self) -> str:
        return f"Interactions(n={len(self)}, n_users={self.n_users}, n_items={self.n_items})"

    @cached_property
    def indptr(self) -> np.ndarray:
        """CSR row pointer: user ``u``'s rows are ``indptr[u]:indptr[u + 1]``."""
        counts = np.bincount(self.users, minlength=self.n_users)
        indptr = np.zeros(self.n_users + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return indptr

    def user_counts(self) -> np.ndarray:
        """Number of interactions per user.

        Returns
        -------
        numpy.ndarray
            ``(n_users,)`` int64.
        """
        return np.diff(self.indptr)

    def item_counts(self) -> np.ndarray:
        """Number of interactions per item (popularity).

        Returns
        -------
        numpy.ndarray
            ``(n_items,)`` int64.
        """
        return np.bincount(self.items, minlength=self.n_items).astype(np.int64)

    def user_items(self, user: int) -> np.ndarray:
        """The items of one user, oldest first.

        Parameters
        ----------
        user : int
            A user index in ``[0, n_users)``.

        Returns
        -------
        numpy.ndarray
            int64 item ids (a view; empty for a user without interactions).
        """
        return self.items[self.indptr[user] : self.indptr[user + 1]]

    def keys(self) -> np.ndarray:
        """One key per (user, item) pair, for fast set tests.

        Returns
        -------
        numpy.ndarray
            ``(len(self),)`` int64 ``user * n_items + item``.
        """
        return self.users * np.int64(self.n_items) + self.items

    @cached_property
    def sorted_keys(self) -> np.ndarray:
        """The distinct ``keys`` in ascending order, computed once, for membership tests
        by ``numpy.searchsorted`` (``contains``)."""
        return np.unique(self.keys())

    def contains(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Whether each (user, item) pair occurs in the log.

        Parameters
        ----------
        users, items : numpy.ndarray
            Int ids of equal shape, within the id spaces.

        Returns
        -------
        numpy.ndarray
            bool of that shape; memory of the order of the query, not of the id spaces.

        Examples
        --------
        >>> log = Interactions([0, 1], [2, 0], [1, 1], [1.0, 1.0], 2, 3)
        >>> log.contains(np.array([0, 0, 1]), np.array([2, 0, 0])).tolist()
        [True, False, True]
        """
        keys = np.asarray(users, dtype=np.int64) * np.int64(self.n_items) + items
        seen = self.sorted_keys
        if seen.size == 0:
            return np.zeros(keys.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(seen, keys), seen.size - 1)
        return seen[pos] == keys

    def to_dense(self, dtype=np.float32) -> np.ndarray:
        """The 0/1 matrix of observed pairs (small catalogues only).

        Parameters
        ----------
        dtype : numpy dtype, default numpy.float32
            The matrix's dtype.

        Returns
        -------
        numpy.ndarray
            ``(n_users, n_items)``, 1 where the pair occurs.
        """
        dense = np.zeros((self.n_users, self.n_items), dtype=dtype)
        dense[self.users, self.items] = 1
        return dense

    def padded_sequences(self, max_len: int, field: str = "items") -> np.ndarray:
        """The last ``max_len`` items of every user, right-aligned, ``-1`` as padding.

        Parameters
        ----------
        max_len : int
            Sequence length, ``>= 1``.
        field : {"items", "timestamps"}, default "items"
            ``"timestamps"`` gives the interactions' timestamps in the same slots instead.

        Returns
        -------
        numpy.ndarray
            ``(n_users, max_len)`` int64; a user with no history is all ``-1``.

        Raises
        ------
        ValueError
            ``max_len < 1`` or another ``field``.

        Examples
        --------
        >>> log = Interactions([0, 0, 0], [4, 5, 6], [1, 2, 3], [1.0] * 3, 2, 7)
        >>> log.padded_sequences(2).tolist(), log.padded_sequences(4)[0].tolist()
        ([[5, 6], [-1, -1]], [-1, 4, 5, 6])
        """
        if max_len < 1:
            raise ValueError(f"max_len must be >= 1, got {max_len}")
        if field not in ("items", "timestamps"):
            raise ValueError(f"field must be 'items' or 'timestamps', got {field!r}")
        out = np.full((self.n_users, max_len), -1, dtype=np.int64)
        counts = self.user_counts()
        take = np.minimum(counts, max_len)
        # Row r gets items[indptr[u+1]-take[u] : indptr[u+1]] at columns max_len-take[u]: .
        rows = np.repeat(np.arange(self.n_users), take)
        within = np.arange(take.sum()) - np.repeat(np.cumsum(take) - take, take)
        src = np.repeat(self.indptr[1:] - take, take) + within
        cols = np.repeat(max_len - take, take) + within
        out[rows, cols] = getattr(self, field)[src]
        return out

    def select(self, mask: np.ndarray) -> Interactions:
        """The interactions where ``mask`` is true, over the same id spaces.

        Parameters
        ----------
        mask : numpy.ndarray
            ``(len(self),)`` bool, over the rows in their stored (user, time) order.

        Returns
        -------
        Interactions
            The selected rows.

        Raises
        ------
        ValueError
            ``mask`` of another shape.
        """
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != self.users.shape:
            raise ValueError(f"mask must have shape {self.users.shape}, got {mask.shape}")
        return Interactions(
            self.users[mask],
            self.items[mask],
            self.timestamps[mask],
            self.ratings[mask],
            self.n_users,
            self.n_items,
        )

    def concat(self, other: Interactions) -> Interactions:
        """Both logs together.

        Parameters
        ----------
        other : Interactions
            A log over the same ``n_users`` and ``n_items``.

        Returns
        -------
        Interactions
            The union of rows, re-sorted by (user, timestamp).

        Raises
        ------
        ValueError
            The id spaces differ.
        """
        if (other.n_users, other.n_items) != (self.n_users, self.n_items):
            raise ValueError(
                "cannot concatenate interactions over different id spaces: "
                f"({self.n_users}, {self.n_items}) vs ({other.n_users}, {other.n_items})"
            )
        return Interactions(
            np.concatenate([self.users, other.users]),
            np.concatenate([self.items, other.items]),
            np.concatenate([self.timestamps, other.timestamps]),
            np.concatenate([self.ratings, other.ratings]),
            self.n_users,
            self.n_items,
        )

    def last_per_user(self) -> tuple[np.ndarray, np.ndarray]:
        """Each non-empty user's most recent interaction.

        Returns
        -------
        users, items : numpy.ndarray
            int64 arrays: the users with interactions, and the last item of each.
        """
        counts = self.user_counts()
        users = np.flatnonzero(counts)
        return users, self.items[self.indptr[users + 1] - 1]

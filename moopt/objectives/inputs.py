"""The re-ranking inputs every objective's ``prepare`` reads.

``RerankInputs`` holds the users' candidates, scores, item categories and popularity and
the named ``extras`` a user objective asks for; ``make_inputs`` builds and checks it.
``moopt.objectives.registry`` re-exports these names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


class MissingExtraError(KeyError):
    """An objective's ``prepare`` asked ``inputs.extras`` for a key that was not given."""


class Extras(dict):
    """``RerankInputs.extras``: a dict whose missing key raises ``MissingExtraError``,
    which ``pack_objectives`` reports with the objective's name."""

    def __missing__(self, key):
        raise MissingExtraError(key)


@dataclass(frozen=True, eq=False)
class RerankInputs:
    """Validated re-ranking inputs for U users with N candidates each (see ``make_inputs``).

    Parameters
    ----------
    scores, candidates : numpy.ndarray, shape (U, N)
        Base-ranker scores (float64) and item ids (int64, distinct per row).
    item_genres : numpy.ndarray, shape (I, G)
        Bool categories of the catalogue the ids index.
    item_popularity : numpy.ndarray, shape (I,)
        Non-negative float64 popularity of every catalogue item.
    k : int
        List length K.
    extras : Mapping of str to numpy.ndarray, optional
        Further arrays an objective's ``prepare`` reads (e.g. item embeddings).
    """

    scores: np.ndarray
    candidates: np.ndarray
    item_genres: np.ndarray
    item_popularity: np.ndarray
    k: int
    extras: Mapping[str, np.ndarray] = field(default_factory=Extras)

    def __post_init__(self) -> None:
        if not isinstance(self.extras, Extras):
            object.__setattr__(self, "extras", Extras(self.extras or {}))

    @property
    def n_users(self) -> int:
        return self.scores.shape[0]

    @property
    def n_candidates(self) -> int:
        return self.scores.shape[1]

    def select(self, users: np.ndarray) -> RerankInputs:
        """Return the inputs of a subset of users (catalogue arrays and extras shared).

        Parameters
        ----------
        users : numpy.ndarray
            Row indices (or a boolean mask) of the users to keep.

        Returns
        -------
        RerankInputs
        """
        return RerankInputs(
            self.scores[users], self.candidates[users], self.item_genres,
            self.item_popularity, self.k, self.extras,
        )  # fmt: skip


def make_inputs(
    scores,
    candidates,
    item_genres=None,
    item_popularity=None,
    k: int = 10,
    extras: Mapping[str, np.ndarray] | None = None,
) -> RerankInputs:
    """Validate re-ranking inputs once, at the boundary, and return contiguous arrays.

    NaN or infinite scores, K larger than the candidate set, repeated candidates, ids
    outside the catalogue arrays, negative popularity, mismatched shapes and empty inputs
    raise ``ValueError``/``TypeError`` naming the argument.

    Parameters
    ----------
    scores, candidates : array_like, shape (U, N) or (N,)
        Finite real scores and integer item ids (distinct per row); a single user's (N,)
        arrays are promoted.
    item_genres : array_like, shape (I, G), optional
        Bool (or 0/1) categories of the items the ids index; None: no categories.
    item_popularity : array_like, shape (I,), optional
        Finite non-negative popularity, same I as ``item_genres``; None: all zero.
    k : int, default 10
        List length, in [1, N].
    extras : Mapping of str to numpy.ndarray, optional
        Further arrays for objectives' ``prepare`` (e.g. item embeddings).

    Returns
    -------
    RerankInputs
        Contiguous arrays; without catalogue arrays, I is the largest candidate id + 1.

    Examples
    --------
    >>> from moopt.objectives import make_inputs
    >>> inputs = make_inputs([0.9, 0.5, 0.7], [4, 2, 7], k=2)
    >>> inputs.n_users, inputs.n_candidates, inputs.item_popularity.shape
    (1, 3, (8,))
    """
    scores = np.asarray(scores)
    candidates = np.asarray(candidates)
    if scores.ndim == 1 and candidates.ndim == 1:
        scores, candidates = scores[None], candidates[None]
    if scores.ndim != 2:
        raise ValueError(f"scores must be (users, candidates), got shape {scores.shape}")
    if candidates.shape != scores.shape:
        raise ValueError(
            f"candidates has shape {candidates.shape} but scores has {scores.shape}; "
            "they must match (one score per candidate)"
        )
    u, n = scores.shape
    if u == 0 or n == 0:
        raise ValueError(f"empty input: {u} users with {n} candidates; pass at least one of each")
    if not np.issubdtype(scores.dtype, np.number) or np.issubdtype(
        scores.dtype, np.complexfloating
    ):
        raise TypeError(f"scores must be real numbers, got dtype {scores.dtype}")
    scores = scores.astype(np.float64)
    bad = ~np.isfinite(scores)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(
            f"scores contain NaN or infinite values (first in user row {row}); "
            "fix or drop those candidates before re-ranking"
        )
    if not np.issubdtype(candidates.dtype, np.integer):
        raise TypeError(f"candidates must hold integer item ids, got dtype {candidates.dtype}")
    candidates = candidates.astype(np.int64)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k > n:
        raise ValueError(f"k={k} is larger than the candidate set (N={n}); lower k")
    srt = np.sort(candidates, axis=1)
    dup = srt[:, 1:] == srt[:, :-1]
    if dup.any():
        row, col = (int(v) for v in np.argwhere(dup)[0])
        raise ValueError(
            f"candidates row {row} repeats item {srt[row, col]}; each user's candidates must "
            "be distinct"
        )
    n_items = None
    if item_genres is not None:
        item_genres = np.asarray(item_genres)
        if item_genres.ndim != 2:
            raise ValueError(f"item_genres must be (items, genres), got shape {item_genres.shape}")
        if item_genres.dtype != bool:
            if not np.all((item_genres == 0) | (item_genres == 1)):
                raise ValueError("item_genres must be a 0/1 or bool multi-hot matrix")
            item_genres = item_genres.astype(bool)
        n_items = item_genres.shape[0]
    if item_popularity is not None:
        item_popularity = np.asarray(item_popularity, dtype=np.float64)
        if item_popularity.ndim != 1:
            raise ValueError(f"item_popularity must be (items,), got shape {item_popularity.shape}")
        if n_items is not None and item_popularity.shape[0] != n_items:
            raise ValueError(
                f"item_popularity has {item_popularity.shape[0]} items but item_genres has "
                f"{n_items}; both must cover the same catalogue"
            )
        if not np.all(np.isfinite(item_popularity)):
            raise ValueError("item_popularity contains NaN or infinite values")
        if np.any(item_popularity < 0):
            raise ValueError("item_popularity must be non-negative (counts or frequencies)")
        n_items = item_popularity.shape[0]
    if n_items is None:
        n_items = int(candidates.max()) + 1
    if candidates.min() < 0 or candidates.max() >= n_items:
        raise ValueError(
            f"candidates hold item ids outside [0, {n_items}); item_genres and "
            "item_popularity must cover every candidate id"
        )
    if item_genres is None:
        item_genres = np.zeros((n_items, 0), dtype=bool)
    if item_popularity is None:
        item_popularity = np.zeros(n_items)
    return RerankInputs(
        np.ascontiguousarray(scores), np.ascontiguousarray(candidates),
        np.ascontiguousarray(item_genres), np.ascontiguousarray(item_popularity), int(k),
        dict(extras or {}),
    )  # fmt: skip

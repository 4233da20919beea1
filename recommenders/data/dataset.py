"""A loaded recommendation dataset: interactions plus the item catalogue."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .interactions import Interactions


@dataclass(frozen=True, eq=False)
class Dataset:
    """Interactions over contiguous ids plus item side information.

    Parameters
    ----------
    name : str
        Short name, e.g. ``"ml-100k"``.
    interactions : Interactions
        Every rating, sorted by (user, timestamp), ties in input order.
    item_genres : numpy.ndarray
        ``(n_items, n_genres)`` bool multi-hot genre matrix.
    genre_names : sequence of str
        Names of the genre columns (stored as a tuple).
    item_titles : sequence of str
        One title per item (empty string where the source has none).
    raw_user_ids, raw_item_ids : numpy.ndarray
        The ids as they appear in the source files; row ``i`` is contiguous id ``i``.
    item_years : numpy.ndarray or None, default None
        ``(n_items,)`` float release year of every item, NaN where unknown (the
        ``release_year`` column of an atomic ``.item`` file, or a trailing "(1995)" in the
        title of the GroupLens files); None when the source has no years at all.

    Raises
    ------
    ValueError
        An array whose length or shape disagrees with the id spaces, or infinite years.
    """

    name: str
    interactions: Interactions
    item_genres: np.ndarray
    genre_names: tuple[str, ...]
    item_titles: tuple[str, ...]
    raw_user_ids: np.ndarray
    raw_item_ids: np.ndarray
    item_years: np.ndarray | None = None

    def __post_init__(self) -> None:
        genres = np.ascontiguousarray(self.item_genres, dtype=bool)
        if genres.ndim != 2 or genres.shape[0] != self.interactions.n_items:
            raise ValueError(
                f"item_genres must have shape (n_items={self.interactions.n_items}, n_genres), "
                f"got {genres.shape}"
            )
        if genres.shape[1] != len(self.genre_names):
            raise ValueError(
                f"item_genres has {genres.shape[1]} columns but {len(self.genre_names)} "
                "genre_names were given"
            )
        if len(self.item_titles) != self.interactions.n_items:
            raise ValueError("item_titles must have one entry per item")
        if len(self.raw_user_ids) != self.interactions.n_users:
            raise ValueError("raw_user_ids must have one entry per user")
        if len(self.raw_item_ids) != self.interactions.n_items:
            raise ValueError("raw_item_ids must have one entry per item")
        if self.item_years is not None:
            years = np.asarray(self.item_years, dtype=np.float64)
            if years.shape != (self.interactions.n_items,):
                n = self.interactions.n_items
                raise ValueError(f"item_years must have shape (n_items={n},), got {years.shape}")
            if np.any(np.isinf(years)):
                raise ValueError("item_years must be finite or NaN (unknown), not infinite")
            object.__setattr__(self, "item_years", years)
        object.__setattr__(self, "item_genres", genres)
        object.__setattr__(self, "genre_names", tuple(self.genre_names))
        object.__setattr__(self, "item_titles", tuple(self.item_titles))

    @property
    def n_users(self) -> int:
        return self.interactions.n_users

    @property
    def n_items(self) -> int:
        return self.interactions.n_items

    @property
    def n_interactions(self) -> int:
        return len(self.interactions)

    @property
    def n_genres(self) -> int:
        return len(self.genre_names)

    @property
    def ratings(self) -> np.ndarray:
        return self.interactions.ratings

    @property
    def timestamps(self) -> np.ndarray:
        return self.interactions.timestamps

    def item_popularity(self) -> np.ndarray:
        """Interaction count of every item over the whole log.

        Returns
        -------
        numpy.ndarray
            ``(n_items,)`` int64.
        """
        return self.interactions.item_counts()

    def summary(self) -> dict:
        """Counts and density, as shown by ``moopt data``.

        Returns
        -------
        dict
            ``name``, ``users``, ``items``, ``interactions``, ``genres``, ``density``,
            ``first_timestamp`` and ``last_timestamp`` (None for an empty log).
        """
        n_cells = max(self.n_users * self.n_items, 1)
        return {
            "name": self.name,
            "users": self.n_users,
            "items": self.n_items,
            "interactions": self.n_interactions,
            "genres": self.n_genres,
            "density": self.n_interactions / n_cells,
            "first_timestamp": int(self.timestamps.min()) if self.n_interactions else None,
            "last_timestamp": int(self.timestamps.max()) if self.n_interactions else None,
        }

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, users={self.n_users}, items={self.n_items}, "
            f"interactions={self.n_interactions}, genres={self.n_genres})"
        )

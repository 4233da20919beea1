"""A seeded synthetic dataset with structure a model can learn, for fast tests.

Three planted signals:

* **popularity**: item weights follow a Zipf law (exponent ``zipf``) over a random
  permutation of the catalogue;
* **taste**: every user has a Dirichlet-distributed preference over genres,
  concentrated on a few (``taste_concentration``); an item's choice weight is its
  popularity times the user's affinity to its genres raised to ``taste_strength``, so
  larger values make choices more personal and less popularity-driven;
* **sequence**: with probability ``p_sequential`` the next item is one of the
  ``n_successors`` fixed successors of the previous item (a Markov chain), which
  sequential models (SASRec, GRU4Rec) can exploit and non-sequential ones cannot.

Ratings (1..5) rise with how much the user likes the item's genres, so ratings <= 2
behave like negative feedback. Timestamps increase with exponential gaps.
"""

from __future__ import annotations

import numpy as np

from .dataset import Dataset
from .interactions import Interactions


def make_synthetic(
    n_users: int = 200,
    n_items: int = 300,
    n_genres: int = 18,
    min_length: int = 15,
    max_length: int = 60,
    zipf: float = 0.9,
    taste_concentration: float = 0.3,
    taste_strength: float = 3.0,
    p_sequential: float = 0.5,
    n_successors: int = 3,
    seed: int = 0,
) -> Dataset:
    """Generate a ``Dataset`` named ``"synthetic"``; the same seed gives the same data.

    Parameters
    ----------
    n_users : int, default 200
        Users, ``>= 1``.
    n_items : int, default 300
        Catalogue size, ``>= 2``.
    n_genres : int, default 18
        Genres, ``>= 1``; every item has one primary genre, about a third a second one.
    min_length, max_length : int, default 15 and 60
        Bounds of each user's history length, ``1 <= min_length <= max_length < n_items``.
    zipf : float, default 0.9
        Exponent of the Zipf popularity law.
    taste_concentration : float, default 0.3
        Dirichlet concentration of user tastes (smaller: fewer favourite genres).
    taste_strength : float, default 3.0
        Exponent of the genre affinity in the choice weight, ``>= 0``.
    p_sequential : float, default 0.5
        Probability in [0, 1] that the next item follows the Markov successors.
    n_successors : int, default 3
        Fixed successors of each item (at most ``n_items``).
    seed : int, default 0
        Random seed.

    Returns
    -------
    Dataset
        Interactions with ratings 1..5 and increasing timestamps, genres named ``genre0``...,
        titles ``item 0``..., raw ids the indices as strings.

    Raises
    ------
    ValueError
        A size or probability outside the ranges above.

    Examples
    --------
    >>> ds = make_synthetic(n_users=3, n_items=10, n_genres=2, min_length=2, max_length=4)
    >>> again = make_synthetic(n_users=3, n_items=10, n_genres=2, min_length=2, max_length=4)
    >>> ds.n_users, ds.n_items, bool((ds.interactions.items == again.interactions.items).all())
    (3, 10, True)
    """
    _check_sizes(n_users, n_items, n_genres, min_length, max_length, taste_strength, p_sequential)
    rng = np.random.default_rng(seed)

    # Catalogue: one primary genre per item, plus a second one for about a third of items.
    primary = rng.integers(0, n_genres, size=n_items)
    genres = np.zeros((n_items, n_genres), dtype=bool)
    genres[np.arange(n_items), primary] = True
    extra = rng.random(n_items) < 0.35
    genres[np.flatnonzero(extra), rng.integers(0, n_genres, size=int(extra.sum()))] = True
    popularity = 1.0 / np.arange(1, n_items + 1) ** zipf
    popularity = popularity[rng.permutation(n_items)]
    successors = np.stack(
        [rng.choice(n_items, size=n_successors, replace=False) for _ in range(n_items)]
    )

    taste = rng.dirichlet(np.full(n_genres, taste_concentration), size=n_users)
    affinity = (taste @ genres.T.astype(np.float64)) / genres.sum(axis=1)  # (U, I) in [0, 1]
    lengths = rng.integers(min_length, max_length + 1, size=n_users)

    users, items, stamps, ratings = [], [], [], []
    seen = np.zeros(n_items, dtype=bool)
    for u in range(n_users):
        seen[:] = False
        weights = popularity * (affinity[u] + 1e-3) ** taste_strength
        t = int(8.8e8 + rng.integers(0, 10**7))
        prev = -1
        for _ in range(lengths[u]):
            item = -1
            if prev >= 0 and rng.random() < p_sequential:
                options = successors[prev][~seen[successors[prev]]]
                if options.size:
                    item = int(options[rng.integers(options.size)])
            if item < 0:
                w = np.where(seen, 0.0, weights)
                item = int(rng.choice(n_items, p=w / w.sum()))
            seen[item] = True
            t += int(rng.exponential(3600.0)) + 1
            users.append(u)
            items.append(item)
            stamps.append(t)
            like = affinity[u, item] / max(affinity[u].max(), 1e-12)
            ratings.append(float(np.clip(np.round(1 + 4 * like + rng.normal(0, 0.7)), 1, 5)))
            prev = item

    inter = Interactions(
        np.array(users), np.array(items), np.array(stamps), np.array(ratings), n_users, n_items
    )
    return _assemble("synthetic", inter, genres)


def _check_sizes(
    n_users: int,
    n_items: int,
    n_genres: int,
    min_length: int,
    max_length: int,
    taste_strength: float,
    p_sequential: float,
) -> None:
    """Raise ``ValueError`` for sizes or probabilities the synthetic generators refuse."""
    if n_users < 1 or n_items < 2 or n_genres < 1:
        raise ValueError(
            f"need n_users >= 1, n_items >= 2 and n_genres >= 1, got {n_users}, {n_items}, "
            f"{n_genres}"
        )
    if not 1 <= min_length <= max_length < n_items:
        raise ValueError(
            f"need 1 <= min_length <= max_length < n_items, got {min_length}, {max_length}, "
            f"{n_items}"
        )
    if taste_strength < 0:
        raise ValueError(f"taste_strength must be >= 0, got {taste_strength}")
    if not 0.0 <= p_sequential <= 1.0:
        raise ValueError(f"p_sequential must be in [0, 1], got {p_sequential}")


def _assemble(name: str, inter: Interactions, genres: np.ndarray) -> Dataset:
    """A synthetic ``Dataset``: genres ``genre0``..., titles ``item 0``..., raw ids the
    indices as strings."""
    n_users, n_items = inter.n_users, inter.n_items
    return Dataset(
        name=name,
        interactions=inter,
        item_genres=genres,
        genre_names=tuple(f"genre{g}" for g in range(genres.shape[1])),
        item_titles=tuple(f"item {i}" for i in range(n_items)),
        raw_user_ids=np.arange(n_users).astype(str),
        raw_item_ids=np.arange(n_items).astype(str),
    )

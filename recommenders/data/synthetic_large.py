"""A vectorised synthetic generator that reaches MovieLens-20M sizes in compact memory.

``make_synthetic`` draws every interaction in a Python loop and builds a dense users x
items weight matrix, which is fine for tests but not for 138,000 users x 27,000 items.
``make_synthetic_large`` plants the same three signals with array operations only:

* **popularity**: Zipf item weights (exponent ``zipf``) over a random permutation;
* **taste**: a Dirichlet preference of every user over genres; a fresh choice first
  picks a genre with probability proportional to ``taste ** taste_strength`` times the
  genre's popularity mass, then an item of that genre in proportion to its popularity
  (so ``taste_strength=0`` leaves popularity alone);
* **sequence**: with probability ``p_sequential`` the next item is one of the
  ``n_successors`` fixed successors of the previous one (a Markov chain).

Histories are generated position by position across all users at once (one vectorised
step per position, not per interaction), repeats of an item within a user are dropped
and the short users topped up with fresh draws. Ids are generated as 32-bit integers
(``Interactions`` stores them as int64: the 19.9 million rows of the default size take
about 560 MB, the generation peaks at about 1.8 GB). History lengths are
``min_length`` plus a geometric excess with mean ``mean_length - min_length``, capped at
``max_length`` (MovieLens-20M: at least 20 ratings per user, about 144 on average).
"""

from __future__ import annotations

import numpy as np

from .dataset import Dataset
from .interactions import Interactions
from .synthetic import _assemble, _check_sizes

_TOPUP_ROUNDS = 12


def _distinct_successors(rng: np.random.Generator, n_items: int, k: int) -> np.ndarray:
    """``(n_items, k)`` int32: ``k`` distinct random items per row (redraws duplicate rows)."""
    succ = rng.integers(0, n_items, size=(n_items, k), dtype=np.int32)
    while True:
        s = np.sort(succ, axis=1)
        bad = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1)) if k > 1 else np.empty(0, int)
        if bad.size == 0:
            return succ
        succ[bad] = rng.integers(0, n_items, size=(bad.size, k), dtype=np.int32)


def _catalogue(rng: np.random.Generator, n_items: int, n_genres: int, zipf: float, k: int):
    """The planted catalogue, the first draws from ``rng``: primary genre and second genre
    (-1 for none) of every item, the multi-hot genre matrix, the Zipf popularity and the
    ``(n_items, k)`` Markov successors."""
    primary = rng.integers(0, n_genres, size=n_items, dtype=np.int32)
    extra = rng.integers(0, n_genres, size=n_items, dtype=np.int32)
    secondary = np.where((rng.random(n_items) < 0.35) & (extra != primary), extra, -1)
    genres = np.zeros((n_items, n_genres), dtype=bool)
    genres[np.arange(n_items), primary] = True
    genres[np.flatnonzero(secondary >= 0), secondary[secondary >= 0]] = True
    popularity = (1.0 / np.arange(1, n_items + 1) ** zipf)[rng.permutation(n_items)]
    return primary, secondary, genres, popularity, _distinct_successors(rng, n_items, k)


def _flat_sampler(weights_by_row: np.ndarray) -> np.ndarray:
    """Cumulative probabilities of each row, offset by the row index and flattened, so that
    ``searchsorted(flat, row + r)`` draws a column of ``row`` for ``r`` uniform in [0, 1)."""
    cum = np.cumsum(weights_by_row, axis=1)
    cum /= cum[:, -1:]
    cum[:, -1] = 1.0
    return (cum + np.arange(len(cum))[:, None]).ravel()


class _Chooser:
    """Fresh (non-sequential) item draws: genre by taste and popularity mass, then item."""

    def __init__(self, rng, taste, primary, secondary, popularity, strength):
        n_items, n_genres = len(primary), taste.shape[1]
        # Items listed under each of their genres, grouped by genre.
        has2 = secondary >= 0
        gen = np.concatenate([primary, secondary[has2]])
        itm = np.concatenate([np.arange(n_items), np.flatnonzero(has2)]).astype(np.int32)
        order = np.argsort(gen, kind="stable")
        self.gen, self.itm = gen[order], itm[order]
        pop = popularity[self.itm]
        mass = np.bincount(self.gen, weights=pop, minlength=n_genres)
        starts = np.concatenate([[0], np.cumsum(np.bincount(self.gen, minlength=n_genres))])
        cum = np.cumsum(pop)
        base = np.where(starts[:-1] > 0, cum[np.maximum(starts[:-1] - 1, 0)], 0.0)
        within = (cum - base[self.gen]) / np.maximum(mass[self.gen], 1e-300)
        last = starts[1:] - 1
        within[last[starts[1:] > starts[:-1]]] = 1.0
        self.item_cum = within + self.gen  # genre g's items occupy (g, g + 1]
        self.empty = mass <= 0
        w = (taste + 1e-3) ** strength * mass[None, :]
        self.genre_cum = _flat_sampler(w)
        self.n_genres, self.rng = n_genres, rng

    def draw(self, users: np.ndarray) -> np.ndarray:
        """One fresh item per entry of ``users`` (int32)."""
        r = self.rng.random(users.size)
        pos = np.searchsorted(self.genre_cum, users + r, side="right")
        genre = np.minimum(pos - users.astype(np.int64) * self.n_genres, self.n_genres - 1)
        r = self.rng.random(users.size)
        at = np.searchsorted(self.item_cum, genre + r, side="right")
        return self.itm[np.minimum(at, len(self.itm) - 1)]


def _first_per_user(users: np.ndarray, items: np.ndarray, need: np.ndarray, n_items: int):
    """Mask of the rows kept: each user's first occurrence of an item, at most ``need[u]``."""
    keys = users.astype(np.int64) * n_items + items
    _, first = np.unique(keys, return_index=True)
    keep = np.zeros(users.size, dtype=bool)
    keep[first] = True
    kept_users = users[keep]
    starts = np.searchsorted(kept_users, np.arange(need.size))
    rank = np.arange(kept_users.size) - starts[kept_users]
    keep[np.flatnonzero(keep)[rank >= need[kept_users]]] = False
    return keep


def make_synthetic_large(
    n_users: int = 138_493,
    n_items: int = 26_744,
    n_genres: int = 20,
    min_length: int = 20,
    mean_length: float = 144.4,
    max_length: int | None = None,
    zipf: float = 0.9,
    taste_concentration: float = 0.3,
    taste_strength: float = 3.0,
    p_sequential: float = 0.5,
    n_successors: int = 3,
    seed: int = 0,
) -> Dataset:
    """Generate a large ``Dataset`` named ``"synthetic-large"`` with vectorised draws.

    The defaults give a MovieLens-20M-sized set (138,493 users, 26,744 items, about 20
    million interactions). The same seed gives the same data; the output differs from
    ``make_synthetic`` for the same seed (another sampling scheme).

    Parameters
    ----------
    n_users : int, default 138493
        Users, ``>= 1``.
    n_items : int, default 26744
        Catalogue size, ``>= 2``.
    n_genres : int, default 20
        Genres, ``>= 1``; every item has one primary genre, about a third a second one.
    min_length : int, default 20
        Shortest history, ``>= 1``.
    mean_length : float, default 144.4
        Mean history length before the ``max_length`` cap, ``>= min_length``.
    max_length : int, optional
        Longest history, ``min_length <= max_length < n_items``; default
        ``min(5000, n_items // 2)``.
    zipf : float, default 0.9
        Exponent of the Zipf popularity law.
    taste_concentration : float, default 0.3
        Dirichlet concentration of user tastes (smaller: fewer favourite genres).
    taste_strength : float, default 3.0
        Exponent of the user's genre taste in the genre choice, ``>= 0``.
    p_sequential : float, default 0.5
        Probability in [0, 1] that the next item is a successor of the previous one.
    n_successors : int, default 3
        Fixed successors of each item, ``1 <= n_successors <= n_items``.
    seed : int, default 0
        Random seed.

    Returns
    -------
    Dataset
        Interactions with ratings 1..5 (rising with the user's taste for the item's
        genres) and increasing timestamps, no item twice per user; genres ``genre0``...,
        titles ``item 0``..., raw ids the indices as strings.

    Raises
    ------
    ValueError
        A size or probability outside the ranges above.

    Examples
    --------
    >>> ds = make_synthetic_large(n_users=50, n_items=100, min_length=5, mean_length=10,
    ...                           max_length=30, seed=1)
    >>> ds.n_users, ds.n_items, bool(ds.interactions.user_counts().min() >= 5)
    (50, 100, True)
    """
    if max_length is None:
        max_length = max(min(5_000, n_items // 2), min_length)
    _check_sizes(n_users, n_items, n_genres, min_length, max_length, taste_strength, p_sequential)
    if not min_length <= mean_length:
        raise ValueError(f"mean_length must be >= min_length={min_length}, got {mean_length}")
    if not 1 <= n_successors <= n_items:
        raise ValueError(f"n_successors must be in [1, n_items={n_items}], got {n_successors}")
    rng = np.random.default_rng(seed)

    primary, secondary, genres, popularity, successors = _catalogue(
        rng, n_items, n_genres, zipf, n_successors
    )
    taste = rng.dirichlet(np.full(n_genres, taste_concentration), size=n_users)
    chooser = _Chooser(rng, taste, primary, secondary, popularity, taste_strength)

    excess = mean_length - min_length
    lengths = np.full(n_users, min_length, dtype=np.int64)
    if excess > 0:
        lengths += rng.geometric(1.0 / (excess + 1.0), size=n_users) - 1
    lengths = np.minimum(lengths, max_length)

    # The Markov chain, drawn with room for repeats that are dropped afterwards.
    room = np.minimum(lengths + lengths // 4 + 4, n_items)
    by_length = np.argsort(-room, kind="stable").astype(np.int32)
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(room, out=indptr[1:])
    users = np.repeat(np.arange(n_users, dtype=np.int32), room)
    items = chooser.draw(users)
    sorted_room = room[by_length]
    follow = rng.random(users.size) < p_sequential
    pick = rng.integers(0, n_successors, size=users.size, dtype=np.int32)
    for t in range(1, int(sorted_room[0]) if n_users else 0):
        active = by_length[: np.searchsorted(-sorted_room, -t, side="left")]
        at = indptr[active] + t
        seq = at[follow[at]]
        items[seq] = successors[items[seq - 1], pick[seq]]
    del follow, pick
    keep = _first_per_user(users, items, lengths, n_items)
    users, items = users[keep], items[keep]

    users, items = _top_up(rng, chooser, users, items, lengths, n_items)
    n = users.size
    starts = np.searchsorted(users, np.arange(n_users))
    gaps = np.floor(rng.exponential(3600.0, size=n)).astype(np.int64) + 1
    clock = np.cumsum(gaps)
    origin = rng.integers(0, 10**7, size=n_users) + int(8.8e8)
    before = np.where(starts > 0, clock[np.maximum(starts - 1, 0)], 0)
    stamps = clock - before[users] + origin[users]
    del clock, gaps

    sec = secondary[items]
    has2 = sec >= 0
    affinity = taste[users, primary[items]]
    affinity = np.where(has2, (affinity + taste[users, np.maximum(sec, 0)]) / 2, affinity)
    like = affinity / np.maximum(taste.max(axis=1), 1e-12)[users]
    noise = rng.normal(0, 0.7, size=n)
    ratings = np.clip(np.round(1 + 4 * like + noise), 1, 5).astype(np.float32)
    del sec, has2, affinity, like, noise

    inter = Interactions(users, items, stamps, ratings, n_users, n_items)
    return _assemble("synthetic-large", inter, genres)


def _top_up(rng, chooser, users, items, lengths, n_items):
    """Append fresh draws for users left short after dropping repeats, until every user
    has ``lengths[u]`` distinct items; later rounds draw uniformly, which always ends."""
    n_users = lengths.size
    for round_ in range(_TOPUP_ROUNDS + 64):
        have = np.bincount(users, minlength=n_users)
        short = np.flatnonzero(have < lengths).astype(np.int32)
        if short.size == 0:
            return users, items
        want = (lengths[short] - have[short]) * 2 + 2
        new_users = np.repeat(short, want)
        if round_ < _TOPUP_ROUNDS:
            new_items = chooser.draw(new_users)
        else:
            new_items = rng.integers(0, n_items, size=new_users.size, dtype=np.int32)
        all_users = np.concatenate([users, new_users])
        all_items = np.concatenate([items, new_items])
        order = np.argsort(all_users, kind="stable")
        all_users, all_items = all_users[order], all_items[order]
        keep = _first_per_user(all_users, all_items, lengths, n_items)
        users, items = all_users[keep], all_items[keep]
    raise AssertionError("unreachable: uniform draws fill every history")  # pragma: no cover

"""Deterministic chronological splits and seeded sampled-evaluation sets.

Both splits work per user on the chronologically ordered history that
``Interactions`` maintains (same-timestamp ties in input order),
so the same log always gives the same split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .interactions import Interactions


@dataclass(frozen=True, eq=False)
class Split:
    """Train, validation and test interactions over one id space.

    Parameters
    ----------
    train, valid, test : Interactions
        The three parts, over the same ``n_users`` and ``n_items``.
    protocol : str
        The split's name (``"leave-one-out"``, ``"ratio-6:2:2"``, ``"external"``).
    """

    train: Interactions
    valid: Interactions
    test: Interactions
    protocol: str

    @property
    def n_users(self) -> int:
        """Size of the user id space."""
        return self.train.n_users

    @property
    def n_items(self) -> int:
        """Size of the item id space."""
        return self.train.n_items

    def history(self, stage: str) -> Interactions:
        """What a model may know when predicting ``stage``.

        Parameters
        ----------
        stage : {"valid", "test"}
            The stage predicted.

        Returns
        -------
        Interactions
            Train for ``"valid"``; train and validation for ``"test"``.

        Raises
        ------
        ValueError
            Another ``stage``.
        """
        if stage == "valid":
            return self.train
        if stage == "test":
            return self.train.concat(self.valid)
        raise ValueError(f"stage must be 'valid' or 'test', got {stage!r}")

    def targets(self, stage: str) -> Interactions:
        """The held-out interactions of ``stage``.

        Parameters
        ----------
        stage : {"valid", "test"}
            The stage.

        Returns
        -------
        Interactions
            ``valid`` or ``test``.

        Raises
        ------
        ValueError
            Another ``stage``.
        """
        if stage == "valid":
            return self.valid
        if stage == "test":
            return self.test
        raise ValueError(f"stage must be 'valid' or 'test', got {stage!r}")

    def __repr__(self) -> str:
        return (
            f"Split({self.protocol!r}, train={len(self.train)}, valid={len(self.valid)}, "
            f"test={len(self.test)})"
        )


def _position_in_user(inter: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """For every row: its 0-based position within its user's history, and that user's count."""
    counts = inter.user_counts()
    per_row_count = counts[inter.users]
    position = np.arange(len(inter)) - inter.indptr[inter.users]
    return position, per_row_count


def leave_one_out(inter: Interactions) -> Split:
    """Chronological leave-one-out: last interaction test, second-last validation.

    Users with two interactions contribute one train and one test interaction; users with
    a single interaction keep it in train. Nothing from a user's future enters their
    training data.

    Parameters
    ----------
    inter : Interactions
        The full log.

    Returns
    -------
    Split
        With protocol ``"leave-one-out"``.

    Examples
    --------
    User 0 has three interactions (items 5, 6, 7 in time order), user 1 two, user 2 one:

    >>> from recommenders.data import Interactions
    >>> log = Interactions([0, 0, 0, 1, 1, 2], [5, 6, 7, 1, 2, 3], [1, 2, 3, 1, 2, 1],
    ...                    [1.0] * 6, n_users=3, n_items=8)
    >>> s = leave_one_out(log)
    >>> s.train.items.tolist(), s.valid.items.tolist(), s.test.items.tolist()
    ([5, 1, 3], [6], [7, 2])
    """
    position, count = _position_in_user(inter)
    test = position == count - 1
    valid = (position == count - 2) & (count >= 3)
    test &= count >= 2
    train = ~(test | valid)
    return Split(inter.select(train), inter.select(valid), inter.select(test), "leave-one-out")


def ratio_split(inter: Interactions, ratios: tuple[float, float, float] = (0.6, 0.2, 0.2)) -> Split:
    """Chronological per-user ratio split (default 6:2:2).

    For a user with ``n`` interactions, the last ``floor(n * ratios[2])`` go to test, the
    ``floor(n * ratios[1])`` before them to validation, the rest to train.

    Parameters
    ----------
    inter : Interactions
        The full log.
    ratios : tuple of float, default (0.6, 0.2, 0.2)
        Train, validation and test shares: three non-negative numbers summing to 1.

    Returns
    -------
    Split
        With protocol ``"ratio-6:2:2"`` (the ratios times 10).

    Raises
    ------
    ValueError
        ``ratios`` not three non-negative numbers summing to 1.

    Examples
    --------
    >>> from recommenders.data import Interactions
    >>> log = Interactions([0] * 5, [0, 1, 2, 3, 4], [1, 2, 3, 4, 5], [1.0] * 5, 1, 5)
    >>> s = ratio_split(log)
    >>> s.train.items.tolist(), s.valid.items.tolist(), s.test.items.tolist(), s.protocol
    ([0, 1, 2], [3], [4], 'ratio-6:2:2')
    """
    r = np.asarray(ratios, dtype=np.float64)
    if r.shape != (3,) or np.any(r < 0) or not np.isclose(r.sum(), 1.0):
        raise ValueError(f"ratios must be three non-negative numbers summing to 1, got {ratios}")
    position, count = _position_in_user(inter)
    n_test = np.floor(count * r[2] + 1e-9).astype(np.int64)
    n_valid = np.floor(count * r[1] + 1e-9).astype(np.int64)
    test = position >= count - n_test
    valid = (position >= count - n_test - n_valid) & ~test
    train = ~(test | valid)
    name = "ratio-" + ":".join(f"{x:g}" for x in r * 10)
    return Split(inter.select(train), inter.select(valid), inter.select(test), name)


def make_split(inter: Interactions, protocol: str = "leave-one-out") -> Split:
    """Split by protocol name.

    Parameters
    ----------
    inter : Interactions
        The full log.
    protocol : str, default "leave-one-out"
        ``"leave-one-out"`` (alias ``"loo"``) or ``"ratio"`` (aliases ``"ratio-6:2:2"``,
        ``"6:2:2"``; 6:2:2).

    Returns
    -------
    Split
        As ``leave_one_out`` or ``ratio_split`` returns it.

    Raises
    ------
    ValueError
        An unknown ``protocol``.
    """
    if protocol in ("leave-one-out", "loo"):
        return leave_one_out(inter)
    if protocol in ("ratio", "ratio-6:2:2", "6:2:2"):
        return ratio_split(inter)
    raise ValueError(f"unknown split protocol {protocol!r}; use 'leave-one-out' or 'ratio'")


def sample_negatives(
    known: Interactions,
    users: np.ndarray,
    positives: np.ndarray,
    n_negatives: int = 99,
    seed: int = 0,
) -> np.ndarray:
    """Sampled-evaluation candidate sets: one positive followed by ``n_negatives`` negatives.

    Negatives are drawn uniformly without replacement from the items the user never
    interacted with anywhere in ``known`` (pass the full log, so no train, validation or
    test item is ever a negative).

    Parameters
    ----------
    known : Interactions
        Every interaction a negative must avoid.
    users, positives : numpy.ndarray
        1-D int arrays of equal length: each row's user and positive item.
    n_negatives : int, default 99
        Negatives per row; each user needs at least that many never-seen items.
    seed : int, default 0
        Seed of the sampler; the same seed gives the same sets.

    Returns
    -------
    numpy.ndarray
        ``(len(users), 1 + n_negatives)`` int64, column 0 the positive.

    Raises
    ------
    ValueError
        ``users`` and ``positives`` not 1-D of equal length, or a user with fewer than
        ``n_negatives`` never-seen items.

    Examples
    --------
    >>> from recommenders.data import Interactions
    >>> log = Interactions([0, 0], [0, 1], [1, 2], [1.0, 1.0], n_users=1, n_items=4)
    >>> sets = sample_negatives(log, np.array([0]), np.array([1]), n_negatives=2)
    >>> int(sets[0, 0]), sorted(sets[0, 1:].tolist())
    (1, [2, 3])
    """
    users = np.asarray(users, dtype=np.int64)
    positives = np.asarray(positives, dtype=np.int64)
    if users.shape != positives.shape or users.ndim != 1:
        raise ValueError("users and positives must be 1-D arrays of the same length")
    rng = np.random.default_rng(seed)
    out = np.empty((len(users), 1 + n_negatives), dtype=np.int64)
    out[:, 0] = positives
    seen = np.zeros(known.n_items, dtype=bool)
    for row, u in enumerate(users):
        seen[:] = False
        seen[known.user_items(u)] = True
        seen[positives[row]] = True
        pool = np.flatnonzero(~seen)
        if pool.size < n_negatives:
            raise ValueError(
                f"user {u} has only {pool.size} never-seen items, fewer than "
                f"n_negatives={n_negatives}; lower n_negatives"
            )
        out[row, 1:] = rng.choice(pool, size=n_negatives, replace=False)
    return out

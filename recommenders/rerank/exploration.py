"""Epsilon-greedy re-ranking: each slot takes the best remaining candidate, or with
probability ``epsilon`` one drawn uniformly from those left (seeded).
"""

from __future__ import annotations

import numpy as np

from ._checks import _check_k, _check_param, _check_scores

# ----------------------------------------------------------------- epsilon-greedy


def epsilon_greedy_batch(
    scores: np.ndarray,
    k: int,
    epsilon: float = 0.1,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Epsilon-greedy list filling for a batch of users; see ``epsilon_greedy``.

    All users draw from one generator, so a user's list in a batch generally differs from
    a single-user call with the same seed; the batch as a whole is reproducible.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite scores.
    k, epsilon, seed : int, float, int or Generator or None
        As for ``epsilon_greedy``.

    Returns
    -------
    numpy.ndarray
        ``(U, k)`` int64 candidate positions in selection order.
    """
    s = _check_scores(scores, 2)
    n_users, n = s.shape
    k = _check_k(k, n)
    epsilon = _check_param(epsilon, "epsilon", 0.0, 1.0)
    if seed is not None and not isinstance(seed, (int, np.integer, np.random.Generator)):
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
    rng = np.random.default_rng(seed)

    rows = np.arange(n_users)
    out = np.empty((n_users, k), dtype=np.int64)
    taken = np.zeros((n_users, n), dtype=bool)
    for t in range(k):
        explore = rng.random(n_users) < epsilon
        # argmax of i.i.d. uniform keys over the remaining items is a uniform draw
        # among them, for every user at once.
        keys = np.where(taken, -1.0, rng.random((n_users, n)))
        greedy = np.argmax(np.where(taken, -np.inf, s), axis=1)
        pick = np.where(explore, np.argmax(keys, axis=1), greedy)
        out[:, t] = pick
        taken[rows, pick] = True
    return out


def epsilon_greedy(
    scores: np.ndarray,
    k: int,
    epsilon: float = 0.1,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Epsilon-greedy exploration list for one user.

    Each of the ``k`` slots is, with probability ``epsilon``, a uniformly random candidate
    not yet selected, and otherwise the highest-scoring candidate not yet selected
    (Sutton & Barto's epsilon-greedy rule applied per slot). ``epsilon = 0`` is the top-k
    by score; ``epsilon = 1`` a uniform random k-subset in random order. Draws come from
    ``np.random.default_rng(seed)``: the same seed gives the same list.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(N,)`` finite relevance of the candidates.
    k : int
        List length, ``1 <= k <= N``.
    epsilon : float, default 0.1
        Exploration probability per slot, in [0, 1].
    seed : int, numpy.random.Generator or None, default 0
        Source of randomness (None: fresh entropy).

    Returns
    -------
    numpy.ndarray
        ``(k,)`` int64 candidate positions in selection order.

    Raises
    ------
    TypeError
        Non-numeric ``scores``, or ``k``, ``epsilon``, ``seed`` of the wrong type.
    ValueError
        Bad shape, non-finite scores, ``k`` or ``epsilon`` out of range.

    Examples
    --------
    >>> epsilon_greedy(np.array([0.2, 0.9, 0.5]), k=2, epsilon=0.0)
    array([1, 2])
    """
    s = _check_scores(scores, 1, "epsilon_greedy_batch")
    return epsilon_greedy_batch(s[None], k, epsilon, seed)[0]

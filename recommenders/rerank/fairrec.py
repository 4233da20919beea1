"""FairRec: two-sided fair recommendation by greedy round robin.

Patro, Biswas, Ganguly, Gummadi and Chakraborty, "FairRec: Two-Sided Fairness for
Personalized Recommendations in Two-Sided Platforms", WWW 2020. Every item is a
producer; of the ``U K`` slots, each producer is guaranteed ``l = floor(alpha U K / P)``
(alpha times its maximin share of exposure) while each customer's list stays envy-free
up to one item with respect to its own scores. Phase 1 is a greedy round robin over the
customers: in each round every customer takes its best remaining producer among those
with copies left (``l`` copies each), until all ``l P`` copies are placed or a customer
has none left to take. Phase 2 fills every list to K with the customer's best remaining
candidates, without limits.

Here the producers are the items among the candidates (P distinct ids): an item no
customer has as a candidate cannot be shown. Each customer's candidates are visited in
descending score with a pointer that only moves forward (an item whose copies ran out
never returns), so phase 1 costs O(U N) rather than a scan of every producer per pick.
The customers take turns in row order; pass a seeded permutation for a random order.
"""

from __future__ import annotations

import numpy as np

from ._checks import _check_candidates, _check_k, _check_param, _check_scores


def fairrec_batch(
    scores: np.ndarray,
    candidates: np.ndarray,
    k: int,
    alpha: float = 0.5,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """FairRec lists for all users.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite scores of each user's candidates (any scale: only their order
        within a row is used).
    candidates : numpy.ndarray
        ``(U, N)`` int item ids (the producers), distinct within a row.
    k : int
        List length, at most N.
    alpha : float, default 0.5
        Fraction of the maximin share guaranteed to every producer, in [0, 1].
    order : numpy.ndarray, optional
        ``(U,)`` permutation of the rows: the customers' turn order (default row order).

    Returns
    -------
    numpy.ndarray
        ``(U, k)`` int64 candidate positions in pick order (phase 1's picks, then the
        fill).

    Raises
    ------
    ValueError
        Shapes that disagree, non-finite scores, ``k`` above N, repeated or negative
        candidate ids, ``alpha`` outside [0, 1], or an ``order`` that is not a
        permutation of the rows.

    Examples
    --------
    Three customers who all prefer item 0, then 1, then 2, lists of one item: with
    alpha = 1 each item gets its share of one slot, so the round robin gives every
    customer another item:

    >>> s = np.array([[3.0, 2.0, 1.0]] * 3)
    >>> cands = np.array([[0, 1, 2]] * 3)
    >>> fairrec_batch(s, cands, k=1, alpha=1.0)
    array([[0],
           [1],
           [2]])
    >>> fairrec_batch(s, cands, k=1, alpha=0.0)
    array([[0],
           [0],
           [0]])
    """
    s = _check_scores(scores, 2)
    n_users, n = s.shape
    k = _check_k(k, n)
    alpha = _check_param(alpha, "alpha", 0.0, 1.0)
    raw = np.asarray(candidates)
    top = int(raw.max()) + 1 if raw.size and np.issubdtype(raw.dtype, np.integer) else 1
    cand = _check_candidates(raw, s.shape, max(top, 1), "the candidates")
    turn = np.arange(n_users) if order is None else np.asarray(order)
    if turn.shape != (n_users,) or not np.array_equal(np.sort(turn), np.arange(n_users)):
        raise ValueError(f"order must be a permutation of the {n_users} rows")
    producers, idx = np.unique(cand, return_inverse=True)
    idx = idx.reshape(cand.shape)
    copies_each = int(np.floor(alpha * n_users * k / producers.size))
    copies = np.full(producers.size, copies_each, dtype=np.int64)
    left = copies_each * producers.size
    ranked = np.argsort(-s, axis=1, kind="stable")  # positions by descending score
    pointer = np.zeros(n_users, dtype=np.int64)
    picks = np.full((n_users, k), -1, dtype=np.int64)
    count = np.zeros(n_users, dtype=np.int64)
    taken = np.zeros((n_users, n), dtype=bool)
    rounds = int(np.ceil(left / n_users)) if left else 0
    stop = False
    for _ in range(min(rounds, k)):
        for u in turn:
            if left == 0:
                stop = True
                break
            p = pointer[u]
            while p < n and copies[idx[u, ranked[u, p]]] == 0:
                p += 1
            pointer[u] = p
            if p == n:  # nothing with copies left for this customer: phase 1 ends
                stop = True
                break
            pos = ranked[u, p]
            picks[u, count[u]] = pos
            count[u] += 1
            taken[u, pos] = True
            copies[idx[u, pos]] -= 1
            left -= 1
            pointer[u] = p + 1
        if stop:
            break
    # phase 2: every list up to k with the customer's best candidates not yet taken
    for u in range(n_users):
        need = k - count[u]
        if need:
            rest = ranked[u][~taken[u, ranked[u]]][:need]
            picks[u, count[u]:] = rest
    return picks

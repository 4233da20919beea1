"""CPFair: consumer and producer group fairness re-ranking, solved exactly by a greedy.

Naghiaei, Rahmani and Deldjoo, "CPFair: Personalized Consumer and Producer Fairness
Re-ranking for Recommender Systems", SIGIR 2022, and its extension CP-FairRank (Rahmani,
Naghiaei and Deldjoo). Over all users at once it picks K of each user's N candidates
(W_ui in {0, 1}) to maximise

    sum_ui S_ui W_ui - lam_c * DCF(W) - lam_p * DPF(W),

the consumer gap DCF the mean relevance of the advantaged users' lists minus the rest's
(users split by activity, the top 5%), the producer gap DPF the mean exposure of the
short-head items (the 20% most popular) minus the long tail's. Both gaps are signed
group means, so they are linear in W:

    DCF = sum_ui W_ui rel_ui c_u,  c_u = 1/|Z_adv| or -1/|Z_rest|,
    DPF = sum_ui W_ui d_i,         d_i = 1/|I_head| or -1/|I_tail|,

and the problem is one cardinality constraint per user over the adjusted scores
S_ui - lam_c rel_ui c_u - lam_p d_i: its LP relaxation is integral, and each user's top K
of the adjusted scores is the exact optimum (the greedy of the extension). Test labels
are never used: ``rel`` is the expected relevance of each candidate (e.g. its calibrated
hit probability). Group means rather than group sums, as the gaps are defined; with sums,
a 5% to 95% split would weigh one group's users 19 times the other's.
"""

from __future__ import annotations

import numpy as np

from ._checks import _check_candidates, _check_k, _check_scores


def cpfair_weights(advantaged: np.ndarray, short_head: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The signed group-mean coefficients ``c_u`` and ``d_i`` of the two gaps.

    Parameters
    ----------
    advantaged : numpy.ndarray
        ``(U,)`` bool, True for the advantaged users; both groups non-empty.
    short_head : numpy.ndarray
        ``(n_items,)`` bool, True for the short-head items; both groups non-empty.

    Returns
    -------
    c : numpy.ndarray
        ``(U,)`` ``1/|Z_adv|`` for advantaged users, ``-1/|Z_rest|`` for the others.
    d : numpy.ndarray
        ``(n_items,)`` ``1/|I_head|`` for short-head items, ``-1/|I_tail|`` for the others.

    Raises
    ------
    ValueError
        A group is empty, or an argument is not a 1-D bool array.

    Examples
    --------
    >>> c, d = cpfair_weights(np.array([True, False, False, False]), np.array([True, False]))
    >>> c, d
    (array([ 1.        , -0.33333333, -0.33333333, -0.33333333]), array([ 1., -1.]))
    """
    out = []
    for name, g in (("advantaged", advantaged), ("short_head", short_head)):
        g = np.asarray(g)
        if g.ndim != 1 or g.dtype != bool:
            raise ValueError(f"{name} must be a 1-D bool array")
        if g.all() or not g.any():
            raise ValueError(f"{name} must split its set into two non-empty groups")
        out.append(np.where(g, 1.0 / g.sum(), -1.0 / (~g).sum()))
    return out[0], out[1]


def cpfair_batch(
    scores: np.ndarray,
    candidates: np.ndarray,
    rel: np.ndarray,
    advantaged: np.ndarray,
    short_head: np.ndarray,
    k: int,
    lam_consumer: float = 0.0,
    lam_producer: float = 0.0,
) -> np.ndarray:
    """CPFair re-ranking of all users: each user's top K of the fairness-adjusted scores.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite relevance scores S of the candidates.
    candidates : numpy.ndarray
        ``(U, N)`` int item ids, distinct within a row.
    rel : numpy.ndarray
        ``(U, N)`` expected relevance of each candidate (the accuracy the consumer gap
        compares, e.g. calibrated hit probabilities).
    advantaged : numpy.ndarray
        ``(U,)`` bool, the advantaged users (``recommenders.metrics.activity_groups``).
    short_head : numpy.ndarray
        ``(n_items,)`` bool, the short-head items (e.g. the 20% most popular).
    k : int
        List length, at most N.
    lam_consumer, lam_producer : float, default 0.0
        Weights of the consumer and producer gaps, non-negative (0 and 0: the top K).

    Returns
    -------
    numpy.ndarray
        ``(U, k)`` int64 candidate positions, in descending adjusted score.

    Raises
    ------
    ValueError
        Shapes that disagree, non-finite values, ``k`` above N, ids outside
        ``short_head``, an empty group, or a negative weight.

    Examples
    --------
    One advantaged and one other user; a producer weight of 3 lifts the long-tail item 2
    over item 1 for both:

    >>> s = np.array([[0.9, 0.8, 0.3], [0.9, 0.8, 0.3]])
    >>> cands = np.array([[0, 1, 2], [0, 1, 2]])
    >>> head = np.array([True, True, False, False])
    >>> adv = np.array([True, False])
    >>> cpfair_batch(s, cands, s, adv, head, k=2, lam_producer=3.0)
    array([[2, 0],
           [2, 0]])
    """
    s = _check_scores(scores, 2)
    k = _check_k(k, s.shape[1])
    head = np.asarray(short_head)
    cand = _check_candidates(candidates, s.shape, head.shape[0] if head.ndim == 1 else 0,
                             "short_head")  # fmt: skip
    r = np.asarray(rel, dtype=np.float64)
    if r.shape != s.shape or not np.all(np.isfinite(r)):
        raise ValueError(f"rel must be finite with the scores' shape {s.shape}, got {r.shape}")
    adv = np.asarray(advantaged)
    if adv.shape != (s.shape[0],):
        raise ValueError(f"advantaged must have one entry per user, shape ({s.shape[0]},)")
    if lam_consumer < 0 or lam_producer < 0:
        raise ValueError("lam_consumer and lam_producer must be non-negative")
    c, d = cpfair_weights(adv, head)
    adj = s - lam_consumer * r * c[:, None] - lam_producer * d[cand]
    return np.argsort(-adj, axis=1, kind="stable")[:, :k]

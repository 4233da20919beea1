"""P-MMF: provider max-min fair re-ranking by online dual mirror descent.

Xu, Chen, Xu, Shen, Zhang, Wang and Dong, "P-MMF: Provider Max-min Fairness Re-ranking
in Recommender System", WWW 2023. Users arrive one after another within a window of T
requests; the system adds a max-min fairness regulariser over providers' exposure to the
users' relevance,

    max (1/T) sum_t s_t . x_t + lam * min_p e_p / (T K gamma_p),

with e_p the slots given to provider p's items and gamma_p its share. In the dual, one
price mu_p per provider makes every request separate: user t gets the top K of its
scores minus the prices of the items' providers (providers whose budget T K gamma_p is
spent are left out). After each request the prices take a momentum step along the dual
subgradient ``gamma - (1/K) A^T x_t`` in the gamma^2-weighted Euclidean geometry, then
are projected back onto the dual set

    D = { mu : sum_{p in S} gamma_p mu_p >= -lam  for every set S of providers }
      = { mu : sum_p max(-gamma_p mu_p, 0) <= lam },

whose projection is an l1-ball projection of the weighted prices' negative parts (the
soft threshold of Duchi et al., ICML 2008), exact in O(P log P). Settings follow the
authors' reference implementation: scores pass through a sigmoid, each slot counts 1
exposure, budgets are ``T K gamma (1 + 1/P)`` (slack of one provider's average share),
the chosen set is shown in descending score, and each window restarts the prices.
"""

from __future__ import annotations

import numpy as np

from ._checks import _check_candidates, _check_k, _check_scores


def project_dual(z: np.ndarray, lam: float) -> np.ndarray:
    """Euclidean projection of weighted prices ``z = gamma * mu`` onto P-MMF's dual set.

    The set is ``{z : sum_p max(-z_p, 0) <= lam}``: negative parts are soft-thresholded
    onto the l1 ball of radius ``lam``; non-negative parts stay.

    Parameters
    ----------
    z : array_like
        ``(P,)`` weighted prices.
    lam : float
        The regulariser's weight, non-negative.

    Returns
    -------
    numpy.ndarray
        ``(P,)`` the closest point of the set.

    Examples
    --------
    >>> project_dual(np.array([-0.5, -0.3, 0.2]), lam=0.4)
    array([-0.3, -0.1,  0.2])
    """
    z = np.asarray(z, dtype=np.float64)
    v = np.maximum(-z, 0.0)
    if v.sum() <= lam:
        return z.copy()
    if lam <= 0:
        return np.maximum(z, 0.0)
    u = np.sort(v)[::-1]
    css = np.cumsum(u)
    j = np.arange(1, u.size + 1)
    # the first index always qualifies (u_1 > u_1 - lam); rounding may hide it for a
    # tiny lam
    kept = np.flatnonzero(u * j > css - lam)
    rho = kept[-1] if kept.size else 0
    tau = (css[rho] - lam) / (rho + 1)
    return np.where(z < 0, -np.maximum(v - tau, 0.0), z)


def pmmf_batch(
    scores: np.ndarray,
    candidates: np.ndarray,
    item_provider: np.ndarray,
    k: int,
    lam: float = 0.1,
    eta: float = 1e-3,
    alpha: float = 0.1,
    gamma: np.ndarray | None = None,
    window: int | None = None,
    return_prices: bool = False,
):
    """P-MMF re-ranking of a batch of users, taken as requests in row order.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite base scores of each user's candidates (a sigmoid maps them to
        (0, 1), as the method assumes).
    candidates : numpy.ndarray
        ``(U, N)`` int item ids of the candidates, distinct within a row.
    item_provider : numpy.ndarray
        ``(n_items,)`` int provider (group) of every item, in ``[0, P)``.
    k : int
        List length, at most N.
    lam : float, default 0.1
        Weight of the max-min fairness regulariser (the dual set's radius).
    eta : float, default 1e-3
        Step size before the 1 / sqrt(T) scaling.
    alpha : float, default 0.1
        Weight of the new subgradient in the momentum average.
    gamma : numpy.ndarray, optional
        ``(P,)`` positive provider shares summing to 1; default uniform.
    window : int, optional
        Requests per window T (prices and budgets restart each window); default all U.
    return_prices : bool, default False
        Also return the prices each request saw.

    Returns
    -------
    positions : numpy.ndarray
        ``(U, k)`` int64 candidate positions, in descending score.
    prices : numpy.ndarray
        ``(U, P)`` the prices in force at each request (only with ``return_prices``).

    Raises
    ------
    ValueError
        Shapes that disagree, non-finite scores, ``k`` above N, candidate ids outside
        ``item_provider``, a provider without items, a bad ``gamma``, negative ``lam``,
        ``eta`` or an ``alpha`` outside (0, 1].

    Examples
    --------
    Two users with the same scores, provider 1's items lower: once the first list went
    to provider 0, its price rises and provider 1's falls, and the second list swaps in
    provider 1's best item:

    >>> s = np.array([[3.0, 2.0, 1.0, 0.5], [3.0, 2.0, 1.0, 0.5]])
    >>> cands = np.array([[0, 1, 2, 3], [0, 1, 2, 3]])
    >>> pmmf_batch(s, cands, np.array([0, 0, 1, 1]), k=2, lam=1.0, eta=0.1, alpha=1.0)
    array([[0, 1],
           [0, 2]])
    """
    s = _check_scores(scores, 2)
    n_users, n = s.shape
    k = _check_k(k, n)
    prov = np.asarray(item_provider)
    if prov.ndim != 1 or not np.issubdtype(prov.dtype, np.integer) or prov.size == 0:
        raise ValueError("item_provider must be a 1-D int array, one provider per item")
    cand = _check_candidates(candidates, s.shape, prov.size, "item_provider")
    if prov.min() < 0:
        raise ValueError("item_provider holds negative provider ids")
    n_prov = int(prov.max()) + 1
    empty = np.flatnonzero(np.bincount(prov, minlength=n_prov) == 0)
    if empty.size:
        raise ValueError(f"providers {empty.tolist()} have no items; number providers 0..P-1")
    g = np.full(n_prov, 1.0 / n_prov) if gamma is None else np.asarray(gamma, dtype=np.float64)
    if g.shape != (n_prov,) or np.any(g <= 0) or not np.isclose(g.sum(), 1.0):
        raise ValueError(f"gamma must be {n_prov} positive provider shares summing to 1")
    if lam < 0 or eta < 0 or not 0 < alpha <= 1:
        raise ValueError(f"lam and eta must be non-negative and alpha in (0, 1], got lam={lam}, "
                         f"eta={eta}, alpha={alpha}")  # fmt: skip
    t_win = n_users if window is None else int(window)
    if t_win < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    rel = 1.0 / (1.0 + np.exp(-s))
    cprov = prov[cand]
    out = np.empty((n_users, k), dtype=np.int64)
    seen = np.empty((n_users, n_prov))
    for start in range(0, n_users, t_win):
        stop = min(start + t_win, n_users)
        t_len = stop - start
        mu = np.zeros(n_prov)
        grad = np.zeros(n_prov)
        budget = t_len * k * g * (1.0 + 1.0 / n_prov)
        step = eta / np.sqrt(t_len)
        for t in range(start, stop):
            seen[t] = mu
            adj = rel[t] - mu[cprov[t]]
            adj = np.where(budget[cprov[t]] <= 0, adj - 1e4, adj)
            pick = np.argsort(-adj, kind="stable")[:k]
            pick = pick[np.argsort(-s[t, pick], kind="stable")]
            out[t] = pick
            slots = np.bincount(cprov[t, pick], minlength=n_prov).astype(np.float64)
            budget -= slots
            grad = alpha * (g - slots / k) + (1.0 - alpha) * grad
            mu = project_dual(g * (mu - step * grad / g**2), lam) / g
    if return_prices:
        return out, seen
    return out

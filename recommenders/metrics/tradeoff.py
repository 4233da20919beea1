"""Single scores of the accuracy / beyond-accuracy trade-off: F-beta, the sum of
metrics (ResSum) and their harmonic mean (HarMean).
"""

from __future__ import annotations

import numpy as np


def f_beta(accuracy, diversity, novelty_score, beta: float = 1.0):
    """Trade-off score of accuracy against diversity and novelty.

    F_beta = (1 + beta^2) A B / (beta^2 A + B), with A the accuracy score (Recall@K) and
    B = (Div + Nov) / 2 the mean of the diversity and (normalised) novelty scores. As in
    the usual F-beta, B is weighted beta times as much as A, so F2 favours diversity and
    novelty over accuracy. 0 when A = B = 0. Works elementwise on arrays.

    Parameters
    ----------
    accuracy, diversity, novelty_score : float or numpy.ndarray
        A, Div and normalised Nov; finite, non-negative, broadcastable.
    beta : float, default 1.0
        Weight of B relative to A, positive.

    Returns
    -------
    float or numpy.ndarray
        A float for scalar inputs, else an array of the broadcast shape.

    Raises
    ------
    ValueError
        ``beta <= 0``, or A or B negative or non-finite.

    Examples
    --------
    A = 0.2, B = (0.8 + 0.4) / 2 = 0.6: F1 = 2 * 0.12 / 0.8 and F2 = 5 * 0.12 / 1.4.

    >>> f_beta(0.2, 0.8, 0.4), f_beta(0.2, 0.8, 0.4, beta=2.0)
    (0.3, 0.4286)
    """
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    a = np.asarray(accuracy, dtype=np.float64)
    b = (np.asarray(diversity, dtype=np.float64) + np.asarray(novelty_score, dtype=np.float64)) / 2
    for name, v in (("accuracy", a), ("diversity/novelty", b)):
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ValueError(f"{name} must be finite and non-negative")
    b2 = beta * beta
    denom = b2 * a + b
    out = np.zeros(np.broadcast(a, b).shape)
    np.divide((1 + b2) * a * b, denom, out=out, where=denom > 0)
    return out if out.ndim else float(out)


def res_sum(ndcg_value, ild_value, arp_value):
    """BOOML's rescaled sum: NDCG + sigmoid(ILD) + sigmoid(1 / ARP).

    Parameters
    ----------
    ndcg_value, ild_value, arp_value : float or numpy.ndarray
        NDCG, ILD and ARP (positive), broadcastable.

    Returns
    -------
    numpy.ndarray
        The rescaled sum, of the broadcast shape (0-d for scalars).

    Raises
    ------
    ValueError
        Some ARP is not positive.
    """
    n, d, p = (np.asarray(v, dtype=np.float64) for v in (ndcg_value, ild_value, arp_value))
    if np.any(p <= 0):
        raise ValueError("ARP must be positive for the rescaled sum")
    return n + _sigmoid(d) + _sigmoid(1.0 / p)


def har_mean(ndcg_value, ild_value, arp_value):
    """BOOML's harmonic mean: 3 / (1/NDCG + 1/sigmoid(ILD) + 1/sigmoid(1/ARP)); 0 if NDCG=0.

    Parameters
    ----------
    ndcg_value, ild_value, arp_value : float or numpy.ndarray
        NDCG (non-negative), ILD and ARP (positive), broadcastable.

    Returns
    -------
    numpy.ndarray
        The harmonic mean, of the broadcast shape (0-d for scalars).

    Raises
    ------
    ValueError
        Some ARP is not positive.
    """
    n, d, p = (np.asarray(v, dtype=np.float64) for v in (ndcg_value, ild_value, arp_value))
    if np.any(p <= 0):
        raise ValueError("ARP must be positive for the harmonic mean")
    inv = 1.0 / _sigmoid(d) + 1.0 / _sigmoid(1.0 / p)
    return np.where(n > 0, 3.0 / (np.divide(1.0, n, where=n > 0, out=np.zeros_like(n)) + inv), 0.0)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))

"""PCGrad: projecting conflicting gradients.

Yu, Kumar, Gupta, Levine, Hausman & Finn, "Gradient Surgery for Multi-Task Learning",
NeurIPS 2020, Algorithm 1. For every objective i, start from ``g_i`` and visit the other
objectives j in random order; whenever the running ``g_i`` conflicts with the *original*
``g_j`` (``g_i . g_j < 0``) remove the conflicting component:

    g_i <- g_i - (g_i . g_j / ||g_j||^2) g_j.

The update direction is the sum of the projected gradients; this module returns them unsummed
so that callers can inspect or weight them.

``project_conflicts`` is the simultaneous form that BOOML (Uncertain Multi-Objective
Recommendation via Orthogonal Meta-Learning Enhanced Bayesian Optimization, eq. 17 and
Algorithm 1 line 15) writes: every ``g_m`` is projected off each *original* ``g_n`` it
conflicts with, all at once,

    g~_m = g_m - sum_{n != m} min(g_m . g_n, 0) / ||g_n||^2 g_n,

so the result does not depend on a visiting order and needs no randomness. PCGrad's
sequential form tests each conflict against the running, already projected ``g_i``; the two
agree for two objectives and can differ from three on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

try:  # torch is a dependency of the package, but the numpy path must not need it at runtime
    import torch
except ImportError:  # pragma: no cover
    torch = None

from ._checks import check_matrix

__all__ = ["pcgrad", "project_conflicts"]


def _visit_orders(m: int, rng: np.random.Generator | None, shuffle: bool) -> list[list[int]]:
    """The order in which objective i visits the others, one list per i."""
    orders = []
    for i in range(m):
        others = [j for j in range(m) if j != i]
        if shuffle and rng is not None:
            others = [others[k] for k in rng.permutation(len(others))]
        orders.append(others)
    return orders


def _pcgrad_kernel(G: Any, inv_sq_norms: Any, orders: list[list[int]], minimum: Any) -> list:
    """Projected rows of G; numpy and torch share this arithmetic.

    ``inv_sq_norms[j]`` is 1 / ||g_j||^2, or 0 for a zero g_j (it has no direction to conflict
    with). ``minimum(x)`` is min(x, 0): branch-free, so the torch path does not synchronise
    with the host once per pair of objectives.
    """
    rows = []
    for i, order in enumerate(orders):
        g = G[i]
        for j in order:
            g = g - (minimum(g @ G[j]) * inv_sq_norms[j]) * G[j]
        rows.append(g)
    return rows


def _as_rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be None, an int or a numpy Generator, got {type(seed).__name__}")


def pcgrad(
    G: ArrayLike | torch.Tensor,
    seed: int | np.random.Generator | None = None,
    shuffle: bool = True,
) -> np.ndarray | torch.Tensor:
    """Project each objective's gradient off the gradients it conflicts with (PCGrad).

    Parameters
    ----------
    G : array_like or torch.Tensor, shape (m, d)
        Gradients, one objective per row: a numpy array (or array-like) or a torch
        tensor on any device. Entries must be finite.
    seed : int, numpy.random.Generator or None, default None
        Randomness of the visiting order: ``None`` (fresh entropy), an int, or a
        ``numpy.random.Generator`` (pass one Generator across training steps so that the order
        changes from step to step but the run is reproducible).
    shuffle : bool, default True
        If False, objective i visits the others in index order (deterministic, no randomness
        used), which makes hand computations exact.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (m, d)
        The projected gradients, the same kind as ``G``: a float64 numpy array for numpy
        input (float32 stays float32), a tensor on ``G``'s device and dtype for torch
        input. Sum the rows to get the PCGrad update direction. ``G`` is not modified.
    """
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be a bool, got {type(shuffle).__name__}")
    rng = _as_rng(seed) if shuffle else None
    X = check_matrix(G)
    orders = _visit_orders(X.shape[0], rng, bool(shuffle))
    if torch is not None and isinstance(X, torch.Tensor):
        sq = (X * X).sum(dim=1)
        inv = torch.where(sq > 0, 1.0 / torch.where(sq > 0, sq, torch.ones_like(sq)), 0.0)
        return torch.stack(_pcgrad_kernel(X, inv, orders, lambda x: torch.clamp(x, max=0.0)))
    sq = np.einsum("ij,ij->i", X, X)
    inv = np.divide(1.0, sq, out=np.zeros_like(sq), where=sq > 0)
    rows = _pcgrad_kernel(X, inv, orders, lambda x: np.minimum(x, 0.0))
    return np.stack(rows).astype(X.dtype, copy=False)


def project_conflicts(G: ArrayLike | torch.Tensor) -> np.ndarray | torch.Tensor:
    """BOOML eq. 17: project every gradient off the original gradients it conflicts with.

    ``out[m] = G[m] - sum_{n != m} min(G[m] . G[n], 0) / ||G[n]||^2 G[n]`` with every inner
    product taken between *unprojected* rows (a zero row has no direction and projects
    nothing). Deterministic; see the module docstring for how it differs from
    ``pcgrad``.

    Parameters
    ----------
    G : array_like or torch.Tensor, shape (m, d)
        Finite gradients, one objective per row: a numpy array (or array-like) or a torch
        tensor on any device.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (m, d)
        The projected gradients, the same kind as ``G`` (float64 numpy for integer input,
        float32 stays float32; a tensor on ``G``'s device and dtype). Sum the rows for the
        update direction. ``G`` is not modified.
    """
    X = check_matrix(G)
    if torch is not None and isinstance(X, torch.Tensor):
        dots = X @ X.T
        sq = torch.diagonal(dots)
        inv = torch.where(sq > 0, 1.0 / torch.where(sq > 0, sq, torch.ones_like(sq)), 0.0)
        coef = torch.clamp(dots, max=0.0) * inv[None, :]
        coef.fill_diagonal_(0.0)
        return X - coef @ X
    dots = X @ X.T
    sq = np.diag(dots).copy()
    inv = np.divide(1.0, sq, out=np.zeros_like(sq), where=sq > 0)
    coef = np.minimum(dots, 0.0) * inv[None, :]
    np.fill_diagonal(coef, 0.0)
    return (X - coef @ X).astype(X.dtype, copy=False)

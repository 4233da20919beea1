"""PCGrad: projecting conflicting gradients.

Yu, Kumar, Gupta, Levine, Hausman & Finn, "Gradient Surgery for Multi-Task Learning",
NeurIPS 2020, Algorithm 1. For every objective i, start from ``g_i`` and visit the other
objectives j in random order; whenever the running ``g_i`` conflicts with the *original*
``g_j`` (``g_i . g_j < 0``) remove the conflicting component:

    g_i <- g_i - (g_i . g_j / ||g_j||^2) g_j.

The update direction is the sum of the projected gradients; this module returns them unsummed
so that callers can inspect or weight them.

:func:`project_conflicts` is the simultaneous form that BOOML (Uncertain Multi-Objective
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
    G:
        ``(m, d)`` gradients, one objective per row: a numpy array (or array-like) or a torch
        tensor on any device. Entries must be finite.
    seed:
        Randomness of the visiting order: ``None`` (fresh entropy), an int, or a
        ``numpy.random.Generator`` (pass one Generator across training steps so that the order
        changes from step to step but the run is reproducible).
    shuffle:
        If False, objective i visits the others in index order (deterministic, no randomness
        used), which makes hand computations exact.

    Returns
    -------
    The ``(m, d)`` projected gradients, the same kind as ``G``: a float64 numpy array for
    numpy input (float32 stays float32), a tensor on ``G``'s device and dtype for torch input.
    Sum the rows to get the PCGrad update direction. ``G`` is not modified.
    """
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be a bool, got {type(shuffle).__name__}")
    rng = _as_rng(seed) if shuffle else None
    if torch is not None and isinstance(G, torch.Tensor):
        return _pcgrad_torch(G, rng, bool(shuffle))

    arr = np.asarray(G)
    if arr.dtype.kind == "c":
        raise TypeError(f"G must be real, got complex dtype {arr.dtype}; pass its real part")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"G must be a numeric array, got dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    _check_shape(arr.shape)
    if not np.all(np.isfinite(arr)):
        bad = sorted({int(i) for i in np.argwhere(~np.isfinite(arr))[:, 0]})
        raise ValueError(_non_finite_message(bad))
    orders = _visit_orders(arr.shape[0], rng, bool(shuffle))
    sq = np.einsum("ij,ij->i", arr, arr)
    inv = np.divide(1.0, sq, out=np.zeros_like(sq), where=sq > 0)
    rows = _pcgrad_kernel(arr, inv, orders, lambda x: np.minimum(x, 0.0))
    return np.stack(rows).astype(arr.dtype, copy=False)


def _check_shape(shape: tuple[int, ...]) -> None:
    if len(shape) != 2:
        raise ValueError(
            f"G must be 2-D (one row per objective), got shape {tuple(shape)}; "
            "stack the flattened gradients row by row"
        )
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"G must have at least one row and one column, got {tuple(shape)}")


def _non_finite_message(rows: list[int]) -> str:
    return (
        f"G contains non-finite values (NaN or inf) in row(s) {rows}; "
        "fix the losses or gradients that produced them before projecting"
    )


def _pcgrad_torch(G: torch.Tensor, rng: np.random.Generator | None, shuffle: bool) -> torch.Tensor:
    if G.is_complex():
        raise TypeError(f"G must be real, got complex dtype {G.dtype}; pass G.real")
    _check_shape(tuple(G.shape))
    X = G.detach()
    if not X.is_floating_point():
        X = X.to(torch.get_default_dtype())
    finite_rows = torch.isfinite(X).all(dim=1)
    if not bool(finite_rows.all()):
        raise ValueError(_non_finite_message(torch.nonzero(~finite_rows).flatten().tolist()))
    orders = _visit_orders(X.shape[0], rng, shuffle)
    sq = (X * X).sum(dim=1)
    inv = torch.where(sq > 0, 1.0 / torch.where(sq > 0, sq, torch.ones_like(sq)), 0.0)
    rows = _pcgrad_kernel(X, inv, orders, lambda x: torch.clamp(x, max=0.0))
    return torch.stack(rows)


def project_conflicts(G: ArrayLike | torch.Tensor) -> np.ndarray | torch.Tensor:
    """BOOML eq. 17: project every gradient off the original gradients it conflicts with.

    ``out[m] = G[m] - sum_{n != m} min(G[m] . G[n], 0) / ||G[n]||^2 G[n]`` with every inner
    product taken between *unprojected* rows (a zero row has no direction and projects
    nothing). Deterministic; see the module docstring for how it differs from
    :func:`pcgrad`.

    Parameters
    ----------
    G:
        ``(m, d)`` finite gradients, one objective per row: a numpy array (or array-like) or
        a torch tensor on any device.

    Returns
    -------
    The ``(m, d)`` projected gradients, the same kind as ``G`` (float64 numpy for integer
    input, float32 stays float32; a tensor on ``G``'s device and dtype). Sum the rows for
    the update direction. ``G`` is not modified.
    """
    if torch is not None and isinstance(G, torch.Tensor):
        if G.is_complex():
            raise TypeError(f"G must be real, got complex dtype {G.dtype}; pass G.real")
        _check_shape(tuple(G.shape))
        X = G.detach()
        if not X.is_floating_point():
            X = X.to(torch.get_default_dtype())
        finite_rows = torch.isfinite(X).all(dim=1)
        if not bool(finite_rows.all()):
            raise ValueError(_non_finite_message(torch.nonzero(~finite_rows).flatten().tolist()))
        dots = X @ X.T
        sq = torch.diagonal(dots)
        inv = torch.where(sq > 0, 1.0 / torch.where(sq > 0, sq, torch.ones_like(sq)), 0.0)
        coef = torch.clamp(dots, max=0.0) * inv[None, :]
        coef.fill_diagonal_(0.0)
        return X - coef @ X

    arr = np.asarray(G)
    if arr.dtype.kind == "c":
        raise TypeError(f"G must be real, got complex dtype {arr.dtype}; pass its real part")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"G must be a numeric array, got dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    _check_shape(arr.shape)
    if not np.all(np.isfinite(arr)):
        bad = sorted({int(i) for i in np.argwhere(~np.isfinite(arr))[:, 0]})
        raise ValueError(_non_finite_message(bad))
    dots = arr @ arr.T
    sq = np.diag(dots).copy()
    inv = np.divide(1.0, sq, out=np.zeros_like(sq), where=sq > 0)
    coef = np.minimum(dots, 0.0) * inv[None, :]
    np.fill_diagonal(coef, 0.0)
    return (arr - coef @ arr).astype(arr.dtype, copy=False)

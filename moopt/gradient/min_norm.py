"""Minimum-norm element of the convex hull of gradients (the MGDA sub-problem).

Désidéri's multiple-gradient descent algorithm (MGDA; Désidéri, "Multiple-gradient descent
algorithm (MGDA) for multiobjective optimization", C. R. Math. 350, 2012) moves along the
minimum-norm element of the convex hull of the objectives' gradients ``g_1 .. g_m``. As written
in Sener & Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018, eq. (3):

    min_w || sum_i w_i g_i ||_2^2   subject to   sum_i w_i = 1,  w_i >= 0.

If the minimum is 0 the point is Pareto stationary; otherwise ``-sum_i w_i g_i`` decreases every
objective.

* m = 2 has the closed form of Sener & Koltun's eq. (4) (their Algorithm 1): the weight on g_1 is
  ``clip((g_2 - g_1) . g_2 / ||g_1 - g_2||^2, 0, 1)``.
* m > 2 is solved by Frank-Wolfe on the m x m Gram matrix ``M = G G^T`` (their Algorithm 2),
  so the gradients' dimension d enters through one matrix product only. The line search
  between the iterate and a vertex is eq. (4) again, applied to the two points. Plain
  Frank-Wolfe converges sublinearly when the minimiser lies on a face of the simplex, so the
  iteration also takes *away steps* (Lacoste-Julien & Jaggi, "On the Global Linear Convergence of
  Frank-Wolfe Optimization Variants", NeurIPS 2015, Algorithm 1), which converge linearly on a
  polytope, and finishes with an exact solve of the optimality conditions restricted to the
  support it found (a minor cycle of Wolfe, "Finding the nearest point in a polytope", Math.
  Programming 11, 1976). The finishing solve is kept only if it is feasible and no worse, so it
  can only improve on the Frank-Wolfe iterate.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

try:  # torch is a dependency of the package, but the numpy path must not need it at runtime
    import torch
except ImportError:  # pragma: no cover
    torch = None

from ._checks import check_matrix

__all__ = ["gram_min_norm", "min_norm"]

# Relative size under which ||u - v||^2 is treated as zero in the two-point solve: below it the
# Gram-matrix expression a + c - 2b is dominated by rounding, not by geometry.
_DEGENERATE = 64 * np.finfo(np.float64).eps
# Frank-Wolfe iterations between exact solves on the current support. The solve costs O(m^3)
# on the Gram matrix only, and it turns the linear (sometimes slow) Frank-Wolfe rate into
# finite termination once the support is right.
_POLISH_EVERY = 10


def _two_point(a: float, b: float, c: float, lo: float = 0.0, hi: float = 1.0) -> float:
    """Weight t on u minimising ||t u + (1 - t) v||^2 over t in [lo, hi].

    a = u.u, b = u.v, c = v.v. Eq. (4) of Sener & Koltun for [lo, hi] = [0, 1]; a negative lo
    is the away step, which moves the iterate away from u.
    """
    denom = a + c - 2.0 * b  # = ||u - v||^2
    if denom <= _DEGENERATE * max(a, c, 0.0):
        # u and v coincide up to rounding: the objective is flat or linear in t, so take the
        # end with the smaller value, and the midpoint of [0, 1] when there is no preference
        # (g_1 == g_2 gives (1/2, 1/2)).
        slope = b - c  # d/dt of the objective / 2 at t = 0, from a linear model
        if slope < 0:
            return hi
        if slope > 0:
            return lo
        return 0.5 if (lo, hi) == (0.0, 1.0) else 0.0
    return float(min(max((c - b) / denom, lo), hi))


def _objective(M: np.ndarray, w: np.ndarray) -> float:
    return float(w @ M @ w)


def _pairwise_start(M: np.ndarray) -> np.ndarray:
    """Best of the m(m-1)/2 two-gradient solutions, as Sener & Koltun initialise."""
    m = M.shape[0]
    best_w, best_f = None, np.inf
    for i, j in itertools.combinations(range(m), 2):
        t = _two_point(M[i, i], M[i, j], M[j, j])
        f = t * t * M[i, i] + 2.0 * t * (1.0 - t) * M[i, j] + (1.0 - t) ** 2 * M[j, j]
        if f < best_f:
            best_f = f
            best_w = np.zeros(m)
            best_w[i], best_w[j] = t, 1.0 - t
    return best_w


def _polish(M: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Exact minimiser over the affine hull of the current support, kept feasible.

    Solves the KKT system of min w_S^T M_SS w_S s.t. sum w_S = 1. If the affine minimiser has
    negative weights, walk from w towards it until the first weight reaches zero, drop that
    vertex and solve again (Wolfe's minor cycle). The objective never increases along the walk
    because it is convex and the end point is the affine minimum.
    """
    w = w.copy()
    support = np.flatnonzero(w > 0)
    for _ in range(M.shape[0]):
        k = support.size
        if k <= 1:
            break
        kkt = np.zeros((k + 1, k + 1))
        kkt[:k, :k] = M[np.ix_(support, support)]
        kkt[:k, k] = 1.0
        kkt[k, :k] = 1.0
        rhs = np.zeros(k + 1)
        rhs[k] = 1.0
        # lstsq because M_SS is singular whenever the hull of the support holds the origin in
        # a degenerate way (more points than dimensions, parallel gradients).
        sol = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
        target = sol[:k]
        if not np.all(np.isfinite(target)):
            break
        current = w[support]
        if np.all(target >= 0):
            w[:] = 0.0
            w[support] = target / target.sum()
            break
        neg = target < 0
        steps = current[neg] / (current[neg] - target[neg])
        step = float(steps.min())
        new = current + step * (target - current)
        new[np.flatnonzero(neg)[np.argmin(steps)]] = 0.0
        new = np.maximum(new, 0.0)
        w[:] = 0.0
        w[support] = new / new.sum()
        support = np.flatnonzero(w > 0)
    return w


def _gram_kernel(M: np.ndarray, max_iter: int, tol: float) -> np.ndarray:
    """Simplex weights minimising w^T M w for a symmetric PSD float64 matrix M."""
    m = M.shape[0]
    if m == 1:
        return np.ones(1)
    if m == 2:
        t = _two_point(M[0, 0], M[0, 1], M[1, 1])
        return np.array([t, 1.0 - t])

    # The gap is measured on the scale of the largest squared gradient norm so that the
    # stopping rule does not depend on the gradients' units.
    scale = float(np.max(np.diag(M)))
    if scale <= 0.0:  # every gradient is zero: any weights are optimal
        return np.full(m, 1.0 / m)
    threshold = tol * scale

    w = _pairwise_start(M)
    for it in range(max_iter):
        if it and it % _POLISH_EVERY == 0:
            w = _polish_if_better(M, w)
        Mw = M @ w
        f = float(w @ Mw)
        t = int(np.argmin(Mw))
        fw_gap = f - Mw[t]  # Frank-Wolfe duality gap of min (1/2) w^T M w
        if fw_gap <= threshold:
            break
        support = np.flatnonzero(w > 0)
        s = int(support[np.argmax(Mw[support])])
        away_gap = Mw[s] - f
        if fw_gap >= away_gap:
            # Toward step: w <- (1 - gamma) w + gamma e_t, line search = eq. (4) on (g_t, G w).
            gamma = _two_point(M[t, t], Mw[t], f)
            v = t
        else:
            # Away step: the same line through w and e_s, walked past w away from e_s, as far
            # as w_s reaches zero (gamma = -w_s / (1 - w_s)).
            lo = -w[s] / (1.0 - w[s])
            gamma = _two_point(M[s, s], Mw[s], f, lo=lo, hi=0.0)
            v = s
            if gamma == lo:
                # Drop step: set the weight to exactly zero instead of a rounding residue.
                w = w / (1.0 - w[s])
                w[s] = 0.0
                w = np.maximum(w, 0.0)
                w /= w.sum()
                continue
        if gamma == 0.0:
            break  # no progress possible at float64 resolution
        w = (1.0 - gamma) * w
        w[v] += gamma
        w = np.maximum(w, 0.0)
        w /= w.sum()

    return _polish_if_better(M, w)


def _polish_if_better(M: np.ndarray, w: np.ndarray) -> np.ndarray:
    polished = _polish(M, w)
    # Ties within the rounding of w^T M w go to the exact solve: near a stationary point the
    # Gram objective cannot tell the two apart, but the solve's weights are the more accurate.
    noise = 16 * np.finfo(np.float64).eps * float(np.max(np.diag(M)))
    return polished if _objective(M, polished) <= _objective(M, w) + noise else w


def _validate_iteration_args(max_iter: Any, tol: Any) -> tuple[int, float]:
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative integer, got {max_iter!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating, np.integer)):
        raise TypeError(f"tol must be a real number, got {type(tol).__name__}")
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    return int(max_iter), float(tol)


def _as_float64_matrix(x: Any, name: str) -> np.ndarray:
    return np.asarray(check_matrix(x, name), dtype=np.float64)


def gram_min_norm(
    M: ArrayLike, max_iter: int = 250, tol: float = 1e-10
) -> tuple[np.ndarray, float]:
    """Minimum-norm point of a convex hull given only its Gram matrix.

    Parameters
    ----------
    M : array_like, shape (m, m)
        Symmetric positive semi-definite ``(m, m)`` matrix with ``M[i, j] = g_i . g_j``.
        Array-like; converted to float64 and symmetrised as ``(M + M.T) / 2``.
    max_iter : int, default 250
        Most Frank-Wolfe iterations for ``m > 2`` (0 skips them: the best pairwise solution,
        improved by one exact solve on its support, is returned).
    tol : float, default 1e-10
        Stop when the Frank-Wolfe duality gap ``w.M.w - min_i (M w)_i`` falls below
        ``tol * max_i M[i, i]``.

    Returns
    -------
    weights : numpy.ndarray, shape (m,)
        float64 weights on the simplex.
    norm : float
        ``sqrt(w.M.w)``.

    Raises
    ------
    ValueError
        If M is not square, is empty, has non-finite entries, a negative diagonal entry or is
        visibly asymmetric.
    """
    max_iter, tol = _validate_iteration_args(max_iter, tol)
    arr = _as_float64_matrix(M, "M")
    m = arr.shape[0]
    if arr.shape != (m, m):
        raise ValueError(f"M must be a square (m, m) Gram matrix, got shape {arr.shape}")
    diag = np.diag(arr)
    scale = float(np.max(np.abs(arr)))
    if np.any(diag < -1e-12 * scale):
        raise ValueError(
            "M has a negative diagonal entry, so it is not a Gram matrix; build it as G @ G.T"
        )
    if np.max(np.abs(arr - arr.T)) > 1e-8 * scale:
        raise ValueError("M must be symmetric (a Gram matrix G @ G.T), got an asymmetric matrix")
    sym = 0.5 * (arr + arr.T)
    w = _gram_kernel(sym, max_iter, tol)
    return w, float(np.sqrt(max(_objective(sym, w), 0.0)))


def min_norm(
    G: ArrayLike | torch.Tensor, max_iter: int = 250, tol: float = 1e-10
) -> tuple[np.ndarray | torch.Tensor, float]:
    """Minimum-norm element of the convex hull of the rows of ``G``.

    Parameters
    ----------
    G : array_like or torch.Tensor, shape (m, d)
        Gradients, one objective per row: a numpy array (or array-like) or a torch
        tensor on any device. Entries must be finite.
    max_iter, tol : int and float, default 250 and 1e-10
        Frank-Wolfe limits for ``m > 2``, as in ``gram_min_norm``.

    Returns
    -------
    weights : numpy.ndarray or torch.Tensor, shape (m,)
        On the simplex (non-negative, summing to 1): a float64 numpy array for numpy
        input, a tensor on ``G``'s device with ``G``'s dtype for torch input.
    norm : float
        ``||sum_i w_i g_i||_2`` (0 means Pareto stationary).

    Notes
    -----
    Only the ``(m, m)`` Gram matrix is solved; ``d`` enters through ``G @ G.T`` and the final
    ``w @ G``. For torch input both products run on ``G``'s device in float64 (a float32 Gram
    matrix loses the digits that separate nearly parallel gradients) and only the ``m x m``
    matrix is copied to the host. The norm is computed from ``w @ G`` rather than from the Gram
    matrix, which would lose half the significant digits near a stationary point.
    """
    max_iter, tol = _validate_iteration_args(max_iter, tol)
    if torch is not None and isinstance(G, torch.Tensor):
        return _min_norm_torch(G, max_iter, tol)
    arr = _as_float64_matrix(G, "G")
    M = arr @ arr.T
    w = _gram_kernel(0.5 * (M + M.T), max_iter, tol)
    return w, float(np.linalg.norm(w @ arr))


def _min_norm_torch(G: torch.Tensor, max_iter: int, tol: float) -> tuple[torch.Tensor, float]:
    X = check_matrix(G)
    G64 = X.to(torch.float64)
    M = (G64 @ G64.T).cpu().numpy()
    w = _gram_kernel(0.5 * (M + M.T), max_iter, tol)
    w_dev = torch.from_numpy(w).to(G64.device)
    norm = float(torch.linalg.vector_norm(w_dev @ G64))
    return w_dev.to(X.dtype), norm

"""Choosing one solution from a Pareto front (all objectives maximised here).

* :func:`knee_index`: the knee of the front, the point farthest beyond the hyperplane
  through the front's extreme points in objective space normalised to [0, 1] (Das, "On
  characterizing the 'knee' of the Pareto curve based on normal-boundary intersection",
  1999; Branke et al., PPSN 2004). When the extreme points do not span a hyperplane the
  point closest to the ideal point is taken instead.
* :func:`angular_index`: PreferRec's final selection (section 4.3, eq. 14): the solution
  whose objective vector makes the smallest mean angle with the anchors' objective
  vectors (the fitness of the lists the Pareto-learning model proposed). The extracted
  equation is missing; this is the standard angular disparity, averaged over anchors.
"""

from __future__ import annotations

import numpy as np


def _check_front(F: np.ndarray) -> np.ndarray:
    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 2 or F.shape[0] == 0:
        raise ValueError(f"F must be a non-empty (n, n_obj) array, got shape {F.shape}")
    if not np.all(np.isfinite(F)):
        raise ValueError("F contains NaN or infinite values")
    return F


def normalise(F: np.ndarray) -> np.ndarray:
    """Per objective to [0, 1] over the given points (constant objectives become 0)."""
    F = _check_front(F)
    lo, hi = F.min(axis=0), F.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return (F - lo) / span


def knee_index(F: np.ndarray) -> int:
    """Index of the knee of a maximised front ``F`` (n, M)."""
    G = normalise(F)
    n, m = G.shape
    if n <= 2 or m == 1:
        return int(np.argmax(G.sum(axis=1)))
    extremes = G[np.argmax(G + 1e-9 * G.sum(axis=1, keepdims=True), axis=0)]  # (M, M)
    try:
        w = np.linalg.solve(extremes, np.ones(m))
    except np.linalg.LinAlgError:
        w = None
    if w is None or not np.all(np.isfinite(w)) or np.linalg.cond(extremes) > 1e12:
        return int(np.argmin(np.linalg.norm(1.0 - G, axis=1)))
    # Signed distance beyond the plane w.x = 1, towards the ideal point.
    return int(np.argmax((G @ w - 1.0) / np.linalg.norm(w)))


def angles(F: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Angle (radians) between every row of ``F`` (n, M) and every anchor (a, M): (n, a)."""
    F = _check_front(F)
    A = _check_front(anchors)
    if A.shape[1] != F.shape[1]:
        raise ValueError(f"anchors have {A.shape[1]} objectives, F has {F.shape[1]}")
    nf = np.linalg.norm(F, axis=1, keepdims=True)
    na = np.linalg.norm(A, axis=1, keepdims=True)
    cos = (F @ A.T) / np.maximum(nf * na.T, 1e-300)
    return np.arccos(np.clip(cos, -1.0, 1.0))


def angular_index(F: np.ndarray, anchors: np.ndarray) -> int:
    """Index of the solution with the smallest mean angle to the anchors (PreferRec eq. 14)."""
    return int(np.argmin(angles(F, anchors).mean(axis=1)))

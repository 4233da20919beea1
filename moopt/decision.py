"""Choosing one solution from a Pareto front (all objectives maximised here).

* ``knee_index``: the knee of the front, the point farthest beyond the hyperplane
  through the front's extreme points in objective space normalised to [0, 1] (Das, "On
  characterizing the 'knee' of the Pareto curve based on normal-boundary intersection",
  1999; Branke et al., PPSN 2004). When the extreme points do not span a hyperplane the
  point closest to the ideal point is taken instead.
* ``angular_index``: PreferRec's final selection (section 4.3, eq. 14): the solution
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
    """Scale each objective to [0, 1] over the given points (constant objectives become 0).

    Parameters
    ----------
    F : array_like, shape (n, M)
        Objective values of ``n`` points, finite.

    Returns
    -------
    numpy.ndarray, shape (n, M)
        ``(F - min) / (max - min)`` per column (a constant column gives 0).

    Raises
    ------
    ValueError
        If ``F`` is not a non-empty 2-D array or holds NaN/inf.

    Examples
    --------
    >>> import numpy as np
    >>> from moopt.decision import normalise
    >>> normalise(np.array([[0.0, 2.0], [1.0, 2.0], [0.5, 2.0]]))
    array([[0. , 0. ],
           [1. , 0. ],
           [0.5, 0. ]])
    """
    F = _check_front(F)
    lo, hi = F.min(axis=0), F.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return (F - lo) / span


def knee_index(F: np.ndarray) -> int:
    """Index of the knee of a maximised front.

    Parameters
    ----------
    F : array_like, shape (n, M)
        Objective values of the front's points, all maximised, finite.

    Returns
    -------
    int
        Row of ``F`` farthest beyond the hyperplane through the normalised extreme points
        (with 1 or 2 points or one objective: the largest sum of normalised values; with
        degenerate extremes: the point closest to the ideal point).

    Examples
    --------
    >>> import numpy as np
    >>> from moopt.decision import knee_index
    >>> F = np.array([[1.0, 0.0], [0.8, 0.7], [0.5, 0.8], [0.0, 1.0]])
    >>> knee_index(F)
    1
    """
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
    """Angle between every point of a front and every anchor.

    Parameters
    ----------
    F : array_like, shape (n, M)
        Objective vectors of the points, finite.
    anchors : array_like, shape (a, M)
        Objective vectors of the anchors, finite, same ``M``.

    Returns
    -------
    numpy.ndarray, shape (n, a)
        Angle in radians, in [0, pi], between row ``i`` of ``F`` and anchor ``j``.

    Raises
    ------
    ValueError
        If either array is empty, not 2-D, non-finite, or their objective counts differ.

    Examples
    --------
    >>> import numpy as np
    >>> from moopt.decision import angles
    >>> np.degrees(angles([[1.0, 0.0], [1.0, 1.0]], [[0.0, 1.0]])).round(1)
    array([[90.],
           [45.]])
    """
    F = _check_front(F)
    A = _check_front(anchors)
    if A.shape[1] != F.shape[1]:
        raise ValueError(f"anchors have {A.shape[1]} objectives, F has {F.shape[1]}")
    nf = np.linalg.norm(F, axis=1, keepdims=True)
    na = np.linalg.norm(A, axis=1, keepdims=True)
    cos = (F @ A.T) / np.maximum(nf * na.T, 1e-300)
    return np.arccos(np.clip(cos, -1.0, 1.0))


def angular_index(F: np.ndarray, anchors: np.ndarray) -> int:
    """Index of the solution with the smallest mean angle to the anchors (PreferRec eq. 14).

    Parameters
    ----------
    F : array_like, shape (n, M)
        Objective vectors of the front's points, finite.
    anchors : array_like, shape (a, M)
        Objective vectors of the anchors, finite, same ``M``.

    Returns
    -------
    int
        Row of ``F`` whose mean angle (see ``angles``) to the anchors is smallest.

    Examples
    --------
    >>> from moopt.decision import angular_index
    >>> F = [[1.0, 0.0], [0.7, 0.7], [0.0, 1.0]]
    >>> angular_index(F, [[0.9, 1.0], [1.0, 0.8]])
    1
    """
    return int(np.argmin(angles(F, anchors).mean(axis=1)))

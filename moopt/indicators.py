"""Front indicators' helpers shared by the comparison harness.

The non-dominated rows of a set of objective vectors, the default hypervolume reference
point of a comparison, and a problem's known Pareto front (pymoo's test problems give
one). ``moopt.compare`` uses them and re-exports them under its own name.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting


def nondominated(F: np.ndarray) -> np.ndarray:
    """Return the non-dominated rows of ``F`` (minimisation), duplicates kept once.

    Parameters
    ----------
    F : array_like, shape (n, M)
        Objective values.

    Returns
    -------
    numpy.ndarray, shape (m, M)
        The non-dominated rows, in the sorted order of the unique rows.
    """
    F = np.asarray(F, dtype=float)
    return F[_nondominated_index(F)] if len(F) else np.unique(F, axis=0)


def _nondominated_index(F: np.ndarray) -> np.ndarray:
    """Row indices of ``nondominated`` ``(F)``, in its order (non-empty ``F``): the
    first of each set of equal rows, so decision vectors can follow their objectives."""
    _, first = np.unique(F, axis=0, return_index=True)
    if len(first) <= 1:
        return first
    return first[NonDominatedSorting().do(F[first], only_non_dominated_front=True)]


def reference_point(fronts: Sequence[np.ndarray], scale: float = 0.1) -> np.ndarray:
    """The default hypervolume reference point of a comparison, in the problem's units.

    The worst value of each objective over all ``fronts`` plus ``scale`` times its range;
    where an objective took a single value, ``scale`` times that value's magnitude (at
    least 1e-8), the rule ``moopt.algorithms.mobo.infer_reference_point`` follows.

    Parameters
    ----------
    fronts : sequence of array_like
        Non-empty (n_i, M) arrays of objective values (minimisation).
    scale : float, default 0.1
        Fraction of the range (or magnitude) added beyond the worst value.

    Returns
    -------
    numpy.ndarray
        The (M,) reference point.
    """
    F = np.vstack([np.asarray(f, dtype=float) for f in fronts])
    lo, hi = F.min(axis=0), F.max(axis=0)
    span = np.where(hi > lo, hi - lo, np.maximum(np.abs(hi), 1e-8))
    return hi + scale * span


def known_front(problem) -> np.ndarray | None:
    """Return the problem's Pareto front if it can give one (pymoo's test problems do).

    Parameters
    ----------
    problem : pymoo.core.problem.Problem
        The problem.

    Returns
    -------
    numpy.ndarray or None
        The finite (n, n_obj) front, or None.
    """
    try:
        pf = problem.pareto_front()
    except Exception:  # a problem without a known front may raise anything here
        return None
    if pf is None:
        return None
    pf = np.asarray(pf, dtype=float)
    if pf.ndim != 2 or pf.shape[1] != problem.n_obj or not np.all(np.isfinite(pf)):
        return None
    return pf

"""Each row's K largest values, in one pass (a Numba kernel shared by the objectives,
the engine's seeds and the Pareto learner's proposals)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def top_k_rows(scores, k):
    """Per row of ``scores`` (R, N), the indices of the k largest values, largest first,
    ties (and NaNs, which come last) in index order: ``np.argsort(-scores, axis=1,
    kind="stable")[:, :k]`` without sorting whole rows (one pass with a sorted buffer of
    k)."""
    r, n = scores.shape
    if k < 1 or k > n:
        raise ValueError("k must lie in [1, N] (the number of columns of scores)")
    out = np.empty((r, k), dtype=np.int64)
    for row in prange(r):
        vals = np.empty(k, dtype=scores.dtype)
        filled = 0
        for i in range(n):
            v = scores[row, i]
            if filled == k:
                last = vals[k - 1]
                if np.isnan(v) or not (np.isnan(last) or v > last):
                    continue
                j = k - 1
            else:
                j = filled
                filled += 1
            # Move worse entries one place down; equal ones stay ahead (earlier index).
            while j > 0 and not np.isnan(v) and (np.isnan(vals[j - 1]) or v > vals[j - 1]):
                vals[j] = vals[j - 1]
                out[row, j] = out[row, j - 1]
                j -= 1
            vals[j] = v
            out[row, j] = i
    return out

"""Float rounding that makes computed inputs the same on every CPU.

A leaf module (numpy only): the engine's novelty and ``recommenders.evaluate``'s
calibrated probabilities both round with it, so it must not import the engine.
"""

from __future__ import annotations

import numpy as np


def portable_round(values) -> np.ndarray:
    """``values`` rounded to the nearest float32 and returned as float64.

    For inputs of the search computed with numpy's ``exp``/``log`` family (calibrated
    probabilities, novelty): those functions can take CPU-specific code paths whose
    results differ between machines in the last bits of a float64 (``exp`` does, with and
    without AVX-512), and a search that compares objective values turns such differences
    into different lists. Rounded, the inputs are the same on every machine unless two
    machines' values lie on either side of a float32 rounding boundary (about 2^-26 per
    value for a one-ulp difference). The rounding is IEEE round-to-nearest-even, the same
    everywhere; float32 keeps about seven significant digits, far below any difference
    that matters to a recommendation.
    Non-finite values pass through unchanged (validation reports them).

    Parameters
    ----------
    values : array_like
        Real values of any shape.

    Returns
    -------
    numpy.ndarray
        float64 array of the same shape holding the nearest float32 of each value; values
        beyond float32's range and non-finite values are kept as given.

    Examples
    --------
    >>> from moopt.portable import portable_round
    >>> portable_round([0.1, 1e300, float("nan")])
    array([1.00000001e-001, 1.00000000e+300,             nan])
    >>> float(portable_round(0.1)) == float(__import__("numpy").float32(0.1))
    True
    """
    arr = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore"):
        out = arr.astype(np.float32).astype(np.float64)
    big = np.isfinite(arr) & ~np.isfinite(out)  # beyond float32's range: keep as given
    if big.any():
        out[big] = arr[big]
    return out

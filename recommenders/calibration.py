"""Temperature scaling: a base ranker's logits as calibrated hit probabilities.

A ranker scores items with arbitrary logits ``s``. Temperature scaling (Guo et al., 2017)
turns them into next-item probabilities with one parameter ``T > 0`` per model:

    q_ui = exp(s_ui / T) / sum_{j in C_u} exp(s_uj / T)

where ``C_u`` is the set the probabilities are normalised over. ``T`` is fitted by maximum
likelihood of held-out targets (``fit_temperature``), on the *validation* stage, so
nothing about the test stage is used. Two protocols differ only in ``C_u``:

* **full**: ``C_u`` is the whole catalogue minus the user's seen items (the history of
  the stage: train for validation, train + validation for test). A re-ranker only keeps
  the top-N candidates, so it needs the row normaliser ``log_norm = log sum_{C_u} exp(s/T)``
  computed over the catalogue (``log_partition`` with the seen items masked) to turn
  a candidate's score into its probability (``hit_probabilities``); the top-N
  probabilities then sum to at most 1, the probability that the target is among them.
* **sampled**: ``C_u`` is the user's 1 + 99 sampled candidates, so the probabilities are
  a plain softmax of the candidate scores at ``T`` and sum to 1.

``calibration_table`` and ``expected_calibration_error`` check the result: per
bin of predicted ``q``, the mean prediction against the observed hit frequency.

Every function validates its input and raises ``ValueError`` / ``TypeError`` naming the
offending argument rather than returning NaN.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

# Rows per block when working in float64, so temporaries stay near 32 MB whatever U is.
_BLOCK_ENTRIES = 1 << 22


# ----------------------------------------------------------------- input validation


def _check_scores(scores, name: str = "scores") -> np.ndarray:
    arr = np.asarray(scores)
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name} must be a real-valued array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (users, items) array, got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no columns; pass at least one item per row")
    finite = np.isfinite(arr)
    if not finite.all():
        r, c = np.argwhere(~finite)[0]
        raise ValueError(
            f"{name} holds {int((~finite).sum())} NaN or infinite value(s) (first at row {r}, "
            f"column {c}); exclude items with mask=... instead of -inf scores, and check the "
            "model's output"
        )
    return arr


def _check_temperature(temperature, name: str = "temperature") -> float:
    if isinstance(temperature, (bool, np.bool_)) or not isinstance(
        temperature, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{name} must be a number, got {type(temperature).__name__}")
    t = float(temperature)
    if not math.isfinite(t) or t <= 0:
        raise ValueError(
            f"{name} must be a finite number > 0, got {temperature!r}; fit one with "
            "fit_temperature"
        )
    return t


def _check_mask(mask, shape: tuple[int, ...]) -> np.ndarray | None:
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"mask must be a boolean array (True = excluded), got dtype {m.dtype}")
    if m.shape != shape:
        raise ValueError(f"mask has shape {m.shape} but scores have shape {shape}; they must match")
    return m


def _check_target(target_col, shape: tuple[int, int]) -> np.ndarray:
    t = np.asarray(target_col)
    if t.dtype == bool or not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"target_col must hold integer column indices, got dtype {t.dtype}")
    if t.shape != (shape[0],):
        raise ValueError(
            f"target_col must have shape ({shape[0]},), one column per row of scores, got "
            f"{t.shape}"
        )
    bad = (t < -1) | (t >= shape[1])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"target_col[{i}] = {int(t[i])} is out of range: columns run 0..{shape[1] - 1} "
            "(-1 marks a missing target)"
        )
    return t.astype(np.int64)


def _check_log_norm(log_norm, n_rows: int, name: str = "log_norm") -> np.ndarray:
    arr = np.asarray(log_norm, dtype=np.float64)
    if arr.shape != (n_rows,):
        raise ValueError(
            f"{name} must have shape ({n_rows},), one normaliser per row of scores, got "
            f"{arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} holds NaN or infinite values; a row with every item masked has no "
            "normaliser, drop it"
        )
    return arr


# ----------------------------------------------------------------- temperature scaling


def log_partition(scores, temperature, mask=None) -> np.ndarray:
    """Per-row ``log sum_j exp(scores[u, j] / temperature)`` over the unmasked entries.

    Computed in float64 with the row maximum subtracted, so large logits or small
    temperatures do not overflow.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite real scores, ``N >= 1``.
    temperature : float
        Finite ``T > 0``.
    mask : numpy.ndarray, optional
        ``(U, N)`` bool, True = excluded from the sum (e.g. the user's seen items).

    Returns
    -------
    numpy.ndarray
        ``(U,)`` float64; ``-inf`` for a row with every entry masked (an empty sum).

    Raises
    ------
    TypeError
        Non-real ``scores``, non-numeric ``temperature`` or non-bool ``mask``.
    ValueError
        ``scores`` not 2-D, empty or non-finite; ``temperature <= 0``; ``mask`` shape.

    Examples
    --------
    >>> s = np.array([[0.0, 0.0, 5.0], [1.0, 1.0, 1.0]])
    >>> log_partition(s, 1.0, mask=np.array([[False, False, True], [False] * 3]))
    array([0.6931, 2.0986])
    """
    s = _check_scores(scores)
    t = _check_temperature(temperature)
    m = _check_mask(mask, s.shape)
    u, n = s.shape
    out = np.empty(u, dtype=np.float64)
    step = max(1, _BLOCK_ENTRIES // n)
    for start in range(0, u, step):
        x = s[start : start + step].astype(np.float64) / t
        if m is not None:
            x[m[start : start + step]] = -np.inf
        top = x.max(axis=1)
        empty = np.isneginf(top)
        top[empty] = 0.0
        with np.errstate(divide="ignore"):
            lse = top + np.log(np.exp(x - top[:, None]).sum(axis=1))
        lse[empty] = -np.inf
        out[start : start + step] = lse
    return out


def fit_temperature(
    scores,
    target_col,
    *,
    mask=None,
    log_norm_fn: Callable[[float], np.ndarray] | None = None,
    bounds: tuple[float, float] = (0.05, 20.0),
) -> float:
    """The temperature minimising the targets' mean negative log-likelihood.

    Minimises ``NLL(T) = -mean_u log softmax(scores[u] / T)[target_col[u]]``, the softmax
    normalised over row ``u``'s unmasked entries (``mask`` True = excluded), with
    ``scipy.optimize.minimize_scalar`` (bounded) over ``log T`` in ``bounds``. The NLL
    is convex in ``1 / T``, hence unimodal in ``log T``, so the bounded search finds the
    global optimum inside ``bounds``; an optimum at a bound gives a ``RuntimeWarning``
    (widen ``bounds``: the right scale follows the scores' spread, e.g. popularity counts
    need a large T).

    What a row holds decides what the probabilities mean:

    * **full** protocol: the rows are the whole catalogue with the user's seen items
      (the stage's history) masked, ``target_col`` the held-out item's id;
    * **sampled** protocol: the rows are the 1 + 99 candidates, target in column 0.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite real scores, ``U >= 1``.
    target_col : numpy.ndarray
        ``(U,)`` int column of each row's target. Every row needs one: ``-1`` (missing)
        or a masked target is a ``ValueError``; drop such rows before calling
        (``scores[keep]``, ``target_col[keep]``, ``mask[keep]``).
    mask : numpy.ndarray, optional
        ``(U, N)`` bool, True = excluded from the normaliser.
    log_norm_fn : callable, optional
        ``T -> (U,)`` finite row normalisers replacing ``log_partition(scores, T, mask)``,
        for normalisers over more entries than ``scores`` holds (computed in chunks, say);
        ``scores`` then only has to contain each row's target.
    bounds : tuple of float, default (0.05, 20.0)
        The search interval of T, ``0 < low < high``.

    Returns
    -------
    float
        The fitted temperature.

    Raises
    ------
    TypeError
        Bad dtypes, ``bounds`` not two numbers, or a non-callable ``log_norm_fn``.
    ValueError
        Bad shapes or values, rows without a usable target, bad ``bounds``, or a
        ``log_norm_fn`` below a row's target term (a probability above 1).

    Examples
    --------
    Two candidates one logit apart, the top one the target in 3 rows of 4: the fit
    solves sigmoid(1 / T) = 3/4, so T = 1 / ln 3.

    >>> s = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> round(fit_temperature(s, np.zeros(4, dtype=int)), 4)
    0.9102
    """
    s = _check_scores(scores)
    m = _check_mask(mask, s.shape)
    target = _check_target(target_col, s.shape)
    if s.shape[0] == 0:
        raise ValueError("scores has no rows; fitting a temperature needs at least one target")
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise TypeError(f"bounds must be two numbers (low, high), got {bounds!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        raise ValueError(f"bounds must satisfy 0 < low < high (finite), got {bounds!r}")
    rows = np.arange(s.shape[0])
    missing = target < 0
    if m is not None:
        missing |= m[rows, np.maximum(target, 0)]
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"target_col: {int(missing.sum())} row(s) have no usable target (-1 or a masked "
            f"column; first row {i}); drop those rows before fitting, e.g. keep = target_col "
            ">= 0 & ~mask[rows, target_col]"
        )
    target_scores = s[rows, target].astype(np.float64)
    if log_norm_fn is not None and not callable(log_norm_fn):
        raise TypeError(f"log_norm_fn must be callable T -> (U,), got {type(log_norm_fn).__name__}")

    def nll(log_t: float) -> float:
        t = math.exp(log_t)
        if log_norm_fn is None:
            lz = log_partition(s, t, m)
        else:
            lz = _check_log_norm(log_norm_fn(t), s.shape[0], "log_norm_fn(T)")
            excess = target_scores / t - lz
            if excess.max() > 1e-6 * max(1.0, float(np.abs(lz).max())):
                raise ValueError(
                    "log_norm_fn(T) is below a row's target term s/T, i.e. a probability > 1; "
                    "it must sum over a set that contains the target at the same temperature"
                )
        return float(np.mean(lz - target_scores / t))

    res = minimize_scalar(
        nll, bounds=(math.log(lo), math.log(hi)), method="bounded", options={"xatol": 1e-6}
    )
    temperature = math.exp(float(res.x))
    if min(res.x - math.log(lo), math.log(hi) - res.x) < 1e-3:
        warnings.warn(
            f"the fitted temperature {temperature:.4g} lies at the edge of bounds={bounds}; "
            "the optimum may lie outside, widen bounds",
            RuntimeWarning,
            stacklevel=2,
        )
    return temperature


def hit_probabilities(scores, temperature, log_norm) -> np.ndarray:
    """Calibrated probabilities ``exp(scores / T - log_norm[:, None])`` of candidate scores.

    The row normaliser may have been computed over a larger set (the full unseen
    catalogue), so each row sums to at most 1; over the same set it sums to 1.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite real candidate scores.
    temperature : float
        Finite ``T > 0``.
    log_norm : numpy.ndarray
        ``(U,)`` finite row normalisers, from ``log_partition`` at the same ``T``.

    Returns
    -------
    numpy.ndarray
        ``(U, N)`` float64 probabilities.

    Raises
    ------
    TypeError
        Non-real ``scores`` or non-numeric ``temperature``.
    ValueError
        Bad shapes or values, or a row summing to clearly more than 1 (the normaliser does
        not belong to these scores: another temperature, model or set).

    Examples
    --------
    The top 2 of 3 items, normalised over all 3:

    >>> s = np.array([[2.0, 1.0, 0.0]])
    >>> hit_probabilities(s[:, :2], 1.0, log_partition(s, 1.0))
    array([[0.6652, 0.2447]])
    """
    s = _check_scores(scores)
    t = _check_temperature(temperature)
    lz = _check_log_norm(log_norm, s.shape[0])
    q = np.exp(s.astype(np.float64) / t - lz[:, None])
    total = q.sum(axis=1)
    if total.size and total.max() > 1 + 1e-4:
        i = int(np.argmax(total))
        raise ValueError(
            f"row {i} of the probabilities sums to {total[i]:.6g} > 1: log_norm was not "
            "computed over a superset of these scores at this temperature"
        )
    return q


# ----------------------------------------------------------------- reliability


def _check_q_hits(q, hits) -> tuple[np.ndarray, np.ndarray]:
    q_arr = np.asarray(q)
    if q_arr.dtype == bool or not (
        np.issubdtype(q_arr.dtype, np.floating) or np.issubdtype(q_arr.dtype, np.integer)
    ):
        raise TypeError(f"q must hold probabilities (floats), got dtype {q_arr.dtype}")
    h = np.asarray(hits)
    if q_arr.shape != h.shape:
        raise ValueError(f"q has shape {q_arr.shape} but hits has {h.shape}; they must match")
    if q_arr.size == 0:
        raise ValueError("q is empty; a calibration table needs predictions")
    q_arr = q_arr.astype(np.float64).ravel()
    if not np.all(np.isfinite(q_arr)) or q_arr.min() < 0 or q_arr.max() > 1 + 1e-9:
        raise ValueError("q must hold probabilities in [0, 1]; pass hit_probabilities' output")
    if h.dtype != bool:
        if not (np.issubdtype(h.dtype, np.number) and np.all((h == 0) | (h == 1))):
            raise ValueError("hits must hold booleans (or 0/1): whether each prediction hit")
        h = h.astype(bool)
    return np.minimum(q_arr, 1.0), h.ravel()


def calibration_table(q, hits, n_bins: int = 10, strategy: str = "quantile") -> pd.DataFrame:
    """Reliability-diagram table of predictions ``q`` against outcomes ``hits``.

    Parameters
    ----------
    q : numpy.ndarray
        Probabilities in [0, 1], any shape (flattened), e.g. ``(U, N)`` of the candidates.
    hits : numpy.ndarray
        Bool (or 0/1) of ``q``'s shape: whether each candidate is the user's target.
    n_bins : int, default 10
        Number of bins, ``>= 1``. Empty bins are left out.
    strategy : {"quantile", "uniform"}, default "quantile"
        ``"quantile"`` is **equal-mass**, the predictions sorted and cut into ``n_bins``
        groups of (nearly) equal size, which suits the heavily skewed hit probabilities of
        a large catalogue; ``"uniform"`` is **equal-width** on [0, 1].

    Returns
    -------
    pandas.DataFrame
        One row per bin: ``bin``, ``q_low``/``q_high`` (the bin's edges for equal-width,
        the smallest and largest prediction in it for equal-mass), ``mean_q`` (mean
        prediction), ``hit_rate`` (observed hit frequency) and ``count``. A calibrated
        model has ``mean_q ~ hit_rate`` in every bin.

    Raises
    ------
    TypeError
        Non-float ``q``.
    ValueError
        Shapes differ, ``q`` empty or outside [0, 1], ``hits`` not 0/1, bad ``n_bins`` or
        ``strategy``.

    Examples
    --------
    >>> q, hits = np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])
    >>> calibration_table(q, hits, n_bins=2)[["mean_q", "hit_rate", "count"]]
       mean_q  hit_rate  count
    0    0.15       0.0      2
    1    0.85       1.0      2
    """
    q_arr, h = _check_q_hits(q, hits)
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    if strategy == "quantile":
        order = np.argsort(q_arr, kind="stable")
        groups = [g for g in np.array_split(order, n_bins) if g.size]
        lows = [q_arr[g].min() for g in groups]
        highs = [q_arr[g].max() for g in groups]
    elif strategy == "uniform":
        which = np.clip(np.floor(q_arr * n_bins).astype(np.int64), 0, n_bins - 1)
        groups, lows, highs = [], [], []
        for b in range(n_bins):
            g = np.flatnonzero(which == b)
            if g.size:
                groups.append(g)
                lows.append(b / n_bins)
                highs.append((b + 1) / n_bins)
    else:
        raise ValueError(f"strategy must be 'quantile' (equal-mass) or 'uniform', got {strategy!r}")
    return pd.DataFrame(
        {
            "bin": np.arange(len(groups)),
            "q_low": np.asarray(lows, dtype=np.float64),
            "q_high": np.asarray(highs, dtype=np.float64),
            "mean_q": [float(q_arr[g].mean()) for g in groups],
            "hit_rate": [float(h[g].mean()) for g in groups],
            "count": np.asarray([g.size for g in groups], dtype=np.int64),
        }
    )


def expected_calibration_error(q, hits, n_bins: int = 10, strategy: str = "quantile") -> float:
    """ECE: the count-weighted mean of ``|mean_q - hit_rate|`` over the calibration bins.

    Parameters
    ----------
    q, hits : numpy.ndarray
        Predictions and outcomes, as for ``calibration_table``.
    n_bins : int, default 10
        Number of bins, ``>= 1``.
    strategy : {"quantile", "uniform"}, default "quantile"
        Equal-mass or equal-width bins, as for ``calibration_table``.

    Returns
    -------
    float
        ECE in [0, 1]; 0 for a perfectly calibrated model.

    Raises
    ------
    TypeError, ValueError
        As ``calibration_table``.

    Examples
    --------
    >>> q, hits = np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])
    >>> expected_calibration_error(q, hits, n_bins=2)
    0.15
    """
    table = calibration_table(q, hits, n_bins=n_bins, strategy=strategy)
    weights = table["count"].to_numpy() / table["count"].sum()
    return float(np.sum(weights * np.abs(table["mean_q"] - table["hit_rate"])))

"""Input validation and score scaling shared by the re-rankers: each check raises
``ValueError`` / ``TypeError`` with a message naming the argument.
"""

from __future__ import annotations

import numpy as np

# ----------------------------------------------------------------- input validation


def _check_scores(scores, ndim: int, batch_name: str | None = None) -> np.ndarray:
    arr = np.asarray(scores)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"scores must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        if ndim == 1:
            hint = f"; use {batch_name} for a (U, N) batch" if batch_name else ""
            raise ValueError(f"scores must be 1-D (N,) for one user, got shape {arr.shape}{hint}")
        raise ValueError(f"scores must be 2-D (U, N), got shape {arr.shape}")
    if arr.shape[-1] == 0:
        raise ValueError("scores hold no candidates (N = 0); re-ranking needs N >= 1")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("scores contain NaN or infinite values; clean the base ranker output")
    return arr


def _check_k(k, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an integer, got {type(k).__name__} {k!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if k > n:
        raise ValueError(
            f"k={k} is larger than the candidate set (N={n}); retrieve more candidates "
            "or ask for a shorter list"
        )
    return int(k)


def _check_param(
    value, name: str, low: float, high: float | None, high_open: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    ok = np.isfinite(value) and value >= low
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        if high is None:
            interval = f"[{low:g}, inf)"
        else:
            interval = f"[{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return value


def _check_similarity(similarity, shape: tuple[int, ...]) -> np.ndarray:
    sim = np.asarray(similarity)
    if sim.dtype == object or not (
        np.issubdtype(sim.dtype, np.number) or np.issubdtype(sim.dtype, np.bool_)
    ):
        raise TypeError(f"similarity must be a numeric array, got dtype {sim.dtype}")
    if sim.shape != shape:
        raise ValueError(
            f"similarity must have shape {shape} to match scores, got {sim.shape}; "
            "build it with candidate_similarity(candidates, ...)"
        )
    sim = sim.astype(np.float64)
    if not np.all(np.isfinite(sim)):
        raise ValueError("similarity contains NaN or infinite values")
    return sim


def _check_embeddings(embeddings, shape: tuple[int, ...]) -> np.ndarray:
    emb = np.asarray(embeddings)
    if emb.dtype == object or not np.issubdtype(emb.dtype, np.number):
        raise TypeError(f"embeddings must be a numeric array, got dtype {emb.dtype}")
    want = "(" + ", ".join(str(s) for s in shape) + ", d)"
    if emb.ndim != len(shape) + 1 or emb.shape[:-1] != shape or emb.shape[-1] == 0:
        raise ValueError(
            f"embeddings must have shape {want} (one d-vector per candidate, d >= 1) "
            f"to match scores, got {emb.shape}"
        )
    emb = emb.astype(np.float64)
    if not np.all(np.isfinite(emb)):
        raise ValueError("embeddings contain NaN or infinite values")
    return emb


def _check_window(window) -> int:
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)):
        raise TypeError(f"window must be an integer, got {type(window).__name__} {window!r}")
    if window < 1:
        raise ValueError(
            f"window must be at least 1 (items kept in the sliding window), got {window}"
        )
    return int(window)


def _one_user(array, name: str, shape: tuple[int, ...], batch_name: str) -> np.ndarray:
    """Add the user axis to a single-user ``similarity`` / ``embeddings`` argument.

    Checking the shape here keeps the error in the caller's terms ((N, N), not (1, N, N)).
    """
    arr = np.asarray(array)
    if arr.shape[: len(shape)] != shape or arr.ndim != len(shape) + (name == "embeddings"):
        want = "(" + ", ".join(str(s) for s in shape) + (", d)" if name == "embeddings" else ")")
        raise ValueError(
            f"{name} must have shape {want} to match scores, got {arr.shape}; "
            f"use {batch_name} for a batch of users"
        )
    return arr[None]


def _minmax(scores: np.ndarray) -> np.ndarray:
    low = scores.min(axis=1, keepdims=True)
    span = scores.max(axis=1, keepdims=True) - low
    # A constant row carries no ranking information; mapping it to 0 (not 0/0) leaves the
    # decision to the diversity term and never produces NaN.
    return np.divide(scores - low, span, out=np.zeros_like(scores), where=span > 0)


def _check_candidates(candidates, shape: tuple[int, ...], n_items: int, catalogue: str):
    """Item ids of each user's candidates: ints of the scores' shape, distinct within a
    row, inside the catalogue that ``catalogue`` (an argument name) describes."""
    cand = np.asarray(candidates)
    if cand.shape != shape or (cand.size and not np.issubdtype(cand.dtype, np.integer)):
        raise ValueError(f"candidates must be an int array of the scores' shape {shape}, got "
                         f"{cand.dtype} {cand.shape}")  # fmt: skip
    if cand.size and (cand.min() < 0 or cand.max() >= n_items):
        raise ValueError(f"candidates hold item ids outside [0, {n_items}) of {catalogue}")
    srt = np.sort(cand, axis=1)
    if cand.size and np.any(srt[:, 1:] == srt[:, :-1]):
        raise ValueError("candidates repeat an item within a user's row; deduplicate them")
    return cand.astype(np.int64, copy=False)

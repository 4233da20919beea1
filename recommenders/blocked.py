"""Full ranking, sampled scoring and candidates in blocks of users under a memory budget.

At ML-20M size (138,493 users, 26,744 items) one users x items score matrix is 14.8 GB
of float32; here no step holds more than one block of users' scores. A block's working
memory is about ``BYTES_PER_ENTRY`` bytes per (user, item) score (the scores, the
seen-item mask and the top-n partition's temporaries), so a budget of B bytes gives
blocks of ``B // (BYTES_PER_ENTRY * n_items)`` users; a budget too small for one user is
refused before anything is allocated. Per-user outputs (top-n lists, sampled sets) come
on top of the budget: ``write_candidates`` streams them to a candidates directory
(``recommenders.candidates_io``) block by block instead of holding them.

``recommenders.evaluate.evaluate`` and ``candidates`` rank through ``topk_blocked`` and
``score_blocked``; the lists and metrics do not depend on the block size (tested).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .calibration import log_partition
from .candidates_io import CandidatesWriter
from .data.split import Split, sample_negatives
from .models.base import Ranker
from .topn import seen_entries, top_n

#: Bytes of working memory per (user, item) score of a block (see the module docstring).
BYTES_PER_ENTRY = 32

#: The budget when none is given: 1 GiB, blocks of 1,254 users at 26,744 items.
DEFAULT_MEMORY_BUDGET = 1 << 30


def users_per_block(
    n_items: int, memory_budget: int | None = None, bytes_per_entry: int = BYTES_PER_ENTRY
) -> int:
    """Users whose scores over ``n_items`` fit ``memory_budget`` at once.

    Parameters
    ----------
    n_items : int
        Catalogue size, ``>= 1``.
    memory_budget : int, optional
        Bytes of working memory for one block; ``None`` means ``DEFAULT_MEMORY_BUDGET``.
    bytes_per_entry : int, default BYTES_PER_ENTRY
        Working bytes per (user, item) score.

    Returns
    -------
    int
        The block size, ``>= 1``.

    Raises
    ------
    ValueError
        A budget that does not hold one user's scores (naming the least that does), or
        a non-positive ``n_items``.

    Examples
    --------
    >>> users_per_block(26_744, 1 << 30)
    1254
    """
    budget = DEFAULT_MEMORY_BUDGET if memory_budget is None else memory_budget
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)):
        raise TypeError(f"memory_budget must be an integer number of bytes, got {budget!r}")
    if n_items < 1:
        raise ValueError(f"n_items must be >= 1, got {n_items}")
    per_user = int(n_items) * int(bytes_per_entry)
    if budget < per_user:
        raise ValueError(f"memory_budget={int(budget):,} bytes cannot hold one user's scores over "
                         f"{n_items:,} items ({per_user:,} bytes); raise it to at least "
                         f"{per_user:,}")  # fmt: skip
    return int(budget) // per_user


def user_blocks(n: int, block: int, desc: str = "", verbose: bool = False) -> Iterator[slice]:
    """Consecutive slices of ``block`` rows covering ``range(n)``, with a progress bar.

    Parameters
    ----------
    n : int
        Rows in all.
    block : int
        Rows per slice, ``>= 1`` (the last may be shorter).
    desc : str, default ""
        The bar's label.
    verbose : bool, default False
        Show the bar (tqdm, counting users).

    Yields
    ------
    slice
        ``slice(start, min(start + block, n))``.

    Examples
    --------
    >>> [(s.start, s.stop) for s in user_blocks(5, 2)]
    [(0, 2), (2, 4), (4, 5)]
    """
    with tqdm(total=n, desc=desc, unit="user", disable=not verbose, leave=False) as bar:
        for start in range(0, n, block):
            stop = min(start + block, n)
            yield slice(start, stop)
            bar.update(stop - start)


def topk_blocked(
    model: Ranker,
    users: np.ndarray,
    n: int,
    *,
    exclude_seen: bool = True,
    memory_budget: int | None = None,
    verbose: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``model.topk`` over blocks of users that fit ``memory_budget``.

    Parameters
    ----------
    model : Ranker
        A fitted ranker, its history set.
    users : numpy.ndarray
        ``(U,)`` int user ids.
    n : int
        List length.
    exclude_seen : bool, default True
        Mask the history's items.
    memory_budget : int, optional
        Bytes of working memory per block (``users_per_block``).
    verbose : bool, default False
        Show a progress bar.

    Returns
    -------
    items, scores : numpy.ndarray
        ``(U, n)`` int64 and float32, as ``Ranker.topk`` returns them.
    """
    users = np.asarray(users)
    block = users_per_block(model.n_items, memory_budget)
    items = np.empty((users.size, n), dtype=np.int64)
    scores = np.empty((users.size, n), dtype=np.float32)
    for sl in user_blocks(users.size, block, f"top-{n} {model.name}", verbose):
        items[sl], scores[sl] = model.topk(users[sl], n, exclude_seen=exclude_seen)
    return items, scores


def score_blocked(
    model: Ranker,
    users: np.ndarray,
    items: np.ndarray,
    *,
    memory_budget: int | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """``model.score(users, items)`` for a list per user, over blocks of users.

    Parameters
    ----------
    model : Ranker
        A fitted ranker, its history set.
    users : numpy.ndarray
        ``(U,)`` int user ids.
    items : numpy.ndarray
        ``(U, M)`` int item ids per user.
    memory_budget : int, optional
        Bytes of working memory per block.
    verbose : bool, default False
        Show a progress bar.

    Returns
    -------
    numpy.ndarray
        ``(U, M)`` float32 scores.
    """
    users, items = np.asarray(users), np.asarray(items)
    block = users_per_block(model.n_items, memory_budget)
    out = np.empty(items.shape, dtype=np.float32)
    for sl in user_blocks(users.size, block, f"score {model.name}", verbose):
        out[sl] = model.score(users[sl], items[sl])
    return out


def log_norms(
    model: Ranker, users: np.ndarray, temperature: float, memory_budget: int | None = None
) -> np.ndarray:
    """Each user's log-normaliser over their unseen catalogue, given the model's history.

    Parameters
    ----------
    model : Ranker
        A fitted ranker; its history's items are masked.
    users : numpy.ndarray
        ``(U,)`` int user ids.
    temperature : float
        ``T > 0``.
    memory_budget : int, optional
        Bytes of working memory per block.

    Returns
    -------
    numpy.ndarray
        ``(U,)`` float64 ``log_partition`` of each user's masked scores (``-inf`` for a
        user whose history holds every item).
    """
    users = np.asarray(users, dtype=np.int64)
    out = np.empty(users.size, dtype=np.float64)
    block = min(users_per_block(model.n_items, memory_budget), model.eval_batch_users)
    for sl in user_blocks(users.size, block):
        out[sl] = log_partition(model.full_scores(users[sl]), temperature,
                                _block_mask(model, users[sl]))  # fmt: skip
    return out


def _block_mask(model: Ranker, users: np.ndarray) -> np.ndarray:
    mask = np.zeros((users.size, model.n_items), dtype=bool)
    mask[seen_entries(model.history.indptr, model.history.items, users)] = True
    return mask


def write_candidates(
    model: Ranker,
    split: Split,
    path: str | os.PathLike,
    n: int = 100,
    stage: str = "test",
    n_negatives: int = 99,
    seed: int = 0,
    *,
    sampled: bool = True,
    temperature_full: float | None = None,
    meta: dict | None = None,
    memory_budget: int | None = None,
    verbose: bool = False,
) -> Path:
    """Write ``recommenders.evaluate.candidates`` of ``stage`` to a directory, block by block.

    Each block of users is scored once: its top-``n`` unseen items, its sampled set's
    scores and (with ``temperature_full``) its full log-normalisers are written into the
    directory's memory-mapped arrays, so memory holds one block's scores plus the
    sampled sets' item ids (``(U, 1 + n_negatives)`` int64, drawn for all users at once
    so that they equal the unblocked ones).

    Parameters
    ----------
    model : Ranker
        A fitted ranker; its history is set to ``split.history(stage)``.
    split : Split
        The split.
    path : str or os.PathLike
        The candidates directory (``recommenders.candidates_io``), replaced atomically.
    n : int, default 100
        Candidates per user; at most the unseen items of every user.
    stage : {"test", "valid"}, default "test"
        The stage whose users and first targets are written.
    n_negatives, seed : int, default 99 and 0
        The sampled protocol's negatives per target and their seed.
    sampled : bool, default True
        Include ``sampled_items``/``sampled_scores``.
    temperature_full : float, optional
        The full protocol's temperature (fitted on validation, ``calibrate``): adds
        ``log_norm_full`` and ``meta_temperature_full``.
    meta : dict, optional
        Strings or numbers stored as ``meta_<key>`` (``stage`` is added).
    memory_budget : int, optional
        Bytes of working memory per block (``users_per_block``).
    verbose : bool, default False
        Show a progress bar.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        A budget below one user, no targets in ``stage``, or ``n`` above some user's
        unseen items.
    """
    block = min(users_per_block(model.n_items, memory_budget), model.eval_batch_users)
    targets = split.targets(stage)
    if len(targets) == 0:
        raise ValueError(f"the split has no {stage} interactions to write candidates for")
    history = split.history(stage)
    model.set_history(history)
    users, first = np.unique(targets.users, return_index=True)
    unseen = model.n_items - int(history.user_counts()[users].max())
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= unseen:
        raise ValueError(f"n must be an integer in [1, {unseen}] (the fewest unseen items of "
                         f"a user), got {n!r}")  # fmt: skip
    with CandidatesWriter(path) as w:
        w.put("users", users)
        w.put("target", targets.items[first])
        items, scores = w.create("items", (users.size, n), np.int64), w.create(
            "scores", (users.size, n), np.float32)
        if sampled:
            known = split.train.concat(split.valid).concat(split.test)
            negatives = w.put("sampled_items", sample_negatives(
                known, users, targets.items[first], n_negatives, seed))
            sampled_scores = w.create("sampled_scores", negatives.shape, np.float32)
        if temperature_full is not None:
            norms = w.create("log_norm_full", users.shape, np.float64)
        for sl in user_blocks(users.size, block, f"candidates {model.name}", verbose):
            full = model.full_scores(users[sl])
            if not np.all(np.isfinite(full)):
                raise FloatingPointError(f"{model.name} produced non-finite scores")
            if sampled:
                sampled_scores[sl] = np.take_along_axis(full, negatives[sl], axis=1)
            mask = _block_mask(model, users[sl])
            if temperature_full is not None:
                norms[sl] = log_partition(full, temperature_full, mask)
            full[mask] = -np.inf
            items[sl], scores[sl] = top_n(full, n)
        w.meta.update({**(meta or {}), "stage": stage})
        if temperature_full is not None:
            w.meta["temperature_full"] = float(temperature_full)
    return Path(path)

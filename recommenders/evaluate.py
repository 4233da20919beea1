"""Evaluation written once for every ranker, and the candidates file re-ranking reads.

Two protocols on a split's validation or test stage:

* **full**: every item is ranked for each user with a held-out target; items in the
  user's history (train, plus validation when testing) are masked.
* **sampled** (PreferRec's protocol): each held-out interaction is ranked against 99
  negatives drawn, with a fixed seed, from items the user never interacted with; ties
  count against the positive.

Candidates files also carry a temperature-scaling calibration fitted on the validation
stage (``calibrate``, ``recommenders.calibration``), so that
``calibrated_scores`` turns either protocol's scores into hit probabilities.
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from moopt.portable import portable_round

from .blocked import log_norms, score_blocked, topk_blocked
from .calibration import fit_temperature, hit_probabilities, log_partition
from .candidates_io import load_candidates, save_candidates  # noqa: F401 - their old home
from .data.interactions import Interactions
from .data.split import Split, sample_negatives
from .metrics import accuracy_report, beyond_accuracy_report, hit_matrix, rank_candidates
from .models.base import Ranker
from .topn import seen_entries


def _all_interactions(split: Split):
    return split.train.concat(split.valid).concat(split.test)


def sampled_candidates(
    split: Split, stage: str = "test", n_negatives: int = 99, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The sampled protocol's candidate sets, one row per held-out interaction of ``stage``.

    Parameters
    ----------
    split : Split
        The split; negatives avoid every item of all three parts.
    stage : {"test", "valid"}, default "test"
        The held-out stage.
    n_negatives : int, default 99
        Negatives per row.
    seed : int, default 0
        Sampling seed.

    Returns
    -------
    users : numpy.ndarray
        ``(R,)`` int64 user of each row.
    candidates : numpy.ndarray
        ``(R, 1 + n_negatives)`` int64; column 0 the positive, the rest never-interacted
        negatives.

    Raises
    ------
    ValueError
        A bad ``stage``, or a user with fewer than ``n_negatives`` never-seen items.
    """
    targets = split.targets(stage)
    return targets.users, sample_negatives(
        _all_interactions(split), targets.users, targets.items, n_negatives, seed
    )


def evaluate(
    model: Ranker,
    split: Split,
    stage: str = "test",
    ks: Iterable[int] = (5, 10, 20),
    item_genres: np.ndarray | None = None,
    item_popularity: np.ndarray | None = None,
    n_negatives: int = 99,
    seed: int = 0,
    memory_budget: int | None = None,
    verbose: bool = False,
) -> dict[str, dict[str, float]]:
    """Metrics of ``model`` on ``stage`` under both protocols.

    The model's history is set to ``split.history(stage)``.

    Parameters
    ----------
    model : Ranker
        A fitted ranker.
    split : Split
        The split; ``stage`` must have interactions.
    stage : {"test", "valid"}, default "test"
        The stage evaluated.
    ks : iterable of int, default (5, 10, 20)
        Cut-offs (the sampled protocol keeps those within its 1 + ``n_negatives``).
    item_genres : numpy.ndarray, optional
        ``(n_items, n_genres)`` bool; adds beyond-accuracy metrics to the full protocol
        (Div, ILD, Nov, ARP, coverage, Gini, entropy, F1/F2).
    item_popularity : numpy.ndarray, optional
        ``(n_items,)`` popularity for Nov and ARP; default the training interaction counts.
    n_negatives, seed : int, default 99 and 0
        The sampled protocol's negatives per target and their seed.
    memory_budget : int, optional
        Bytes of working memory for one block of users' scores
        (``recommenders.blocked.users_per_block``; default 1 GiB); the metrics do not
        depend on it.
    verbose : bool, default False
        Progress bars over the blocks of users.

    Returns
    -------
    dict
        ``{"full": {"HR@10": ...}, "sampled": {...}}``, metric name to mean value.

    Raises
    ------
    ValueError
        ``stage`` has no interactions, a budget below one user's scores, or as the
        metrics and the sampler raise.
    """
    ks = sorted({int(k) for k in ks})
    targets = split.targets(stage)
    if len(targets) == 0:
        raise ValueError(f"the split has no {stage} interactions to evaluate on")
    model.set_history(split.history(stage))
    users = np.unique(targets.users)

    lists, _ = topk_blocked(model, users, max(ks), memory_budget=memory_budget, verbose=verbose)
    hit, n_rel = hit_matrix(lists, users, targets.users, targets.items, split.n_items)
    full = accuracy_report(hit, n_rel, ks)
    if item_genres is not None:
        pop = split.train.item_counts() if item_popularity is None else item_popularity
        recall_at = {k: full[f"Recall@{k}"] for k in ks}
        full.update(beyond_accuracy_report(lists, item_genres, pop, ks, recall_at))

    s_users, cands = sampled_candidates(split, stage, n_negatives, seed)
    scores = score_blocked(model, s_users, cands, memory_budget=memory_budget, verbose=verbose)
    s_hit = rank_candidates(scores)
    sampled = accuracy_report(s_hit, np.ones(len(s_users)), [k for k in ks if k <= cands.shape[1]])
    return {"full": full, "sampled": sampled}


def candidates(
    model: Ranker,
    split: Split,
    n: int = 100,
    stage: str = "test",
    n_negatives: int = 99,
    seed: int = 0,
    *,
    sampled: bool = True,
    memory_budget: int | None = None,
) -> dict[str, np.ndarray]:
    """Per-user candidate sets for re-ranking, under both protocols.

    Parameters
    ----------
    model : Ranker
        A fitted ranker; its history is set to ``split.history(stage)``.
    split : Split
        The split.
    n : int, default 100
        Candidates per user (top-``n`` unseen items).
    stage : {"test", "valid"}, default "test"
        The stage whose users and targets are used.
    n_negatives, seed : int, default 99 and 0
        The sampled protocol's negatives per target and their seed.
    sampled : bool, default True
        Include the sampled protocol's candidates.
    memory_budget : int, optional
        Bytes of working memory per block of users (``recommenders.blocked``); to stream
        the arrays to disk instead of returning them, ``blocked.write_candidates``.

    Returns
    -------
    dict of str to numpy.ndarray
        ``users`` (U,), ``items``/``scores`` (U, n) the top-``n`` unseen items by score,
        ``target`` (U,) the user's first held-out item of ``stage`` (leave-one-out: the
        only one), ``sampled_items``/``sampled_scores`` (U, 1 + n_negatives) float32 the
        sampled protocol's candidates (column 0 the target; absent with ``sampled=False``).
    """
    targets = split.targets(stage)
    model.set_history(split.history(stage))
    users, first = np.unique(targets.users, return_index=True)
    target = targets.items[first]
    items, scores = topk_blocked(model, users, n, memory_budget=memory_budget)
    out = {"users": users, "items": items, "scores": scores, "target": target}
    if sampled:
        negatives = sample_negatives(_all_interactions(split), users, target, n_negatives, seed)
        out["sampled_items"] = negatives
        out["sampled_scores"] = score_blocked(model, users, negatives, memory_budget=memory_budget)
    return out


# ----------------------------------------------------------------- calibration

#: Largest (users x items) score matrix held in memory to fit the full-protocol temperature;
#: beyond it a seeded subset of the users is used (the normalisers are computed in chunks
#: for every user whatever the size).
CALIBRATION_MAX_ENTRIES = 1 << 25

#: Temperature search range, as multiples of the scores' standard deviation: the NLL is
#: unimodal in log T, so a wide range costs a few evaluations only and fits any scale
#: (BPR logits and popularity counts alike).
TEMPERATURE_RANGE = (1e-3, 1e3)


def _seen_mask(history: Interactions, users: np.ndarray) -> np.ndarray:
    """``(len(users), n_items)`` bool, True where the item is in the user's history."""
    mask = np.zeros((users.size, history.n_items), dtype=bool)
    mask[seen_entries(history.indptr, history.items, users)] = True
    return mask


def _bounds(scores: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, float]:
    values = scores if mask is None else scores[~mask]
    scale = float(np.std(values, dtype=np.float64)) if values.size else 0.0
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0
    return TEMPERATURE_RANGE[0] * scale, TEMPERATURE_RANGE[1] * scale


def full_log_norm(
    model: Ranker, history: Interactions, users: np.ndarray, temperature: float
) -> np.ndarray:
    """Log-normalisers of the full protocol, over each user's unseen catalogue.

    Parameters
    ----------
    model : Ranker
        A fitted ranker; its history is set to ``history``, users are scored in chunks.
    history : Interactions
        The items masked per user.
    users : numpy.ndarray
        Int user indices.
    temperature : float
        ``T > 0``.

    Returns
    -------
    numpy.ndarray
        ``(len(users),)`` float64 ``log_partition`` of each user's masked scores.

    Raises
    ------
    ValueError
        Some user has every item in their history.
    """
    model.set_history(history)
    out = log_norms(model, users, temperature)
    if not np.all(np.isfinite(out)):
        raise ValueError("some user has every item in their history; no item is left to rank")
    return out


def fit_full_temperature(
    model: Ranker,
    history: Interactions,
    users: np.ndarray,
    target: np.ndarray,
    *,
    max_entries: int = CALIBRATION_MAX_ENTRIES,
    seed: int = 0,
) -> tuple[float, int]:
    """Fit the full protocol's temperature over the whole catalogue per user.

    Parameters
    ----------
    model : Ranker
        A fitted ranker; its history is set to ``history``.
    history : Interactions
        The items masked per user.
    users, target : numpy.ndarray
        1-D int arrays of equal length: each user and their held-out item (users whose
        target is in their history cannot be scored and are dropped).
    max_entries : int, default CALIBRATION_MAX_ENTRIES
        Most scores held at once; beyond it a seeded subset of users is used.
    seed : int, default 0
        Seed of that subset.

    Returns
    -------
    temperature : float
        The fitted T.
    rows : int
        The users it was fitted on.

    Raises
    ------
    ValueError
        Unequal or non-1-D ``users``/``target``, or no usable target at all.
    """
    temperature, rows, _ = _fit_full(model, history, users, target, max_entries, seed)
    return temperature, rows


def _fit_full(model, history, users, target, max_entries, seed):
    """``fit_full_temperature``, plus every user's log-normaliser at the fitted T when
    the score matrix of all ``users`` fitted in memory (else ``None``)."""
    users = np.asarray(users, dtype=np.int64)
    target = np.asarray(target, dtype=np.int64)
    if users.shape != target.shape or users.ndim != 1:
        raise ValueError("users and target must be 1-D arrays of the same length")
    model.set_history(history)
    rows = users
    if users.size * history.n_items > max_entries:
        keep = ~history.contains(users, target)  # a (users, n_items) mask would not fit
        max_rows = max(1, int(max_entries) // history.n_items)
        if keep.sum() > max_rows:
            pick = np.random.default_rng(seed).choice(np.flatnonzero(keep), max_rows, False)
            keep[:] = False
            keep[pick] = True
        rows, target = users[keep], target[keep]
    scores = np.empty((rows.size, history.n_items), dtype=np.float32)
    for start in range(0, rows.size, model.eval_batch_users):
        chunk = rows[start : start + model.eval_batch_users]
        scores[start : start + chunk.size] = model.full_scores(chunk)
    mask = _seen_mask(history, rows)
    keep = ~mask[np.arange(rows.size), target]
    if not keep.any():
        raise ValueError("no user has a held-out target outside their history to calibrate on")
    bounds = _bounds(scores, mask)
    if keep.all():
        temperature = fit_temperature(scores, target, mask=mask, bounds=bounds)
    else:
        temperature = fit_temperature(scores[keep], target[keep], mask=mask[keep], bounds=bounds)
    log_norm = log_partition(scores, temperature, mask) if rows is users else None
    return temperature, int(keep.sum()), log_norm


def check_protocol(cands: dict[str, np.ndarray], protocol: str) -> None:
    """Check that a candidates file can serve ``protocol``.

    Parameters
    ----------
    cands : dict of str to numpy.ndarray
        A candidates dict (``load_candidates``).
    protocol : {"full", "sampled"}
        The protocol; ``"sampled"`` needs ``sampled_items``/``sampled_scores``, which files
        made from a top-n score table lack (their negatives have no score).

    Raises
    ------
    ValueError
        An unknown protocol, or the file cannot serve it.
    """
    if protocol not in ("full", "sampled"):
        raise ValueError(f"protocol must be 'full' or 'sampled', got {protocol!r}")
    if protocol == "sampled" and "sampled_scores" not in cands:
        raise ValueError(
            "the candidates file has no sampled protocol (it was made without scores for "
            "sampled negatives, e.g. from a top-n score table): evaluate with --protocols full "
            "or build the candidates from full scores"
        )


def calibrated_scores(cands: dict[str, np.ndarray], protocol: str) -> np.ndarray:
    """Calibrated hit probabilities ``(U, N)`` of a candidates file's scores.

    Rounded to float32 precision (``moopt.portable.portable_round``): numpy's
    ``exp`` differs between CPUs in the last bits, and re-ranking searches compare these
    values, so unrounded they would let the machine change the chosen lists.

    Parameters
    ----------
    cands : dict of str to numpy.ndarray
        A calibrated candidates dict (``load_candidates``).
    protocol : {"full", "sampled"}
        ``"full"``: of ``items``/``scores``, normalised over each user's unseen catalogue
        (``log_norm_full`` at ``meta_temperature_full``), so rows sum to at most 1.
        ``"sampled"``: of ``sampled_items``/``sampled_scores``, a softmax over the
        candidates at ``meta_temperature_sampled``, so rows sum to 1.

    Returns
    -------
    numpy.ndarray
        ``(U, N)`` float64 probabilities.

    Raises
    ------
    ValueError
        An unknown protocol, or the file lacks that protocol or its calibration.

    Examples
    --------
    >>> cands = {"sampled_scores": np.array([[1.0, 0.0]]),
    ...          "meta_temperature_sampled": np.asarray(1.0)}
    >>> calibrated_scores(cands, "sampled").round(4)
    array([[0.7311, 0.2689]])
    """
    if protocol == "full":
        need, scores = ("meta_temperature_full", "log_norm_full"), "scores"
    elif protocol == "sampled":
        need, scores = ("meta_temperature_sampled",), "sampled_scores"
    else:
        raise ValueError(f"protocol must be 'full' or 'sampled', got {protocol!r}")
    check_protocol(cands, protocol)
    missing = [k for k in need if k not in cands]
    if missing:
        raise ValueError(
            f"the candidates file has no {protocol} calibration (missing {missing}); it was "
            "written before calibration existed, without validation data or from a top-n "
            "score table: re-run moopt train (or moopt candidates with full scores and "
            "--valid), or re-rank with --score-transform softmax"
        )
    s = np.asarray(cands[scores], dtype=np.float64)
    temperature = float(cands[need[0]])
    if protocol == "full":
        log_norm = cands["log_norm_full"]
    else:
        log_norm = log_partition(s, temperature)
    return portable_round(hit_probabilities(s, temperature, log_norm))


def calibration_summary(
    cands: dict[str, np.ndarray], protocol: str, k: int = 10
) -> tuple[float, float]:
    """Predicted against observed hit rate of the top-k: a calibration check.

    A calibrated model's first number estimates the second. The full protocol's top-k are
    the first ``k`` candidates; the sampled protocol's hit counts ties against the target
    (as in ``evaluate``).

    Parameters
    ----------
    cands : dict of str to numpy.ndarray
        A calibrated candidates dict.
    protocol : {"full", "sampled"}
        The protocol.
    k : int, default 10
        Cut-off, capped at the number of candidates.

    Returns
    -------
    mean_q : float
        Mean over users of the summed q of the top-k by score.
    hit_rate : float
        HR@k of the target (``ValueError`` as for ``calibrated_scores``).
    """
    q = calibrated_scores(cands, protocol)
    k = min(int(k), q.shape[1])
    if protocol == "full":
        sum_q = q[:, :k].sum(axis=1)
        hit = (cands["items"][:, :k] == cands["target"][:, None]).any(axis=1)
    else:
        sum_q = -np.sort(-q, axis=1)[:, :k].sum(axis=1)
        hit = rank_candidates(cands["sampled_scores"])[:, :k].any(axis=1)
    return float(sum_q.mean()), float(hit.mean())


def calibrate(
    model: Ranker,
    split: Split,
    valid: dict[str, np.ndarray],
    *,
    seed: int = 0,
    max_entries: int = CALIBRATION_MAX_ENTRIES,
) -> tuple[dict[str, float], np.ndarray]:
    """Fit both protocols' temperatures on validation candidates and summarise them.

    The full temperature is fitted over the whole catalogue with the training items
    masked, the sampled one on the 1 + 99 candidates. Leaves the model's history at the
    validation stage's (train).

    Parameters
    ----------
    model : Ranker
        A fitted ranker.
    split : Split
        The split.
    valid : dict of str to numpy.ndarray
        ``candidates(..., stage="valid")``.
    seed : int, default 0
        Seed of the user subset when the scores exceed ``max_entries``.
    max_entries : int, default CALIBRATION_MAX_ENTRIES
        Most scores held at once for the full fit.

    Returns
    -------
    meta : dict of str to float
        ``temperature_full``, ``temperature_sampled`` (only when ``valid`` has sampled
        candidates), ``calib_valid_{full,sampled}_mean_top10_q`` and
        ``calib_valid_{full,sampled}_hr10`` (see ``calibration_summary``) and
        ``calib_valid_full_rows`` (the users the full temperature was fitted on); store
        them with ``save_candidates``, which adds the ``meta_`` prefix.
    log_norm_full : numpy.ndarray
        The validation users' full normalisers.

    Raises
    ------
    ValueError
        No usable target, or a user with every item in their history.
    """
    history = split.history("valid")
    t_full, rows, log_norm = _fit_full(
        model, history, valid["users"], valid["target"], max_entries, seed
    )
    if log_norm is None:
        log_norm = full_log_norm(model, history, valid["users"], t_full)
    if not np.all(np.isfinite(log_norm)):
        raise ValueError("some user has every item in their history; no item is left to rank")
    meta: dict[str, float] = {"temperature_full": t_full}
    calibrated = {**valid, "meta_temperature_full": np.asarray(t_full), "log_norm_full": log_norm}
    protocols = ["full"]
    if "sampled_scores" in valid:  # candidates(..., sampled=False) have no sampled protocol
        sampled = np.asarray(valid["sampled_scores"])
        t_sampled = fit_temperature(
            sampled, np.zeros(sampled.shape[0], dtype=np.int64), bounds=_bounds(sampled)
        )
        meta["temperature_sampled"] = t_sampled
        calibrated["meta_temperature_sampled"] = np.asarray(t_sampled)
        protocols.append("sampled")
    for protocol in protocols:
        sum_q, hr = calibration_summary(calibrated, protocol, 10)
        meta[f"calib_valid_{protocol}_mean_top10_q"] = sum_q
        meta[f"calib_valid_{protocol}_hr10"] = hr
    meta["calib_valid_full_rows"] = rows
    return meta, log_norm


# ----------------------------------------------------------------- the files re-ranking reads


def candidate_sets(
    model: Ranker,
    split: Split,
    n: int,
    *,
    n_negatives: int = 99,
    seed: int = 0,
    meta: dict | None = None,
    item_genres: np.ndarray | None = None,
    genre_names: Iterable[str] = (),
    item_popularity: np.ndarray | None = None,
    calibration: bool = True,
    sampled: bool = True,
) -> tuple[dict[str, dict[str, np.ndarray]], float | None]:
    """The validation and test candidates ``moopt rerank`` reads.

    Each set is ``candidates`` of its stage plus, with ``calibration`` and validation
    interactions, the calibration fitted on validation (``calibrate``; ``log_norm_full``).

    Parameters
    ----------
    model : Ranker
        A fitted ranker.
    split : Split
        The split.
    n : int
        Candidates per user.
    n_negatives, seed : int, default 99 and 0
        The sampled protocol's negatives per target and their seed.
    meta : dict, optional
        Entries kept with the ``meta_`` prefix, plus ``meta_stage`` and
        ``meta_calibration`` (``"catalogue"``: fitted over every unseen item; ``"none"``).
    item_genres : numpy.ndarray, optional
        ``(I, C)`` bool; with it the catalogue travels with the candidates:
        ``item_genres``, ``genre_names`` and ``item_popularity``.
    genre_names : iterable of str, default ()
        The C genre names.
    item_popularity : numpy.ndarray, optional
        ``(I,)`` novelty counts; default the interactions of the stage's history (train
        for validation, train + validation for test).
    calibration : bool, default True
        Fit the calibration on validation.
    sampled : bool, default True
        Include the sampled protocol.

    Returns
    -------
    sets : dict
        ``{"valid": ..., "test": ...}`` as ``load_candidates`` returns them (written by
        ``save_candidate_sets``); no ``"valid"`` (a ``RuntimeWarning``) without validation.
    seconds : float or None
        Time spent calibrating, None without calibration.
    """
    meta = dict(meta or {})
    sets: dict[str, dict[str, np.ndarray]] = {}
    calib: dict[str, float] = {}
    seconds = None
    stages = ("valid", "test") if len(split.valid) else ("test",)
    if not len(split.valid):
        warnings.warn(
            "the split has no validation interactions: candidates_valid.npz and the "
            "score calibration are not written",
            RuntimeWarning,
            stacklevel=3,
        )
    for stage in stages:
        data = candidates(model, split, n, stage, n_negatives, seed, sampled=sampled)
        start = time.perf_counter()
        if calibration and stage == "valid":
            calib, data["log_norm_full"] = calibrate(model, split, data, seed=seed)
        elif calib:
            data["log_norm_full"] = full_log_norm(
                model, split.history(stage), data["users"], calib["temperature_full"]
            )
        if calib:
            seconds = (seconds or 0.0) + time.perf_counter() - start
        if item_genres is not None:
            pop = (split.history(stage).item_counts() if item_popularity is None
                   else item_popularity)  # fmt: skip
            data["item_genres"] = np.asarray(item_genres, dtype=bool)
            data["genre_names"] = np.asarray(list(genre_names), dtype=str)
            data["item_popularity"] = np.asarray(pop, dtype=np.float64)
        stage_meta = {**meta, "stage": stage, "calibration": "catalogue" if calib else "none",
                      **calib}  # fmt: skip
        data.update({f"meta_{k}": np.asarray(v) for k, v in stage_meta.items()})
        sets[stage] = data
    return sets, seconds


def save_candidate_sets(
    out: str | os.PathLike, sets: dict[str, dict[str, np.ndarray]], fmt: str = "npz"
) -> list:
    """Write ``candidate_sets``' output into a folder, atomically.

    Parameters
    ----------
    out : str or os.PathLike
        An existing folder.
    sets : dict
        ``{"valid": ..., "test": ...}`` (``"valid"`` optional).
    fmt : {"npz", "dir"}, default "npz"
        ``candidates.npz`` files, or candidates directories ``candidates/`` read
        memory-mapped (``recommenders.candidates_io``).

    Returns
    -------
    list of pathlib.Path
        ``candidates.npz`` (test) and ``candidates_valid.npz`` (validation; a stale one is
        deleted when ``sets`` has none, so it is never paired with other test candidates),
        or the directories ``candidates`` and ``candidates_valid``.
    """
    if fmt not in ("npz", "dir"):
        raise ValueError(f"fmt must be 'npz' or 'dir', got {fmt!r}")
    out, ext = Path(out), ".npz" if fmt == "npz" else ""
    written = []
    if "valid" in sets:
        written.append(save_candidates(out / f"candidates_valid{ext}", sets["valid"]))
    elif fmt == "npz":
        (out / "candidates_valid.npz").unlink(missing_ok=True)
    elif (out / "candidates_valid").is_dir():
        shutil.rmtree(out / "candidates_valid")
    written.append(save_candidates(out / f"candidates{ext}", sets["test"]))
    return written

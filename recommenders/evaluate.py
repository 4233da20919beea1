"""Evaluation written once for every ranker, and the candidates file re-ranking reads.

Two protocols on a split's validation or test stage:

* **full**: every item is ranked for each user with a held-out target; items in the
  user's history (train, plus validation when testing) are masked.
* **sampled** (PreferRec's protocol): each held-out interaction is ranked against 99
  negatives drawn, with a fixed seed, from items the user never interacted with; ties
  count against the positive.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .data.split import Split, sample_negatives
from .io import atomic_path
from .metrics import accuracy_report, beyond_accuracy_report, hit_matrix, rank_candidates
from .models.base import Ranker


def _all_interactions(split: Split):
    return split.train.concat(split.valid).concat(split.test)


def sampled_candidates(
    split: Split, stage: str = "test", n_negatives: int = 99, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(users, candidates)``: one row per held-out interaction of ``stage``; column 0 of
    ``candidates`` is the positive, the rest never-interacted negatives."""
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
) -> dict[str, dict[str, float]]:
    """Metrics of ``model`` on ``stage`` under both protocols.

    Returns ``{"full": {"HR@10": ...}, "sampled": {...}}``. With ``item_genres`` the full
    protocol adds beyond-accuracy metrics (Div, ILD, Nov, ARP, coverage, Gini, entropy,
    F1/F2), using ``item_popularity`` (default: training interaction counts).
    The model's history is set to ``split.history(stage)``.
    """
    ks = sorted({int(k) for k in ks})
    targets = split.targets(stage)
    if len(targets) == 0:
        raise ValueError(f"the split has no {stage} interactions to evaluate on")
    model.set_history(split.history(stage))
    users = np.unique(targets.users)

    lists, _ = model.topk(users, max(ks), exclude_seen=True)
    hit, n_rel = hit_matrix(lists, users, targets.users, targets.items, split.n_items)
    full = accuracy_report(hit, n_rel, ks)
    if item_genres is not None:
        pop = split.train.item_counts() if item_popularity is None else item_popularity
        recall_at = {k: full[f"Recall@{k}"] for k in ks}
        full.update(beyond_accuracy_report(lists, item_genres, pop, ks, recall_at))

    s_users, cands = sampled_candidates(split, stage, n_negatives, seed)
    scores = model.score(s_users, cands)
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
) -> dict[str, np.ndarray]:
    """Per-user candidate sets for re-ranking, under both protocols.

    Keys: ``users`` (U,), ``items``/``scores`` (U, n) the top-``n`` unseen items by score,
    ``target`` (U,) the user's first held-out item of ``stage`` (leave-one-out: the only
    one), ``sampled_items``/``sampled_scores`` (U, 1 + n_negatives) the sampled protocol's
    candidates (column 0 the target).
    """
    targets = split.targets(stage)
    model.set_history(split.history(stage))
    users, first = np.unique(targets.users, return_index=True)
    target = targets.items[first]
    items, scores = model.topk(users, n, exclude_seen=True)
    sampled = sample_negatives(_all_interactions(split), users, target, n_negatives, seed)
    return {
        "users": users,
        "items": items,
        "scores": scores,
        "target": target,
        "sampled_items": sampled,
        "sampled_scores": model.score(users, sampled).astype(np.float32),
    }


def save_candidates(path: str | os.PathLike, data: dict[str, np.ndarray], **meta) -> Path:
    """Write a candidates dict (plus string/number metadata) to ``.npz``, atomically."""
    extra = {f"meta_{k}": np.asarray(v) for k, v in meta.items()}
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **data, **extra)
    return Path(path)


def load_candidates(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a file written by :func:`save_candidates`; metadata keys keep their prefix."""
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    required = {"users", "items", "scores", "target", "sampled_items", "sampled_scores"}
    missing = required - set(data)
    if missing:
        raise ValueError(f"{path} is not a candidates file: missing {sorted(missing)}")
    return data

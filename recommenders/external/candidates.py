"""The entry point ``candidates_from_scores`` and what it returns, ``ExternalCandidates``:
validation and test candidates built from any model's scores with moopt's own protocols,
saved as the files ``moopt rerank`` reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.interactions import Interactions
from ..data.split import Split
from ..evaluate import candidate_sets, save_candidate_sets
from .ids import IdMap
from .scores import ScoreMatrix, _dense, _interactions
from .tables import Catalogue, read_items

# ----------------------------------------------------------------------------- entry point


@dataclass
class ExternalCandidates:
    """What ``candidates_from_scores`` built.

    Parameters
    ----------
    sets : dict
        ``{"valid": ..., "test": ...}`` candidates dicts as
        ``recommenders.evaluate.load_candidates`` returns them (indices, not ids).
    id_map : IdMap
        The user's ids of those indices.
    split : Split
        The interactions, as indices.
    catalogue : Catalogue
        The item table.
    model : ScoreMatrix
        The scores as a ranker.
    calibration_seconds : float or None, default None
        Time spent fitting the calibration (None without one).
    settings : dict
        ``n``, ``n_negatives``, ``seed``, ``protocols``, ``complete_scores``.
    """

    sets: dict[str, dict[str, np.ndarray]]
    id_map: IdMap
    split: Split
    catalogue: Catalogue
    model: ScoreMatrix
    calibration_seconds: float | None = None
    settings: dict = field(default_factory=dict)

    @property
    def test(self) -> dict[str, np.ndarray]:
        """The test candidates dict."""
        return self.sets["test"]

    @property
    def valid(self) -> dict[str, np.ndarray] | None:
        """The validation candidates dict, or None without validation interactions."""
        return self.sets.get("valid")

    def save(self, out: str | os.PathLike, fmt: str = "npz") -> list[Path]:
        """Write ``candidates.npz``, ``candidates_valid.npz`` and ``id_map.json``, atomically.

        Parameters
        ----------
        out : str or os.PathLike
            The folder (created if needed).
        fmt : {"npz", "dir"}, default "npz"
            ``.npz`` files, or the directories ``candidates/`` and ``candidates_valid/``
            read memory-mapped (``recommenders.candidates_io``).

        Returns
        -------
        list of pathlib.Path
            The written files.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        return [*save_candidate_sets(out, self.sets, fmt), self.id_map.save(out / "id_map.json")]

    def lists(self, items=None, stage: str = "test", scores=None) -> pd.DataFrame:
        """Lists of item indices as a table in the user's ids.

        Parameters
        ----------
        items : numpy.ndarray, optional
            ``(U, K)`` int item indices, one row per user of ``stage`` in that stage's user
            order (e.g. re-ranked lists); default the candidates in score order.
        stage : {"test", "valid"}, default "test"
            The candidates set the rows belong to.
        scores : optional
            Unused.

        Returns
        -------
        pandas.DataFrame
            ``user``, ``rank`` (1-based), ``item``, ``title``, ``score`` (the model's score).

        Raises
        ------
        ValueError
            ``items`` not ``(U, K)`` or outside ``[0, n_items)``.
        """
        data = self.sets[stage]
        items = data["items"] if items is None else np.asarray(items, dtype=np.int64)
        if items.ndim != 2 or items.shape[0] != data["users"].size:
            raise ValueError(f"items must be (users of {stage} = {data['users'].size}, K) "
                             f"item indices, got shape {items.shape}")  # fmt: skip
        if items.size and (items.min() < 0 or items.max() >= self.id_map.items.size):
            raise ValueError(f"items must be item indices in [0, {self.id_map.items.size})")
        users = np.repeat(data["users"], items.shape[1])
        flat = items.reshape(-1)
        return pd.DataFrame({
            "user": self.id_map.user_ids(users),
            "rank": np.tile(np.arange(1, items.shape[1] + 1), items.shape[0]),
            "item": self.id_map.item_ids(flat),
            "title": np.asarray(self.catalogue.titles, dtype=object)[flat],
            "score": self.model.matrix[self.model.rows[users], flat],
        })  # fmt: skip


def candidates_from_scores(
    scores,
    items,
    train,
    valid=None,
    test=None,
    *,
    n: int = 100,
    user_ids=None,
    item_ids=None,
    users=None,
    n_negatives: int = 99,
    seed: int = 0,
    protocols: tuple[str, ...] = ("full", "sampled"),
    calibration: bool = True,
    model: str = "external",
    category_sep: str = "|",
) -> ExternalCandidates:
    """Build the validation and test candidates of a model trained anywhere.

    Parameters
    ----------
    scores : array-like, str, os.PathLike or pandas.DataFrame
        A dense ``(users, items)`` array or ``.npy`` file (rows ``user_ids``, default
        ``0..U-1``; columns ``item_ids``, default the item table's order), or a table
        (DataFrame, ``.parquet``, ``.csv``) with ``user``, ``item``, ``score``. Finite.
    items : pandas.DataFrame, str or os.PathLike
        Item table: ``item``, ``categories`` (``"Action|Drama"``, split at
        ``category_sep``), optional ``popularity`` and ``title``. It defines the catalogue.
    train, valid, test : pandas.DataFrame, str or os.PathLike
        Interactions (``user``, ``item``, optional ``timestamp``). ``train`` items are
        excluded from the candidates of both stages, ``valid`` items too for the test stage;
        the first held-out item of each user is that user's target. ``test`` is required;
        without ``valid`` (default None) there is no calibration and no validation file
        (``moopt rerank`` needs one to tune).
    n : int, default 100
        Candidates per user, ``>= 1``; at most the unseen items of every evaluated user.
    user_ids, item_ids : array-like, optional
        The ids of a dense array's rows and columns (not for a table).
    users : array-like, optional
        Evaluate only these users (their own ids); each needs a test item.
    n_negatives, seed : int, default 99 and 0
        The sampled protocol's negatives per target and their seed (as ``moopt train``).
    protocols : tuple of str, default ("full", "sampled")
        ``("full", "sampled")`` or ``("full",)``; a top-n table supports ``("full",)`` only.
    calibration : bool, default True
        Fit the temperature scaling on validation (needs a score for every unseen item).
    model : str, default "external"
        The name stored in the files (``meta_model``).
    category_sep : str, default "|"
        Separator of the item table's categories.

    Returns
    -------
    ExternalCandidates
        The candidates dicts, the ``IdMap``, ``save`` and ``lists``.

    Raises
    ------
    ValueError
        Bad ``n``/``n_negatives``/``protocols``, missing ``train``/``test``, unknown or
        duplicate ids, non-finite scores, ``n`` above some user's unseen items, or a top-n
        table with the sampled protocol or calibration on; the message names the fix.
    FileNotFoundError
        A named file does not exist.

    Examples
    --------
    Two users with string ids, five items; ``u1`` saw ``a`` then ``e``, ``u2`` saw ``b``
    then ``a``:

    >>> items = pd.DataFrame({"item": list("abcde"),
    ...                       "categories": ["X", "X|Y", "Y", "Z", "Z"]})
    >>> scores = np.array([[0.9, 0.1, 0.5, 0.3, 0.2], [0.2, 0.8, 0.4, 0.6, 0.1]])
    >>> frame = lambda items: pd.DataFrame({"user": ["u1", "u2"], "item": items})
    >>> c = candidates_from_scores(scores, items, frame(["a", "b"]), frame(["e", "a"]),
    ...                            frame(["c", "d"]), n=2, user_ids=["u1", "u2"],
    ...                            protocols=("full",), calibration=False)
    >>> c.lists()[["user", "rank", "item", "score"]]
      user  rank item  score
    0   u1     1    c    0.5
    1   u1     2    d    0.3
    2   u2     1    d    0.6
    3   u2     2    c    0.4
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    unknown = set(protocols) - {"full", "sampled"}
    if "full" not in protocols or unknown:
        raise ValueError(f"protocols must be ('full',) or ('full', 'sampled'), got {protocols}")
    if train is None or test is None:
        raise ValueError("train and test interactions are required: train gives each user's "
                         "seen items, test each user's target")
    catalogue = read_items(items, "items", category_sep)
    matrix, scored = _dense(scores, user_ids, item_ids, catalogue)
    space: list[np.ndarray] = [scored]
    frames = {s: _interactions(src, s, space, catalogue) for s, src in
              (("train", train), ("valid", valid), ("test", test)) if src is not None}
    extra = np.setdiff1d(np.unique(np.concatenate(space[1:])), scored) if len(space) > 1 else []
    id_map = IdMap(np.concatenate([scored, np.asarray(extra, dtype=scored.dtype)]),
                   catalogue.ids)  # fmt: skip
    n_users, n_items = id_map.users.size, id_map.items.size
    inter = {}
    for stage, f in frames.items():
        u = id_map.user_index(f["user"].to_numpy()) if len(f) else np.zeros(0, np.int64)
        inter[stage] = Interactions(u, f["item"].to_numpy(), f["timestamp"].to_numpy(),
                                    np.ones(len(f), np.float32), n_users, n_items)
    empty = Interactions(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), n_users, n_items)
    split = Split(inter["train"], inter.get("valid", empty), inter["test"], "external")
    if users is not None:
        keep = np.zeros(n_users, dtype=bool)
        keep[id_map.user_index(users)] = True
        without = np.setdiff1d(np.flatnonzero(keep), split.test.users)
        if without.size:
            raise ValueError(f"users {id_map.user_ids(without[:5]).tolist()} have no held-out "
                             "test item; choose users that appear in test")  # fmt: skip
        split = Split(split.train, split.valid.select(keep[split.valid.users]),
                      split.test.select(keep[split.test.users]), "external")  # fmt: skip
    if len(split.test) == 0:
        raise ValueError("test has no interactions; every evaluated user needs a held-out item")
    rows = np.full(n_users, -1, dtype=np.int64)
    rows[: scored.size] = np.arange(scored.size)
    complete = _check_coverage(matrix, rows, split, n, id_map)
    settings = {"n": int(n), "n_negatives": int(n_negatives), "seed": int(seed),
                "protocols": list(protocols), "complete_scores": complete}  # fmt: skip
    if not complete:
        if "sampled" in protocols:
            raise ValueError("the score table lacks scores of unseen items (a top-n table), so "
                             "the sampled protocol's negatives have no score: pass protocols="
                             "('full',) (--protocols full) or give a score for every item "
                             "outside each user's training history")  # fmt: skip
        if calibration and len(split.valid):
            raise ValueError("the score table lacks scores of unseen items (a top-n table), "
                             "and the calibration normalises over every unseen item: pass "
                             "calibration=False (--no-calibration) and re-rank with "
                             "--score-transform softmax, or give full scores")  # fmt: skip
        # Unscored unseen items rank last; every user has >= n scored ones, so none is chosen.
        matrix = np.where(np.isnan(matrix), np.finfo(np.float32).min, matrix)
    else:
        matrix = np.where(np.isnan(matrix), 0.0, matrix)  # only seen items, always excluded
    if "sampled" in protocols:
        _check_negatives(split, n_negatives, id_map)
    ranker = ScoreMatrix(matrix, rows, model)
    meta = {"model": model, "dataset": "external", "split": "external", "n_items": n_items,
            "sampled": "sampled" in protocols, "complete_scores": complete}  # fmt: skip
    sets, seconds = candidate_sets(
        ranker, split, int(n), n_negatives=n_negatives, seed=seed, meta=meta,
        item_genres=catalogue.genres, genre_names=catalogue.genre_names,
        item_popularity=catalogue.popularity, calibration=calibration,
        sampled="sampled" in protocols,
    )  # fmt: skip
    if any(catalogue.titles):  # titles travel with the files, as the categories do
        for data in sets.values():
            data["item_titles"] = np.asarray(catalogue.titles, dtype=str)
    return ExternalCandidates(sets, id_map, split, catalogue, ranker, seconds, settings)


def _check_coverage(matrix: np.ndarray, rows: np.ndarray, split: Split, n: int,
                    ids: IdMap) -> bool:
    """Whether every evaluated user has a score for every item outside their training
    history; raises when some user has fewer than ``n`` unseen (or unseen scored) items."""
    complete = True
    for stage in ("valid", "test"):
        users = np.unique(split.targets(stage).users)
        if not users.size:
            continue
        if np.any(rows[users] < 0):
            bad = users[rows[users] < 0][:5]
            raise ValueError(f"user(s) {ids.user_ids(bad).tolist()} have {stage} interactions "
                             "but no scores; give scores for every user in valid and test")
        history = split.history(stage)
        seen = np.zeros((users.size, history.n_items), dtype=bool)
        for r, u in enumerate(users):
            seen[r, history.user_items(u)] = True
        available = ~np.isnan(matrix[rows[users]]) & ~seen
        # A user with a validation item is checked against train there; one without, here.
        complete = complete and bool(np.all(available | seen))
        fewest = int(available.sum(axis=1).min())
        if n > fewest:
            raise ValueError(f"n={n} exceeds the {fewest} unseen scored items of some {stage} "
                             "user; lower n (--n)")  # fmt: skip
    return complete


def _check_negatives(split: Split, n_negatives: int, ids: IdMap) -> None:
    """Every evaluated user needs ``n_negatives`` items they never interacted with."""
    if isinstance(n_negatives, bool) or not isinstance(n_negatives, (int, np.integer)) or (
            n_negatives < 1):
        raise ValueError(f"n_negatives must be a positive integer, got {n_negatives!r}")
    known = split.train.concat(split.valid).concat(split.test)
    users = np.unique(np.concatenate([split.valid.users, split.test.users]))
    keys = np.unique(known.keys())
    touched = np.bincount(keys // known.n_items, minlength=known.n_users)[users]
    fewest = int(np.argmax(touched))
    if known.n_items - touched[fewest] < n_negatives:
        raise ValueError(f"user {ids.user_ids(users[fewest : fewest + 1])[0].item()!r} has only "
                         f"{known.n_items - touched[fewest]} never-seen items, fewer than "
                         f"n_negatives={n_negatives}: lower n_negatives (--n-negatives) or "
                         "evaluate the full protocol only")  # fmt: skip

"""Any model's scores in: the candidates ``moopt rerank`` reads, from a model trained anywhere.

:func:`candidates_from_scores` is the one entry point. It takes what a user of another
library has:

* **scores**: a dense ``(users, items)`` array (or a ``.npy`` file), rows and columns named by
  ``user_ids``/``item_ids``; or a table (a DataFrame, ``.parquet`` or ``.csv``) with columns
  ``user``, ``item``, ``score``;
* **items**: a table with ``item`` and ``categories`` (multi-valued, ``"Action|Drama"``),
  optionally ``popularity`` (else popularity is counted from the interactions given) and
  ``title``;
* **interactions**: ``train``, ``valid`` and ``test`` tables with ``user``, ``item`` and an
  optional ``timestamp`` (without one, a file's row order is its order).

and builds, exactly as ``moopt train`` does for its own rankers
(:func:`recommenders.evaluate.candidate_sets`), the validation and test candidates: each user's
top-``n`` items by score with the items of their history excluded (train for validation,
train + validation for test), the first held-out item as target, the sampled protocol's
1 + ``n_negatives`` candidates (seeded), the score calibration fitted on validation, and the
catalogue (categories, popularity). :meth:`ExternalCandidates.save` writes
``candidates.npz``, ``candidates_valid.npz`` and ``id_map.json``, so that
``moopt rerank --candidates DIR/candidates.npz`` evaluates the model with the same protocol
and tables as moopt's own rankers.

Ids: users and items keep the user's own ids (integers or strings). Inside the files they are
contiguous indices; :class:`IdMap` (``id_map.json``) maps them back, and
:meth:`ExternalCandidates.lists` gives lists in the user's ids.

One score matrix serves both stages, so it should come from a model fitted on the training
interactions only (the validation stage then measures it fairly); a model whose scores
depend on the history it is given (a sequential one) is not represented exactly.

What a top-n table supports: a table with a score for every item outside each evaluated
user's training history is treated like a dense array (both protocols, calibration over the
catalogue). A table with fewer scores (a model's top-n) supports the **full protocol only**,
**uncalibrated**: every evaluated user needs at least ``n`` scored items outside their
history; the sampled protocol needs the scores of sampled negatives and the calibration the
scores of the whole unseen catalogue (to normalise), which such a table does not hold, so
both raise ``ValueError`` unless turned off (``protocols=("full",)``, ``calibration=False``);
the files then say ``meta_calibration = "none"`` and ``meta_sampled = False``, and
``moopt rerank`` runs with ``--protocols full --score-transform softmax``.

A table is made dense in memory, ``(scored users, items)`` float32: this path is for
catalogues whose score matrix fits in memory.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .data.interactions import Interactions
from .data.split import Split
from .evaluate import candidate_sets, save_candidate_sets
from .io import write_json
from .models.base import Ranker

#: Names of the item table's category column, first match wins.
CATEGORY_COLUMNS = ("categories", "genres", "category", "genre")


# ----------------------------------------------------------------------------- ids


def _as_ids(values, what: str) -> np.ndarray:
    """External ids as int64 when every id is an integer, else as strings."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    if arr.dtype == bool or np.issubdtype(arr.dtype, np.floating):
        if arr.size and (not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr))):
            raise ValueError(f"{what} holds missing or non-integer numbers; give integer or "
                             "string ids")  # fmt: skip
        return arr.astype(np.int64)
    if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in arr.tolist()):
        raise ValueError(f"{what} holds missing ids; drop those rows")
    return arr.astype(str)


def _lookup(known: np.ndarray, ids: np.ndarray, what: str, fix: str) -> np.ndarray:
    """Positions of ``ids`` in ``known`` (both as :func:`_as_ids` makes them)."""
    if known.dtype.kind == "U" and ids.dtype.kind != "U":
        ids = ids.astype(str)
    elif known.dtype.kind != "U" and ids.dtype.kind == "U":
        known = known.astype(str)
    order = np.argsort(known, kind="stable")
    pos = np.searchsorted(known[order], ids)
    pos = np.minimum(pos, known.size - 1) if known.size else pos
    ok = known[order][pos] == ids if known.size else np.zeros(ids.shape, bool)
    if not np.all(ok):
        bad = pd.unique(ids[~ok])
        raise ValueError(f"{what} has {bad.size} unknown id(s) (e.g. {bad[:5].tolist()}); {fix}")
    return order[pos].astype(np.int64)


@dataclass(frozen=True)
class IdMap:
    """The user's own ids of the contiguous indices in the candidates files: index ``i`` is
    user ``users[i]`` and item ``items[i]`` (int64 or str arrays)."""

    users: np.ndarray
    items: np.ndarray

    def __post_init__(self) -> None:
        for what in ("users", "items"):
            ids = _as_ids(getattr(self, what), f"IdMap.{what}")
            if pd.unique(ids).size != ids.size:
                raise ValueError(f"IdMap.{what} holds duplicate ids; each id names one "
                                 "index")  # fmt: skip
            object.__setattr__(self, what, ids)

    def user_index(self, ids) -> np.ndarray:
        """Indices of external user ids (``ValueError`` naming the unknown ones)."""
        return _lookup(self.users, _as_ids(np.atleast_1d(ids), "user ids"), "user ids",
                       "they are not among the users of the scores or interactions")

    def item_index(self, ids) -> np.ndarray:
        """Indices of external item ids (``ValueError`` naming the unknown ones)."""
        return _lookup(self.items, _as_ids(np.atleast_1d(ids), "item ids"), "item ids",
                       "they are not in the item table")

    def user_ids(self, index) -> np.ndarray:
        """External ids of user indices."""
        return self.users[np.asarray(index, dtype=np.int64)]

    def item_ids(self, index) -> np.ndarray:
        """External ids of item indices (any shape, e.g. ``(U, K)`` lists)."""
        return self.items[np.asarray(index, dtype=np.int64)]

    def to_dict(self) -> dict:
        return {"format": "moopt-id-map-1", "users": self.users.tolist(),
                "items": self.items.tolist()}  # fmt: skip

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``{"users": [...], "items": [...]}`` as JSON, atomically."""
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> IdMap:
        """Read a file written by :meth:`save`."""
        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict) or data.get("format") != "moopt-id-map-1":
            raise ValueError(f"{path} is not an id map written by moopt")
        return cls(np.asarray(data["users"]), np.asarray(data["items"]))


# ----------------------------------------------------------------------------- tables


def read_table(source, what: str, required: tuple[str, ...]) -> pd.DataFrame:
    """A DataFrame, or a ``.csv`` / ``.parquet`` file, with the ``required`` columns.

    ``what`` names the argument in errors (``"train"``, ``"--items"``)."""
    if isinstance(source, pd.DataFrame):
        frame = source
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"{what}: no file {path}")
        suffix = path.suffix.lower()
        if suffix in (".parquet", ".pq"):
            try:
                frame = pd.read_parquet(path)
            except ImportError as exc:
                raise ValueError(f"{what}: reading Parquet needs pyarrow (pip install "
                                 f"pyarrow), or give a .csv ({exc})") from None  # fmt: skip
        elif suffix in (".csv", ".tsv", ".txt"):
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
        else:
            raise ValueError(f"{what}: {path} is neither .csv nor .parquet")
    else:
        raise TypeError(f"{what} must be a pandas DataFrame or a path to a .csv or .parquet "
                        f"file, got {type(source).__name__}")  # fmt: skip
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing} (it has {list(frame.columns)}); "
                         f"expected {list(required)}")  # fmt: skip
    return frame


def _numbers(column: pd.Series, what: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{what} holds {int(bad.sum())} NaN, infinite or non-numeric value(s) "
                         f"(first at row {row}: {column.iloc[row]!r}); drop or fix them")
    return values


@dataclass(frozen=True)
class Catalogue:
    """The item table: ``ids`` (I,), ``genres`` (I, C) bool, ``genre_names``, ``titles`` and
    ``popularity`` (I,) float or None."""

    ids: np.ndarray
    genres: np.ndarray
    genre_names: tuple[str, ...]
    titles: tuple[str, ...]
    popularity: np.ndarray | None


def read_items(source, what: str = "items", sep: str = "|") -> Catalogue:
    """Parse the item table (see the module docstring); rows keep their order."""
    frame = read_table(source, what, ("item",))
    col = next((c for c in CATEGORY_COLUMNS if c in frame.columns), None)
    if col is None:
        raise ValueError(f"{what} needs a categories column ({' or '.join(CATEGORY_COLUMNS)}) "
                         f"with values such as 'Action{sep}Drama'; it has "
                         f"{list(frame.columns)}")  # fmt: skip
    ids = _as_ids(frame["item"].to_numpy(), f"{what} column 'item'")
    if pd.unique(ids).size != ids.size:
        dup = pd.Series(ids)[pd.Series(ids).duplicated()].unique()[:5].tolist()
        raise ValueError(f"{what} lists item(s) {dup} more than once; keep one row per item")
    cats = [[c.strip() for c in str(v).split(sep) if c.strip()] if isinstance(v, str) else []
            for v in frame[col].tolist()]  # fmt: skip
    names = tuple(sorted({c for row in cats for c in row}))
    if not names:
        raise ValueError(f"{what} column {col!r} has no category at all; diversity needs them")
    index = {n: j for j, n in enumerate(names)}
    genres = np.zeros((ids.size, len(names)), dtype=bool)
    for i, row in enumerate(cats):
        genres[i, [index[c] for c in row]] = True
    pop = None
    if "popularity" in frame.columns:
        pop = _numbers(frame["popularity"], f"{what} column 'popularity'")
        if np.any(pop < 0):
            raise ValueError(f"{what} column 'popularity' must be >= 0")
    titles = tuple(frame["title"].fillna("").astype(str)) if "title" in frame.columns else (
        ("",) * ids.size)  # fmt: skip
    return Catalogue(ids, genres, names, titles, pop)


# ----------------------------------------------------------------------------- scores


@dataclass(frozen=True)
class _NoSettings:
    """A score matrix has no settings."""


class ScoreMatrix(Ranker):
    """A :class:`~recommenders.models.base.Ranker` over given scores, so that evaluation and
    candidates run the code paths of moopt's own rankers. ``matrix`` is ``(scored users,
    n_items)`` float32; ``rows[u]`` the row of internal user ``u`` (-1: no scores)."""

    name = "external"
    config_class = _NoSettings

    def __init__(self, matrix: np.ndarray, rows: np.ndarray, name: str = "external") -> None:
        super().__init__(device="cpu")
        self.name = name
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.n_users, self.n_items = self.rows.size, self.matrix.shape[1]

    def _build(self, train: Interactions) -> torch.nn.Module:  # pragma: no cover - never fit
        raise TypeError("a ScoreMatrix holds given scores and is not trained")

    def _scores(self, users: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.full_scores(users.cpu().numpy()))

    def _check_fitted(self) -> None:
        pass

    def full_scores(self, users) -> np.ndarray:
        users = self._check_users(users)
        rows = self.rows[users]
        if np.any(rows < 0):
            raise ValueError(f"{int((rows < 0).sum())} user(s) have held-out interactions but "
                             "no scores; give scores for every user in valid and test")
        return self.matrix[rows]


def _dense(scores, user_ids, item_ids, catalogue: Catalogue):
    """``(matrix (U, I) float32 with NaN where no score, external user ids)`` with the
    columns in the catalogue's order."""
    if isinstance(scores, (str, os.PathLike)) and Path(scores).suffix.lower() == ".npy":
        if not Path(scores).is_file():
            raise FileNotFoundError(f"scores: no file {scores}")
        scores = np.load(scores, allow_pickle=False)
    if isinstance(scores, np.ndarray) or isinstance(scores, (list, tuple)):
        arr = np.asarray(scores)
        if arr.ndim != 2 or arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"scores must be a 2-D numeric (users, items) array, got shape "
                             f"{arr.shape} and dtype {arr.dtype}")  # fmt: skip
        users = np.arange(arr.shape[0]) if user_ids is None else _as_ids(user_ids, "user_ids")
        if users.size != arr.shape[0]:
            raise ValueError(f"user_ids has {users.size} ids for {arr.shape[0]} score rows")
        if pd.unique(users).size != users.size:
            raise ValueError("user_ids holds duplicate ids; one row per user")
        bad = ~np.isfinite(arr)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise ValueError(f"scores hold {int(bad.sum())} NaN or infinite value(s) (first "
                             f"at row {r}, column {c}); every score must be finite: replace "
                             "them, the seen items are excluded anyway")  # fmt: skip
        if item_ids is None:
            if arr.shape[1] != catalogue.ids.size:
                raise ValueError(f"scores have {arr.shape[1]} columns but the item table has "
                                 f"{catalogue.ids.size} items; pass item_ids (--item-ids) "
                                 "naming the columns")  # fmt: skip
            return arr.astype(np.float32), users
        cols = _as_ids(item_ids, "item_ids")
        if cols.size != arr.shape[1] or pd.unique(cols).size != cols.size:
            raise ValueError(f"item_ids must name the {arr.shape[1]} score columns, each once")
        pos = _lookup(catalogue.ids, cols, "item_ids", "add them to the item table")
        if pos.size != catalogue.ids.size:
            raise ValueError(f"scores cover {pos.size} of the {catalogue.ids.size} items of "
                             "the item table; give a score for every item or a table")
        out = np.empty(arr.shape, dtype=np.float32)
        out[:, pos] = arr
        return out, users
    if user_ids is not None or item_ids is not None:
        raise ValueError("user_ids and item_ids name the rows and columns of a dense array; a "
                         "score table names them in its 'user' and 'item' columns")
    frame = read_table(scores, "scores", ("user", "item", "score"))
    values = _numbers(frame["score"], "scores column 'score'")
    u_raw = _as_ids(frame["user"].to_numpy(), "scores column 'user'")
    users, u = np.unique(u_raw, return_inverse=True)
    i = _lookup(catalogue.ids, _as_ids(frame["item"].to_numpy(), "scores column 'item'"),
                "scores column 'item'", "add them to the item table")
    key = u.astype(np.int64) * catalogue.ids.size + i
    if pd.unique(key).size != key.size:
        first = int(np.flatnonzero(pd.Series(key).duplicated().to_numpy())[0])
        pair = (u_raw[first].item(), frame["item"].to_numpy()[first])
        pair = tuple(v.item() if isinstance(v, np.generic) else v for v in pair)
        raise ValueError(f"scores hold duplicate (user, item) rows, e.g. {pair}; keep one "
                         "score per pair")  # fmt: skip
    out = np.full((users.size, catalogue.ids.size), np.nan, dtype=np.float32)
    out[u, i] = values
    return out, users


def _interactions(source, what, user_space: list, catalogue: Catalogue) -> pd.DataFrame:
    frame = read_table(source, what, ("user", "item"))
    users = _as_ids(frame["user"].to_numpy(), f"{what} column 'user'")
    items = _lookup(catalogue.ids, _as_ids(frame["item"].to_numpy(), f"{what} column 'item'"),
                    f"{what} column 'item'", "add them to the item table or drop those rows")
    stamps = (_numbers(frame["timestamp"], f"{what} column 'timestamp'").astype(np.int64)
              if "timestamp" in frame.columns else np.zeros(len(frame), np.int64))  # fmt: skip
    user_space.append(users)
    return pd.DataFrame({"user": users, "item": items, "timestamp": stamps})


# ----------------------------------------------------------------------------- entry point


@dataclass
class ExternalCandidates:
    """What :func:`candidates_from_scores` built.

    ``sets``: ``{"valid": ..., "test": ...}`` candidates dicts as
    :func:`recommenders.evaluate.load_candidates` returns them (indices, not ids);
    ``id_map``: the user's ids of those indices; ``split``: the interactions as indices;
    ``catalogue``: the item table; ``model``: the scores as a ranker
    (:class:`ScoreMatrix`); ``calibration_seconds``."""

    sets: dict[str, dict[str, np.ndarray]]
    id_map: IdMap
    split: Split
    catalogue: Catalogue
    model: ScoreMatrix
    calibration_seconds: float | None = None
    settings: dict = field(default_factory=dict)

    @property
    def test(self) -> dict[str, np.ndarray]:
        return self.sets["test"]

    @property
    def valid(self) -> dict[str, np.ndarray] | None:
        return self.sets.get("valid")

    def save(self, out: str | os.PathLike) -> list[Path]:
        """Write ``candidates.npz``, ``candidates_valid.npz`` and ``id_map.json`` into the
        folder ``out`` (created if needed), atomically; returns the paths."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        return [*save_candidate_sets(out, self.sets), self.id_map.save(out / "id_map.json")]

    def lists(self, items=None, stage: str = "test", scores=None) -> pd.DataFrame:
        """Lists ``(U, K)`` of item indices, one row per user of ``stage`` (default: the
        candidates in score order), as a table in the user's ids: ``user``, ``rank``
        (1-based), ``item``, ``title``, ``score`` (the model's score of the item)."""
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
    scores:
        A dense ``(users, items)`` array or ``.npy`` file (rows ``user_ids``, default
        ``0..U-1``; columns ``item_ids``, default the item table's order), or a table
        (DataFrame, ``.parquet``, ``.csv``) with ``user``, ``item``, ``score``. Finite.
    items:
        Item table: ``item``, ``categories`` (``"Action|Drama"``, split at
        ``category_sep``), optional ``popularity`` and ``title``. It defines the catalogue.
    train, valid, test:
        Interactions (``user``, ``item``, optional ``timestamp``). ``train`` items are
        excluded from the candidates of both stages, ``valid`` items too for the test stage;
        the first held-out item of each user is that user's target. ``test`` is required;
        without ``valid`` there is no calibration and no validation file (``moopt rerank``
        needs one to tune).
    n:
        Candidates per user; at most the number of unseen items of every evaluated user.
    users:
        Evaluate only these users (their own ids); each needs a test item.
    n_negatives, seed:
        The sampled protocol's negatives per target and their seed (as ``moopt train``).
    protocols:
        ``("full", "sampled")``; a top-n table supports ``("full",)`` only.
    calibration:
        Fit the temperature scaling on validation (needs a score for every unseen item).
    model:
        The name stored in the files (``meta_model``).

    Returns
    -------
    ExternalCandidates
        The candidates dicts, the :class:`IdMap`, and :meth:`~ExternalCandidates.save`,
        :meth:`~ExternalCandidates.lists`. See the module docstring for what a top-n table
        supports. Errors name the argument and the fix.
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

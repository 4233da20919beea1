"""The user's scores as a ranker: ``ScoreMatrix``, a ``Ranker`` over given scores so that
evaluation runs the code paths of moopt's own rankers, and the helpers that bring a score
array or table (columns in the catalogue's order) and the interaction tables to indices.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..data.interactions import Interactions
from ..models.base import Ranker
from .ids import _as_ids, _lookup
from .tables import Catalogue, _numbers, read_table

# ----------------------------------------------------------------------------- scores


@dataclass(frozen=True)
class _NoSettings:
    """A score matrix has no settings."""


class ScoreMatrix(Ranker):
    """A ``Ranker`` over given scores, so evaluation runs the code paths of moopt's rankers.

    Parameters
    ----------
    matrix : numpy.ndarray
        ``(scored users, n_items)`` scores, stored as contiguous float32.
    rows : numpy.ndarray
        ``(n_users,)`` int, the matrix row of each internal user (-1: no scores).
    name : str, default "external"
        The model name stored in the candidates files.
    """

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
        """Every item's score for each user.

        Parameters
        ----------
        users : array-like of int
            Internal user indices in ``[0, n_users)``.

        Returns
        -------
        numpy.ndarray
            ``(len(users), n_items)`` float32.

        Raises
        ------
        ValueError
            Some user has no scores (``rows`` is -1), or bad indices.
        """
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

"""``IdMap``: the user's own user and item ids (integers or strings) and the contiguous
indices the candidates files use, in both directions; saved as ``id_map.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import write_json

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
    """Positions of ``ids`` in ``known`` (both as ``_as_ids`` makes them)."""
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
    """The user's own ids of the contiguous indices in the candidates files.

    Parameters
    ----------
    users, items : array-like
        1-D distinct ids (integers, stored as int64, or strings): index ``i`` is user
        ``users[i]`` and item ``items[i]``.

    Raises
    ------
    ValueError
        Ids not 1-D, duplicated, missing (None/NaN) or non-integer numbers.

    Examples
    --------
    >>> m = IdMap(np.array(["u1", "u2"]), np.array([10, 20, 30]))
    >>> m.item_index([30, 10]), m.user_index("u2")
    (array([2, 0]), array([1]))
    >>> m.item_ids(np.array([[2, 0]]))  # lists of indices back to the user's ids
    array([[30, 10]])
    """

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
        """Indices of external user ids.

        Parameters
        ----------
        ids : id or array-like
            One user id or a 1-D array of them.

        Returns
        -------
        numpy.ndarray
            ``(len(ids),)`` int64 indices.

        Raises
        ------
        ValueError
            Some id is unknown (the message names them).
        """
        return _lookup(self.users, _as_ids(np.atleast_1d(ids), "user ids"), "user ids",
                       "they are not among the users of the scores or interactions")

    def item_index(self, ids) -> np.ndarray:
        """Indices of external item ids.

        Parameters
        ----------
        ids : id or array-like
            One item id or a 1-D array of them.

        Returns
        -------
        numpy.ndarray
            ``(len(ids),)`` int64 indices.

        Raises
        ------
        ValueError
            Some id is unknown (the message names them).
        """
        return _lookup(self.items, _as_ids(np.atleast_1d(ids), "item ids"), "item ids",
                       "they are not in the item table")

    def user_ids(self, index) -> np.ndarray:
        """External ids of user indices.

        Parameters
        ----------
        index : array-like of int
            User indices in ``[0, len(users))``, any shape.

        Returns
        -------
        numpy.ndarray
            The ids, of ``index``'s shape (``IndexError`` when out of range).
        """
        return self.users[np.asarray(index, dtype=np.int64)]

    def item_ids(self, index) -> np.ndarray:
        """External ids of item indices.

        Parameters
        ----------
        index : array-like of int
            Item indices in ``[0, len(items))``, any shape (e.g. ``(U, K)`` lists).

        Returns
        -------
        numpy.ndarray
            The ids, of ``index``'s shape (``IndexError`` when out of range).
        """
        return self.items[np.asarray(index, dtype=np.int64)]

    def to_dict(self) -> dict:
        """The JSON-ready form ``{"format": "moopt-id-map-1", "users": [...], "items": [...]}``.

        Returns
        -------
        dict
            The format tag and both id lists.
        """
        return {"format": "moopt-id-map-1", "users": self.users.tolist(),
                "items": self.items.tolist()}  # fmt: skip

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``to_dict()`` as JSON, atomically.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (its folder must exist).

        Returns
        -------
        pathlib.Path
            The written file.
        """
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> IdMap:
        """Read a file written by ``save``.

        Parameters
        ----------
        path : str or os.PathLike
            An ``id_map.json``.

        Returns
        -------
        IdMap
            The map.

        Raises
        ------
        ValueError
            The file is not an id map written by moopt.
        """
        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict) or data.get("format") != "moopt-id-map-1":
            raise ValueError(f"{path} is not an id map written by moopt")
        return cls(np.asarray(data["users"]), np.asarray(data["items"]))

"""Reading the user's tables: ``read_table`` (a DataFrame, ``.parquet`` or ``.csv`` with
required columns) and ``read_items``, the item table as a ``Catalogue`` (ids,
categories, titles, popularity).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .ids import _as_ids

#: Names of the item table's category column, first match wins.
CATEGORY_COLUMNS = ("categories", "genres", "category", "genre")



# ----------------------------------------------------------------------------- tables


def read_table(source, what: str, required: tuple[str, ...]) -> pd.DataFrame:
    """A DataFrame, or a ``.csv`` / ``.parquet`` file, with the ``required`` columns.

    Parameters
    ----------
    source : pandas.DataFrame or str or os.PathLike
        A frame, or a ``.csv``/``.txt`` (comma), ``.tsv`` (tab) or ``.parquet``/``.pq`` file.
    what : str
        The argument's name in error messages (``"train"``, ``"--items"``).
    required : tuple of str
        Columns that must be present (after lower-casing and stripping the names).

    Returns
    -------
    pandas.DataFrame
        The table, its column names lower-cased and stripped.

    Raises
    ------
    FileNotFoundError
        No such file.
    TypeError
        ``source`` is neither a DataFrame nor a path.
    ValueError
        Another suffix, Parquet without pyarrow, or a required column missing.
    """
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
    """The item table, as ``read_items`` parses it.

    Parameters
    ----------
    ids : numpy.ndarray
        ``(I,)`` the user's item ids (int64 or str), in the table's row order.
    genres : numpy.ndarray
        ``(I, C)`` bool category membership.
    genre_names : tuple of str
        The C category names, sorted.
    titles : tuple of str
        I titles (empty strings without a ``title`` column).
    popularity : numpy.ndarray or None
        ``(I,)`` float popularity from the table, or None (then counted from interactions).
    """

    ids: np.ndarray
    genres: np.ndarray
    genre_names: tuple[str, ...]
    titles: tuple[str, ...]
    popularity: np.ndarray | None


def read_items(source, what: str = "items", sep: str = "|") -> Catalogue:
    """Parse the item table (see the module docstring); rows keep their order.

    Parameters
    ----------
    source : pandas.DataFrame or str or os.PathLike
        The table (as ``read_table`` reads it) with ``item``, a category column (the first
        of ``CATEGORY_COLUMNS`` present), optional ``popularity`` and ``title``.
    what : str, default "items"
        The argument's name in error messages.
    sep : str, default "|"
        Separator of the multi-valued categories.

    Returns
    -------
    Catalogue
        Ids, category matrix and names, titles, popularity.

    Raises
    ------
    ValueError
        No category column or no category at all, duplicate or missing item ids, or a
        non-numeric or negative popularity (plus what ``read_table`` raises).

    Examples
    --------
    >>> cat = read_items(pd.DataFrame({"item": [7, 9], "categories": ["Drama|Action", None]}))
    >>> cat.ids, cat.genre_names, cat.genres.tolist()
    (array([7, 9]), ('Action', 'Drama'), [[True, True], [False, False]])
    """
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

"""Reader for the GroupLens CSV distributions (ML-20M, ML-25M, ml-latest).

``ratings.csv`` (``userId,movieId,rating,timestamp``) is parsed in blocks of a million
rows; ``movies.csv`` (``movieId,title,genres``, quoted titles, ``|``-separated genres,
``(no genres listed)`` for none) with the ``csv`` module. A malformed line raises
``ValueError`` naming the file and the line.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from .atomic import read_inter_chunked
from .dataset import Dataset
from .loaders import DatasetNotFoundError, _build, _read_lines, _split_rows

RATINGS_HEADER = "userId,movieId,rating,timestamp"
MOVIES_HEADER = "movieId,title,genres"
NO_GENRES = "(no genres listed)"


def _check_header(path: Path, expected: str) -> None:
    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline().strip()
    if first != expected:
        raise ValueError(f"{path}, line 1: expected the header {expected!r}, found {first!r}")


def read_movielens_csv(folder: str | os.PathLike, name: str = "ml-20m") -> Dataset:
    """Read a GroupLens CSV distribution (``ratings.csv``, ``movies.csv``), e.g. ML-20M.

    Parameters
    ----------
    folder : str or os.PathLike
        The unpacked folder, e.g. ``ml-20m``.
    name : str, default "ml-20m"
        The dataset's name.

    Returns
    -------
    Dataset
        Ratings with integer ids, genres in order of first appearance in ``movies.csv``.

    Raises
    ------
    DatasetNotFoundError
        ``ratings.csv`` or ``movies.csv`` is missing.
    ValueError
        A wrong header or a malformed line (the message names the file and line).
    """
    folder = Path(folder)
    ratings_f, movies_f = folder / "ratings.csv", folder / "movies.csv"
    for f in (ratings_f, movies_f):
        if not f.is_file():
            raise DatasetNotFoundError(f"{f} not found; expected the GroupLens CSV files")
    _check_header(ratings_f, RATINGS_HEADER)
    _check_header(movies_f, MOVIES_HEADER)
    header = {"user_id": 0, "item_id": 1, "rating": 2, "timestamp": 3}
    fast = read_inter_chunked(ratings_f, header, True, sep=",", integer_stamps=True)
    if fast is not None:
        users, items, ratings, stamps = fast
    else:  # the line reader, whose errors name the line
        lines = _read_lines(ratings_f, "utf-8")
        t = _split_rows(ratings_f, lines[1:], ",", 4, 2, exact=True)
        users = t.numbers(0, "userId", integer=True)
        items = t.numbers(1, "movieId", integer=True)
        ratings = t.numbers(2, "rating", integer=False)
        stamps = t.numbers(3, "timestamp", integer=True)

    catalogue: dict[str, tuple[str, list[str]]] = {}
    genre_names: dict[str, None] = {}
    with open(movies_f, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            if not row:
                continue
            where = f"{movies_f}, line {reader.line_num}"
            if len(row) != 3:
                raise ValueError(f"{where}: expected 3 comma-separated fields, found {len(row)}")
            try:
                movie = int(row[0])
            except ValueError:
                raise ValueError(f"{where}: movieId must be an integer, got {row[0]!r}") from None
            genres = [g for g in row[2].split("|") if g and g != NO_GENRES]
            genre_names.update(dict.fromkeys(genres))
            catalogue[str(movie)] = (row[1], genres)
    return _build(name, users, items, np.asarray(ratings, dtype=np.float32), stamps, catalogue,
                  list(genre_names))  # fmt: skip

"""RecBole atomic files at size: a chunked writer and a chunked ``.inter`` reader.

``write_atomic`` writes ``<name>.inter`` and ``<name>.item`` a block of rows at a time,
so a 20-million-row log never becomes one Python string. ``read_inter_chunked`` reads an
``.inter`` file a block of rows at a time with pandas' C parser, turning the ids of each
block into integer codes at once (only the distinct ids are kept as Python strings), so
the memory stays a few bytes per row. It returns None for anything it does not parse
cleanly; ``read_atomic`` then falls back to its line-by-line reader, whose errors name the
file and the line.
"""

from __future__ import annotations

import csv
import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import Dataset

CHUNK_ROWS = 1_000_000


def _write_atomically(path: Path, blocks) -> None:
    """Write the text ``blocks`` to a temporary file beside ``path``, then rename it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="\n") as out:  # the umask's mode
            for block in blocks:
                out.write(block)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_text(values, what: str, spaces: bool) -> None:
    for v in values:
        if "\t" in v or "\n" in v or "\r" in v or (not spaces and (" " in v or not v)):
            kind = "TAB or newline" if spaces else "whitespace and not be empty"
            raise ValueError(f"{what} {str(v)!r} cannot be written to an atomic file: it must not "
                             f"hold {kind}")  # fmt: skip


def write_atomic(
    dataset: Dataset, folder: str | os.PathLike, name: str, chunk_rows: int = CHUNK_ROWS
) -> tuple[Path, Path]:
    """Write ``dataset`` as RecBole atomic files ``<name>.inter`` and ``<name>.item``.

    ``.inter`` holds ``user_id:token``, ``item_id:token``, ``rating:float`` and
    ``timestamp:float`` (the raw ids); ``.item`` holds ``item_id:token``,
    ``genre:token_seq`` (space-separated genre names), ``title:token_seq`` and, when the
    dataset has years, ``release_year:float``. Each file is written ``chunk_rows`` rows at
    a time to a temporary name and renamed into place when complete. ``read_atomic``
    reads the pair back.

    Parameters
    ----------
    dataset : Dataset
        The dataset to write.
    folder : str or os.PathLike
        The folder (created when missing).
    name : str
        The files' stem, a non-empty name without a path separator.
    chunk_rows : int, default 1000000
        Rows formatted per block, ``>= 1``.

    Returns
    -------
    tuple of pathlib.Path
        The ``.inter`` and ``.item`` paths.

    Raises
    ------
    ValueError
        An empty ``name`` or one with a separator, ``chunk_rows < 1``, ids or genre names
        holding whitespace, or titles holding a TAB or newline.
    """
    if not name or os.sep in name or "/" in name:
        raise ValueError(f"name must be a file stem without a path separator, got {name!r}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    _check_text(dataset.raw_user_ids, "user id", spaces=False)
    _check_text(dataset.raw_item_ids, "item id", spaces=False)
    _check_text(dataset.genre_names, "genre name", spaces=False)
    _check_text(dataset.item_titles, "title", spaces=True)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    log = dataset.interactions
    raw_users = np.asarray(dataset.raw_user_ids).astype(str)
    raw_items = np.asarray(dataset.raw_item_ids).astype(str)

    def inter_blocks():
        yield "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        for start in range(0, len(log), chunk_rows):
            part = slice(start, start + chunk_rows)
            frame = pd.DataFrame({
                "u": raw_users[log.users[part]], "i": raw_items[log.items[part]],
                "r": log.ratings[part], "t": log.timestamps[part],
            })  # fmt: skip
            yield frame.to_csv(sep="\t", header=False, index=False, lineterminator="\n",
                               quoting=csv.QUOTE_NONE)  # fmt: skip

    years = dataset.item_years

    def item_blocks():
        yield "item_id:token\tgenre:token_seq\ttitle:token_seq" + (
            "\trelease_year:float\n" if years is not None else "\n"
        )
        names = np.asarray(dataset.genre_names, dtype=object)
        for start in range(0, dataset.n_items, chunk_rows):
            rows = []
            for i in range(start, min(start + chunk_rows, dataset.n_items)):
                row = [raw_items[i], " ".join(names[dataset.item_genres[i]]),
                       dataset.item_titles[i]]  # fmt: skip
                if years is not None:
                    row.append("" if np.isnan(years[i]) else repr(float(years[i])))
                rows.append("\t".join(row) + "\n")
            yield "".join(rows)

    inter_path, item_path = folder / f"{name}.inter", folder / f"{name}.item"
    _write_atomically(inter_path, inter_blocks())
    _write_atomically(item_path, item_blocks())
    return inter_path, item_path


class _Codes:
    """Distinct raw ids in order of first appearance, and the code of every row."""

    def __init__(self, numeric: bool):
        self.index: dict[str, int] = {}
        self.numeric = numeric
        self.parts: list[np.ndarray] = []

    def add(self, column: pd.Series) -> bool:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        if (codes < 0).any():
            return False
        keys = [str(u).strip() for u in uniques]
        if self.numeric:
            try:
                values = np.array(keys, dtype=np.float64)
            except ValueError:
                return False
            if not (np.all(np.isfinite(values)) and np.all(values == np.round(values))):
                return False
            keys = values.astype(np.int64).astype(str).tolist()
        if any(k == "" for k in keys):
            return False
        index = self.index
        mapped = np.array([index.setdefault(k, len(index)) for k in keys], dtype=np.int32)
        self.parts.append(mapped[codes] if len(mapped) else codes.astype(np.int32))
        return True

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        raw = np.array(list(self.index), dtype=str)
        return raw, np.concatenate(self.parts) if self.parts else np.empty(0, np.int32)


def read_inter_chunked(
    path: Path,
    header: dict[str, int],
    numeric_ids: bool,
    chunk_rows: int = CHUNK_ROWS,
    *,
    sep: str = "\t",
    n_fields: int | None = None,
    empty: tuple[int, ...] = (),
    skip: int = 1,
    encoding: str = "utf-8",
    integer_stamps: bool = False,
):
    """Read an atomic ``.inter`` file (or another one-character-separated log) in blocks.

    Parameters
    ----------
    path : pathlib.Path
        The ``.inter`` file, its header already parsed.
    header : dict of str to int
        Column of every field (``user_id`` and ``item_id`` required).
    numeric_ids : bool
        Require integer ids (written back without leading zeros or a fraction).
    chunk_rows : int, default 1000000
        Rows parsed per block.
    sep : str, default TAB
        The one-character field separator.
    n_fields : int, optional
        Fields per line; default ``len(header)``.
    empty : tuple of int, default ()
        Columns that must be empty (GroupLens ``::`` read with ``sep=":"``).
    skip : int, default 1
        Header lines before the data.
    encoding : str, default "utf-8"
        The file's encoding.
    integer_stamps : bool, default False
        Require integer timestamps.

    Returns
    -------
    tuple or None
        ``((raw users, user codes), (raw items, item codes), ratings, timestamps)``, the
        raw ids distinct and in order of first appearance, codes int32 into them, ratings
        float64 (ones without the column) and timestamps int64 (row order without it); None
        when a line does not parse cleanly (wrong field count, a bad number, an empty id,
        undecodable bytes, no data lines).
    """
    names = [f"c{j}" for j in range(len(header) if n_fields is None else n_fields)]
    wanted = {"user_id": str, "item_id": str, "rating": np.float64, "timestamp": np.float64}
    dtypes = {name: str for name in names}  # every column, so an extra field is an error
    dtypes.update({f"c{header[f]}": t for f, t in wanted.items() if f in header})
    users, items = _Codes(numeric_ids), _Codes(numeric_ids)
    ratings, stamps = [], []
    try:
        reader = pd.read_csv(
            path, sep=sep, header=None, skiprows=skip, names=names,
            dtype=dtypes, quoting=csv.QUOTE_NONE, na_filter=False, encoding=encoding,
            engine="c", chunksize=chunk_rows, skip_blank_lines=True,
        )  # fmt: skip
        with reader:
            for chunk in reader:
                if chunk.isna().any().any():
                    return None  # a short line
                if any((chunk[f"c{j}"] != "").any() for j in empty):
                    return None
                if not users.add(chunk[f"c{header['user_id']}"]):
                    return None
                if not items.add(chunk[f"c{header['item_id']}"]):
                    return None
                for field, out in (("rating", ratings), ("timestamp", stamps)):
                    if field in header:
                        values = chunk[f"c{header[field]}"].to_numpy(np.float64)
                        if not np.all(np.isfinite(values)):
                            return None
                        if field == "timestamp" and integer_stamps:
                            if not np.all(values == np.round(values)):
                                return None
                        out.append(values)
    except (ValueError, UnicodeDecodeError):  # pandas' ParserError is a ValueError
        return None
    raw_users, user_codes = users.result()
    if user_codes.size == 0:
        return None
    n = user_codes.size
    rating = np.concatenate(ratings) if "rating" in header else np.ones(n)
    if "timestamp" in header:
        stamp = np.round(np.concatenate(stamps)).astype(np.int64)
    else:
        stamp = np.arange(n, dtype=np.int64)
    return (raw_users, user_codes), items.result(), rating, stamp

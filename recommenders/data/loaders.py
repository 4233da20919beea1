"""Readers for MovieLens and RecBole atomic files, and ``load_dataset``.

Sources, in the order ``load_dataset`` tries them for a named dataset:

1. ``path=`` given by the user: GroupLens ML-100K (``u.data``, ``u.item``), ML-1M
   (``ratings.dat``, ``movies.dat``) or any RecBole atomic ``.inter``/``.item`` pair;
   the format is recognised from the files present.
2. ``"ml-100k"``: the atomic files packaged in the RecBole wheel
   (``recbole/dataset_example/ml-100k/``), located with ``importlib.util.find_spec``
   without importing RecBole (``pip install --no-deps recbole==1.2.1``).
3. ``"ml-1m"`` (and ``"ml-100k"`` as a last resort): the cache folder
   (``$MOOPT_DATA`` or ``~/.cache/moopt/datasets``), downloading the GroupLens zip into it
   when a network exists.

Every malformed file raises ``ValueError`` naming the file and the line.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .atomic import read_inter_chunked
from .dataset import Dataset
from .interactions import Interactions

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip

GROUPLENS_URLS = {
    "ml-100k": "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
    "ml-1m": "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
}

INSTALL_HINT = (
    "install the packaged copy of ML-100K with `pip install --no-deps recbole==1.2.1` "
    "(or run `make demo`, which does it)"
)

_GENRE_FIELDS = ("class", "genre", "genres", "categories", "category")
_TITLE_FIELDS = ("movie_title", "title", "name")
_YEAR_FIELDS = ("release_year", "year")
_TITLE_YEAR = re.compile(r"\((\d{4})\)\s*$")


class DatasetNotFoundError(FileNotFoundError):
    """No source for a dataset was found; the message says how to provide one."""


# --------------------------------------------------------------------------- parsing


def _read_lines(path: Path, encoding: str) -> list[str]:
    try:
        text = path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: cannot decode as {encoding} ({exc})") from None
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise ValueError(f"{path}: the file is empty")
    return lines


class _Table:
    """Data lines of one file split into fields, each remembering its 1-based line number."""

    def __init__(self, path: Path, rows: list[list[str]], line_nos: list[int]):
        self.path, self.rows, self.line_nos = path, rows, line_nos

    def __len__(self) -> int:
        return len(self.rows)

    def error(self, index: int, message: str) -> ValueError:
        return ValueError(f"{self.path}, line {self.line_nos[index]}: {message}")

    def strings(self, col: int, what: str) -> np.ndarray:
        values = np.array([r[col].strip() for r in self.rows])
        empty = np.flatnonzero(values == "")
        if empty.size:
            raise self.error(int(empty[0]), f"{what} is empty")
        return values

    def numbers(self, col: int, what: str, integer: bool) -> np.ndarray:
        values = [r[col].strip() for r in self.rows]
        try:
            arr = np.array(values, dtype=np.float64)
        except ValueError:
            arr = None
        if arr is not None and np.all(np.isfinite(arr)):
            if not integer:
                return arr
            if np.all(arr == np.round(arr)):
                return arr.astype(np.int64)
        kind = "an integer" if integer else "a finite number"
        for index, v in enumerate(values):
            try:
                x = float(v)
                ok = bool(np.isfinite(x)) and (not integer or x == round(x))
            except ValueError:
                ok = False
            if not ok:
                raise self.error(index, f"{what} must be {kind}, got {v!r}")
        raise AssertionError("unreachable")  # pragma: no cover


def _split_rows(
    path: Path, lines: Sequence[str], sep: str, n_fields: int, first_line: int, exact: bool
) -> _Table:
    """Split data lines on ``sep``; each must have ``n_fields`` fields (or more if not exact)."""
    rows, line_nos = [], []
    for offset, line in enumerate(lines):
        if not line.strip():
            continue
        fields = line.split(sep)
        if len(fields) < n_fields or (exact and len(fields) != n_fields):
            shown = "TAB" if sep == "\t" else repr(sep)
            hint = " (is the separator right?)" if len(fields) == 1 else ""
            raise ValueError(
                f"{path}, line {first_line + offset}: expected {n_fields} fields separated by "
                f"{shown}, found {len(fields)}{hint}"
            )
        rows.append(fields)
        line_nos.append(first_line + offset)
    if not rows:
        raise ValueError(f"{path}: the file has a header but no data lines")
    return _Table(path, rows, line_nos)


def _encode(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous codes for raw ids: ``(unique ids, code of each entry)``.

    Ids are ordered numerically when they all look like integers (so ML ids 1..n map to
    0..n-1), lexicographically otherwise.
    """
    uniq, inverse = np.unique(raw.astype(str), return_inverse=True)
    try:
        order = np.argsort(uniq.astype(np.int64), kind="stable")
    except ValueError:
        order = np.arange(len(uniq))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return uniq[order], rank[inverse.ravel()]


def _build(
    name: str,
    raw_users: np.ndarray | tuple[np.ndarray, np.ndarray],
    raw_items: np.ndarray | tuple[np.ndarray, np.ndarray],
    ratings: np.ndarray,
    timestamps: np.ndarray,
    catalogue: dict[str, tuple[str, list[str]]],
    genre_names: Sequence[str] | None,
    years: dict[str, float] | None = None,
) -> Dataset:
    if isinstance(raw_users, tuple):  # (distinct raw ids, code of every row into them)
        user_ids, codes = _encode(raw_users[0])
        users = codes[raw_users[1]]
    else:
        user_ids, users = _encode(np.asarray(raw_users))
    distinct, rows = raw_items if isinstance(raw_items, tuple) else (raw_items, None)
    all_items = np.concatenate([np.asarray(distinct).astype(str), np.array(list(catalogue), str)])
    item_ids, item_codes = _encode(all_items)
    items = item_codes[: len(distinct)]
    if rows is not None:
        items = items[rows]
    if genre_names is None:
        genre_names = sorted({g for _, gs in catalogue.values() for g in gs})
    genre_index = {g: j for j, g in enumerate(genre_names)}
    genres = np.zeros((len(item_ids), len(genre_names)), dtype=bool)
    titles = [""] * len(item_ids)
    item_years = np.full(len(item_ids), np.nan)
    for pos, raw in enumerate(item_ids):
        entry = catalogue.get(raw)
        if entry is None:
            continue
        titles[pos] = entry[0]
        for g in entry[1]:
            genres[pos, genre_index[g]] = True
        if years is not None:
            item_years[pos] = years.get(raw, np.nan)
        else:  # GroupLens titles end with the release year: "Toy Story (1995)"
            match = _TITLE_YEAR.search(entry[0])
            if match:
                item_years[pos] = float(match.group(1))
    inter = Interactions(users, items, timestamps, ratings, len(user_ids), len(item_ids))
    return Dataset(name, inter, genres, tuple(genre_names), tuple(titles), user_ids, item_ids,
                   item_years if np.isfinite(item_years).any() else None)  # fmt: skip


# ------------------------------------------------------------------ GroupLens formats


def read_grouplens_100k(folder: str | os.PathLike) -> Dataset:
    """Read the GroupLens ML-100K distribution (``u.data``, ``u.item``, optional ``u.genre``).

    Parameters
    ----------
    folder : str or os.PathLike
        The unpacked ``ml-100k`` folder.

    Returns
    -------
    Dataset
        Named ``"ml-100k"``.

    Raises
    ------
    DatasetNotFoundError
        ``u.data`` or ``u.item`` is missing.
    ValueError
        A malformed line (the message names the file and line).
    """
    folder = Path(folder)
    data, item = folder / "u.data", folder / "u.item"
    for f in (data, item):
        if not f.is_file():
            raise DatasetNotFoundError(f"{f} not found; expected the GroupLens ML-100K files")
    t = _split_rows(data, _read_lines(data, "latin-1"), "\t", 4, 1, exact=True)
    users = t.numbers(0, "user id", integer=True)
    items = t.numbers(1, "item id", integer=True)
    ratings = t.numbers(2, "rating", integer=False)
    stamps = t.numbers(3, "timestamp", integer=True)

    names = list(ML100K_GENRES)
    genre_file = folder / "u.genre"
    if genre_file.is_file():
        g = _split_rows(genre_file, _read_lines(genre_file, "latin-1"), "|", 2, 1, exact=True)
        names = [r[0] for r in g.rows]
    it = _split_rows(item, _read_lines(item, "latin-1"), "|", 5 + len(names), 1, exact=True)
    ids = it.numbers(0, "item id", integer=True)
    catalogue = {}
    for index, (raw, r) in enumerate(zip(ids, it.rows, strict=True)):
        flags = [f.strip() for f in r[5:]]
        bad = [f for f in flags if f not in ("0", "1")]
        if bad:
            raise it.error(index, f"genre flags must be 0 or 1, got {bad[0]!r}")
        catalogue[str(raw)] = (r[1], [n for n, f in zip(names, flags, strict=True) if f == "1"])
    return _build("ml-100k", users, items, ratings.astype(np.float32), stamps, catalogue, names)


def read_ml1m(folder: str | os.PathLike) -> Dataset:
    """Read the GroupLens ML-1M distribution (``ratings.dat``, ``movies.dat``; ``::``-separated).

    Parameters
    ----------
    folder : str or os.PathLike
        The unpacked ``ml-1m`` folder.

    Returns
    -------
    Dataset
        Named ``"ml-1m"``.

    Raises
    ------
    DatasetNotFoundError
        ``ratings.dat`` or ``movies.dat`` is missing.
    ValueError
        A malformed line (the message names the file and line).
    """
    folder = Path(folder)
    ratings_f, movies_f = folder / "ratings.dat", folder / "movies.dat"
    for f in (ratings_f, movies_f):
        if not f.is_file():
            raise DatasetNotFoundError(f"{f} not found; expected the GroupLens ML-1M files")
    fast = read_inter_chunked(
        ratings_f, {"user_id": 0, "item_id": 2, "rating": 4, "timestamp": 6}, True,
        sep=":", n_fields=7, empty=(1, 3, 5), skip=0, encoding="latin-1", integer_stamps=True,
    )  # fmt: skip
    if fast is not None:  # else the line reader, whose errors name the line
        users, items, ratings, stamps = fast
    else:
        t = _split_rows(ratings_f, _read_lines(ratings_f, "latin-1"), "::", 4, 1, exact=True)
        users = t.numbers(0, "user id", integer=True)
        items = t.numbers(1, "movie id", integer=True)
        ratings = t.numbers(2, "rating", integer=False)
        stamps = t.numbers(3, "timestamp", integer=True)
    m = _split_rows(movies_f, _read_lines(movies_f, "latin-1"), "::", 3, 1, exact=True)
    ids = m.numbers(0, "movie id", integer=True)
    catalogue = {
        str(raw): (r[1], [g for g in r[2].strip().split("|") if g])
        for raw, r in zip(ids, m.rows, strict=True)
    }
    return _build("ml-1m", users, items, ratings.astype(np.float32), stamps, catalogue, None)


# ------------------------------------------------------------------ RecBole atomic files


def _parse_header(path: Path, line: str) -> dict[str, int]:
    header = {}
    for col, field in enumerate(line.split("\t")):
        name, sep, _ftype = field.strip().partition(":")
        if field.count(":") > 1:
            raise ValueError(
                f"{path}, line 1: header field {field!r} holds several name:type pairs; "
                "RecBole atomic files separate fields with TAB (is the separator right?)"
            )
        if not sep or not name:
            raise ValueError(
                f"{path}, line 1: header field {field!r} is not of the form name:type "
                "(RecBole atomic headers are TAB-separated, e.g. 'user_id:token')"
            )
        header[name] = col
    return header


def _require(path: Path, header: dict[str, int], *names: str) -> None:
    for required in names:
        if required not in header:
            raise ValueError(
                f"{path}, line 1: the header lacks the {required} column "
                f"(found: {', '.join(header)})"
            )


def read_atomic(
    folder: str | os.PathLike, name: str | None = None, *, numeric_ids: bool = False
) -> Dataset:
    """Read a RecBole atomic dataset: ``<name>.inter`` and, if present, ``<name>.item``.

    The ``.inter`` header must name ``user_id`` and ``item_id``; ``rating`` and
    ``timestamp`` are optional (ones and the row order stand in). In ``.item``, the title
    comes from the first of ``movie_title``/``title``/``name`` and genres from the first of
    ``class``/``genre``/``genres``/``categories`` (a space-separated ``token_seq``).

    Parameters
    ----------
    folder : str or os.PathLike
        The folder holding the atomic files.
    name : str, optional
        The files' stem; default the only ``.inter`` file in ``folder``.
    numeric_ids : bool, default False
        Additionally require integer user and item ids.

    Returns
    -------
    Dataset
        Named ``name``.

    Raises
    ------
    DatasetNotFoundError
        No ``.inter`` file, or several without ``name``.
    ValueError
        A header lacking ``user_id``/``item_id``, or a malformed line (file and line named).
    """
    folder = Path(folder)
    if name is None:
        inters = sorted(folder.glob("*.inter"))
        if len(inters) != 1:
            raise DatasetNotFoundError(
                f"{folder}: expected exactly one .inter file, found {len(inters)}; "
                "pass name= to choose"
            )
        name = inters[0].stem
    inter_f, item_f = folder / f"{name}.inter", folder / f"{name}.item"
    if not inter_f.is_file():
        raise DatasetNotFoundError(f"{inter_f} not found")

    def ids(table: _Table, col: int, what: str) -> np.ndarray:
        if numeric_ids:
            return table.numbers(col, what, integer=True).astype(str)
        return table.strings(col, what)

    # Large files are parsed in blocks; anything malformed goes to the line reader below,
    # whose errors name the file and the line.
    with open(inter_f, encoding="utf-8", errors="replace") as f:
        first = f.readline()
    fast = None
    if first.strip():
        header = _parse_header(inter_f, first.rstrip("\r\n"))
        _require(inter_f, header, "user_id", "item_id")
        fast = read_inter_chunked(inter_f, header, numeric_ids)
    if fast is not None:
        raw_users, raw_items, ratings, stamps = fast
    else:
        lines = _read_lines(inter_f, "utf-8")
        header = _parse_header(inter_f, lines[0])
        _require(inter_f, header, "user_id", "item_id")
        t = _split_rows(inter_f, lines[1:], "\t", len(header), 2, exact=True)
        raw_users = ids(t, header["user_id"], "user_id")
        raw_items = ids(t, header["item_id"], "item_id")
        if "rating" in header:
            ratings = t.numbers(header["rating"], "rating", integer=False)
        else:
            ratings = np.ones(len(t))
        if "timestamp" in header:
            stamps = np.round(t.numbers(header["timestamp"], "timestamp", integer=False))
            stamps = stamps.astype(np.int64)
        else:
            stamps = np.arange(len(t), dtype=np.int64)

    catalogue: dict[str, tuple[str, list[str]]] = {}
    genre_names = None
    years = None
    if item_f.is_file():
        item_lines = _read_lines(item_f, "utf-8")
        ih = _parse_header(item_f, item_lines[0])
        _require(item_f, ih, "item_id")
        it = _split_rows(item_f, item_lines[1:], "\t", len(ih), 2, exact=True)
        item_ids = ids(it, ih["item_id"], "item_id")
        tcol = next((ih[f] for f in _TITLE_FIELDS if f in ih), None)
        gcol = next((ih[f] for f in _GENRE_FIELDS if f in ih), None)
        ycol = next((ih[f] for f in _YEAR_FIELDS if f in ih), None)
        years = {} if ycol is not None else None
        for raw, r in zip(item_ids, it.rows, strict=True):
            title = r[tcol].strip() if tcol is not None else ""
            genres = r[gcol].split() if gcol is not None else []
            catalogue[str(raw)] = (title, genres)
            if years is not None:
                years[str(raw)] = _year(r[ycol])
        genre_names = sorted({g for _, gs in catalogue.values() for g in gs})
        if set(genre_names) == set(ML100K_GENRES):
            genre_names = list(ML100K_GENRES)  # the GroupLens column order
    return _build(name, raw_users, raw_items, ratings.astype(np.float32), stamps, catalogue,
                  genre_names, years)  # fmt: skip


def _year(text: str) -> float:
    """A release year field as a float; NaN when empty or not a plausible year (an
    unknown year is common in catalogues and is not an error)."""
    try:
        value = float(text.strip())
    except ValueError:
        return np.nan
    return value if np.isfinite(value) and 1000 <= value <= 3000 else np.nan


# ------------------------------------------------------------------ sources and caching


def recbole_ml100k_dir() -> Path | None:
    """The ML-100K folder inside an installed RecBole wheel, found without importing RecBole.

    Returns
    -------
    pathlib.Path or None
        The folder holding ``ml-100k.inter``, or None when RecBole is not installed.
    """
    try:
        spec = importlib.util.find_spec("recbole")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        folder = Path(root) / "dataset_example" / "ml-100k"
        if (folder / "ml-100k.inter").is_file():
            return folder
    return None


def default_cache_dir() -> Path:
    """Where downloaded datasets are cached.

    Returns
    -------
    pathlib.Path
        ``$MOOPT_DATA`` if set, else ``~/.cache/moopt/datasets``.
    """
    env = os.environ.get("MOOPT_DATA")
    return Path(env) if env else Path.home() / ".cache" / "moopt" / "datasets"


def download_grouplens(name: str, cache_dir: str | os.PathLike | None = None, timeout=30.0) -> Path:
    """Download and unpack a GroupLens zip into the cache; return the unpacked folder.

    The zip is written under a temporary name and moved into place only when complete,
    so an interrupted download never leaves a half-written dataset behind.

    Parameters
    ----------
    name : {"ml-100k", "ml-1m"}
        The GroupLens dataset.
    cache_dir : str or os.PathLike, optional
        The cache folder; default ``default_cache_dir()``.
    timeout : float, default 30.0
        Network timeout in seconds.

    Returns
    -------
    pathlib.Path
        ``cache_dir / name`` (returned at once when it already holds files).

    Raises
    ------
    ValueError
        An unknown ``name``, or an archive without the ``name/`` folder.
    DatasetNotFoundError
        The download failed (the message says how to provide the files).
    """
    if name not in GROUPLENS_URLS:
        raise ValueError(f"no download known for {name!r}; known: {sorted(GROUPLENS_URLS)}")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = cache / name
    if target.is_dir() and any(target.iterdir()):
        return target
    cache.mkdir(parents=True, exist_ok=True)
    url = GROUPLENS_URLS[name]
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        zpath = Path(tmp) / f"{name}.zip"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, open(zpath, "wb") as out:
                shutil.copyfileobj(resp, out)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise DatasetNotFoundError(
                f"could not download {name} from {url} ({exc}). Without a network, unpack "
                f"the GroupLens zip yourself and pass its folder: load_dataset({name!r}, "
                f"path='...'), or place it at {target}"
            ) from None
        with zipfile.ZipFile(zpath) as zf:
            zf.extractall(tmp)
        unpacked = Path(tmp) / name
        if not unpacked.is_dir():
            raise ValueError(f"{url}: the archive has no top-level {name}/ folder")
        os.replace(unpacked, target)
    return target


def read_folder(folder: str | os.PathLike, name: str | None = None) -> Dataset:
    """Read whichever supported format ``folder`` holds.

    Parameters
    ----------
    folder : str or os.PathLike
        A GroupLens ML-100K, ML-1M or CSV (ML-20M) folder, or one with RecBole atomic
        files.
    name : str, optional
        The atomic files' stem; ``"ml-100k"`` and ``"ml-1m"`` also require integer ids.

    Returns
    -------
    Dataset
        As the matching reader returns it.

    Raises
    ------
    DatasetNotFoundError
        ``folder`` is not a folder or holds no known files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetNotFoundError(f"{folder} is not a folder")
    if (folder / "u.data").is_file():
        return read_grouplens_100k(folder)
    if (folder / "ratings.dat").is_file():
        return read_ml1m(folder)
    if (folder / "ratings.csv").is_file():
        from .movielens_csv import read_movielens_csv  # it imports this module

        return read_movielens_csv(folder, name or folder.name)
    if any(folder.glob("*.inter")):
        numeric = name in ("ml-100k", "ml-1m")
        return read_atomic(
            folder, name if (folder / f"{name}.inter").is_file() else None, numeric_ids=numeric
        )
    raise DatasetNotFoundError(
        f"{folder} holds no known dataset files: expected u.data/u.item (ML-100K), "
        "ratings.dat/movies.dat (ML-1M), ratings.csv/movies.csv (ML-20M) or a RecBole "
        "<name>.inter/<name>.item pair"
    )


def load_dataset(
    name: str = "ml-100k",
    *,
    path: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> Dataset:
    """Load a dataset by name (``"ml-100k"``, ``"ml-1m"``) or from a folder.

    Parameters
    ----------
    name : str, default "ml-100k"
        ``"ml-100k"`` or ``"ml-1m"``, or the stem of an atomic dataset when ``path`` is given.
        A folder path is also accepted in place of a name.
    path : str or os.PathLike, optional
        A folder with GroupLens or RecBole atomic files; takes precedence over every other
        source.
    cache_dir : str or os.PathLike, optional
        Where downloads go (default ``default_cache_dir()``).
    download : bool, default True
        Allow downloading into the cache when no local copy exists.

    Returns
    -------
    Dataset
        The loaded dataset.

    Raises
    ------
    ValueError
        An unknown ``name`` without ``path``, or a malformed file.
    DatasetNotFoundError
        No source found (the message says how to provide one).
    """
    if path is None and (os.sep in name or Path(name).is_dir()):
        path, name = name, Path(name).name
    if path is not None:
        return read_folder(path, name)
    key = name.lower()
    if key == "ml-100k":
        packaged = recbole_ml100k_dir()
        if packaged is not None:
            return read_atomic(packaged, "ml-100k", numeric_ids=True)
    elif key != "ml-1m":
        raise ValueError(
            f"unknown dataset {name!r}: use 'ml-100k' or 'ml-1m', or pass path= to a folder "
            "with GroupLens or RecBole atomic files"
        )
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if (cache / key).is_dir() and any((cache / key).iterdir()):
        return read_folder(cache / key, key)
    if not download:
        raise DatasetNotFoundError(_missing_message(key, cache))
    try:
        folder = download_grouplens(key, cache)
    except DatasetNotFoundError as exc:
        raise DatasetNotFoundError(f"{_missing_message(key, cache)}\n{exc}") from None
    return read_folder(folder, key)


def _missing_message(key: str, cache: Path) -> str:
    if key == "ml-100k":
        return f"ML-100K is not available: {INSTALL_HINT}; or pass path= to a copy"
    return (
        f"{key} is not available locally (looked in {cache / key}); pass path= to the "
        "unpacked GroupLens folder or allow a download with a network"
    )

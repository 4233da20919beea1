"""Candidates files: one ``.npz``, or a directory of ``.npy`` arrays read memory-mapped.

The ``.npz`` (``save_candidates(path.npz, ...)``) is compressed and read whole. At
ML-20M size and beyond the directory form is the one to use: ``<dir>/<name>.npy`` per
array (``users``, ``items``, ``scores``, ``target``, optionally ``sampled_items``,
``sampled_scores``, ``log_norm_full``, ``item_genres``, ``genre_names``,
``item_popularity``) plus ``<dir>/meta.json`` holding the ``meta_*`` values and each
array's shape and dtype. ``CandidatesWriter`` fills the arrays block by block through
``numpy.lib.format.open_memmap`` in a temporary directory that is renamed into place at
the end, so a reader sees a complete directory or none; ``load_candidates`` returns
read-only memory maps, so reading a block of users touches only that block's pages.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

from .io import _umask, atomic_path

#: The ``format`` entry of a candidates directory's ``meta.json``.
DIR_FORMAT = "moopt-candidates-dir-1"

_REQUIRED = ("users", "items", "scores", "target")


def _meta_value(value):
    value = np.asarray(value)
    if value.ndim != 0:
        raise ValueError(f"meta values must be strings or numbers, got an array of shape "
                         f"{value.shape}")  # fmt: skip
    return value.item()


class CandidatesWriter:
    """Write a candidates directory block by block, atomically.

    Use as a context manager: ``create`` each array with its full shape, fill it in
    blocks, set ``meta``; leaving the block normally flushes the arrays, writes
    ``meta.json`` and renames the temporary directory to ``path`` (replacing an old one);
    an exception deletes the temporary directory and leaves ``path`` as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The directory to produce; its parent is created if missing.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with CandidatesWriter(Path(d) / "cands") as w:
    ...         items = w.create("items", (3, 2), np.int64)
    ...         items[:2], items[2:] = [[4, 1], [0, 2]], [[3, 4]]  # two blocks of users
    ...         for name, values in (("users", [0, 1, 2]), ("target", [1, 2, 3]),
    ...                              ("scores", np.ones((3, 2), np.float32))):
    ...             _ = w.put(name, np.asarray(values))
    ...         w.meta["model"] = "pop"
    ...     sorted(p.name for p in (Path(d) / "cands").iterdir())
    ['items.npy', 'meta.json', 'scores.npy', 'target.npy', 'users.npy']
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.meta: dict[str, object] = {}
        self._arrays: dict[str, np.memmap] = {}
        self._tmp: Path | None = None

    def __enter__(self) -> CandidatesWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(dir=self.path.parent, prefix=f".{self.path.name}."))
        return self

    def create(self, name: str, shape: tuple[int, ...], dtype) -> np.memmap:
        """A writable memory-mapped ``.npy`` of ``shape`` and ``dtype`` in the directory.

        Parameters
        ----------
        name : str
            The array's key (``<name>.npy``); letters, digits and ``_`` only.
        shape : tuple of int
            Its full shape.
        dtype : numpy dtype
            Its dtype (not ``object``).

        Returns
        -------
        numpy.memmap
            The array, to be filled by the caller.
        """
        if self._tmp is None:
            raise RuntimeError("CandidatesWriter.create is called inside its with block")
        if not name.replace("_", "").isalnum() or name in self._arrays:
            raise ValueError(f"array name {name!r} is not a new identifier")
        array = open_memmap(self._tmp / f"{name}.npy", mode="w+", dtype=np.dtype(dtype),
                            shape=tuple(int(s) for s in shape))  # fmt: skip
        self._arrays[name] = array
        return array

    def put(self, name: str, values: np.ndarray, block_rows: int = 1 << 16) -> np.memmap:
        """Create ``name`` and copy ``values`` into it, ``block_rows`` rows at a time.

        Parameters
        ----------
        name : str
            The array's key.
        values : numpy.ndarray
            The data (a memory map is read block by block too).
        block_rows : int, default 65536
            Rows copied per step.

        Returns
        -------
        numpy.memmap
            The written array.
        """
        values = np.asarray(values)
        out = self.create(name, values.shape, values.dtype)
        if values.ndim == 0:
            out[()] = values
        for start in range(0, values.shape[0] if values.ndim else 0, block_rows):
            out[start : start + block_rows] = values[start : start + block_rows]
        return out

    def __exit__(self, exc_type, exc, tb) -> None:
        tmp, self._tmp = self._tmp, None
        try:
            if exc_type is not None:
                return
            arrays = {}
            for name, array in self._arrays.items():
                array.flush()
                arrays[name] = {"shape": list(array.shape), "dtype": array.dtype.str}
            self._arrays.clear()
            missing = [k for k in _REQUIRED if k not in arrays]
            if missing:
                raise ValueError(f"a candidates directory needs the arrays {sorted(missing)}")
            meta = {k: _meta_value(v) for k, v in self.meta.items()}
            text = json.dumps({"format": DIR_FORMAT, "arrays": arrays, "meta": meta}, indent=1)
            (tmp / "meta.json").write_text(text)  # last: its presence marks a complete dir
            os.chmod(tmp, 0o777 & ~_umask())
            old = None
            if self.path.exists():
                old = Path(tempfile.mkdtemp(dir=self.path.parent, prefix=f".{self.path.name}.old"))
                os.replace(self.path, old / "previous")
            os.replace(tmp, self.path)
            if old is not None:
                shutil.rmtree(old)
        finally:
            self._arrays.clear()
            if tmp is not None and tmp.exists():
                shutil.rmtree(tmp)


def save_candidates(path: str | os.PathLike, data: dict[str, np.ndarray], **meta) -> Path:
    """Write a candidates dict (plus string/number metadata), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npz`` file (compressed, read whole), or any other name: a directory of
        ``.npy`` arrays and ``meta.json`` (see the module docstring), read memory-mapped.
    data : dict of str to numpy.ndarray
        The arrays (as ``candidates`` returns them); ``meta_<key>`` entries are metadata.
    **meta
        Strings or numbers, stored under ``meta_<key>``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    extra = {f"meta_{k}": np.asarray(v) for k, v in meta.items()}
    if path.suffix == ".npz":
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez_compressed(tmp, **data, **extra)
        return path
    with CandidatesWriter(path) as writer:
        for key, value in {**data, **extra}.items():
            if key.startswith("meta_"):
                writer.meta[key[len("meta_"):]] = value
            else:
                writer.put(key, value)
    return path


def _load_dir(path: Path) -> dict[str, np.ndarray]:
    meta_file = path / "meta.json"
    if not meta_file.is_file():
        raise ValueError(f"{path} is an incomplete candidates directory (no meta.json): a "
                         "write was interrupted or it is another folder; write it again")
    try:
        info = json.loads(meta_file.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{meta_file} is not valid JSON ({err}); write the candidates "
                         "again") from err
    if not isinstance(info, dict) or info.get("format") != DIR_FORMAT:
        raise ValueError(f"{meta_file} is not a candidates directory's meta.json")
    data: dict[str, np.ndarray] = {}
    for name, spec in info["arrays"].items():
        file = path / f"{name}.npy"
        if not file.is_file():
            raise ValueError(f"{path} is torn: {file.name} is missing; write it again")
        try:
            array = np.load(file, mmap_mode="r", allow_pickle=False)
        except ValueError as err:
            raise ValueError(f"{file} is torn or truncated ({err}); write it again") from err
        if list(array.shape) != spec["shape"] or array.dtype.str != spec["dtype"]:
            raise ValueError(f"{file} holds {array.dtype.str} {list(array.shape)}, meta.json says "
                             f"{spec['dtype']} {spec['shape']}: the directory is torn, write "
                             "it again")  # fmt: skip
        data[name] = array
    data.update({f"meta_{k}": np.asarray(v) for k, v in info["meta"].items()})
    return data


def load_candidates(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read candidates written by ``save_candidates``; metadata keys keep their prefix.

    Parameters
    ----------
    path : str or os.PathLike
        A candidates ``.npz``, or a candidates directory (its arrays come back as
        read-only memory maps, ``mmap_mode="r"``).

    Returns
    -------
    dict of str to numpy.ndarray
        The arrays; ``sampled_items``/``sampled_scores`` are absent from files made without
        the sampled protocol (a top-n score table,
        ``recommenders.external.candidates_from_scores``).

    Raises
    ------
    ValueError
        A required key is missing, the file is inconsistent, or the directory is torn or
        incomplete (no ``meta.json``, a missing or truncated array).
    FileNotFoundError
        ``path`` does not exist.
    """
    path = Path(path)
    if path.is_dir():
        data = _load_dir(path)
    elif not path.exists():
        raise FileNotFoundError(f"no candidates file or directory at {path}")
    else:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    missing = set(_REQUIRED) - set(data)
    if missing:
        raise ValueError(f"{path} is not a candidates file: missing {sorted(missing)}")
    if ("sampled_items" in data) != ("sampled_scores" in data):
        raise ValueError(f"{path} has only one of sampled_items and sampled_scores; the file "
                         "is corrupt, write it again")  # fmt: skip
    if "log_norm_full" in data and data["log_norm_full"].shape != data["users"].shape:
        raise ValueError(
            f"{path}: log_norm_full has shape {data['log_norm_full'].shape}, expected "
            f"{data['users'].shape}; the file is corrupt, re-run moopt train"
        )
    return data

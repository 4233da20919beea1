"""Result files written atomically, and the record of what produced them.

A leaf module (the standard library, numpy and pandas): ``recommenders.io`` builds its
job folders on it and the engine saves its results with it, so it imports nothing else
of moopt.

Every file is written to a temporary name in the destination folder and renamed into
place only once complete; an exception leaves nothing behind, a kill at most a stray
temporary file (``.<name>.<8 random characters><suffix>``), which the next job in that
folder deletes (``recommenders.io.job_folder``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import signal
import tempfile
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    Parameters
    ----------
    path : str or os.PathLike
        Final destination; its folder is created if missing.
    suffix : str, default ".tmp"
        Ending of the temporary file's name (e.g. ``".npz"`` for writers that append one).

    Yields
    ------
    pathlib.Path
        The temporary file (created empty, in ``path``'s folder) to write to. Leaving the
        block normally renames it to ``path``; an exception deletes it and ``path`` is
        left as it was.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from moopt.files import atomic_path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with atomic_path(Path(d) / "out.txt") as tmp:
    ...         _ = tmp.write_text("done")
    ...     print(sorted(p.name for p in Path(d).iterdir()), (Path(d) / "out.txt").read_text())
    ['out.txt'] done
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results get the usual mode
        _kill_point("before", path)
        os.replace(tmp, path)
        _kill_point("after", path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


#: Fault injection for the kill-and-rerun tests (tests/killrun.py): every atomic write
#: is two numbered kill points, its temporary complete but not renamed and just renamed.
#: ``MOOPT_KILL_TRACE=FILE`` appends one line per point to FILE; ``MOOPT_KILL_AT=N`` makes
#: the process SIGKILL itself at point N. Unset (always, outside the tests), they cost one
#: dictionary lookup per file written.
KILL_AT, KILL_TRACE = "MOOPT_KILL_AT", "MOOPT_KILL_TRACE"
_kill_points = [0]


def _kill_point(stage: str, path: Path) -> None:
    at, trace = os.environ.get(KILL_AT), os.environ.get(KILL_TRACE)
    if at is None and trace is None:
        return
    _kill_points[0] += 1
    if trace:
        with open(trace, "a") as f:
            f.write(f"{_kill_points[0]} {stage} {path}\n")
    if at is not None and int(at) == _kill_points[0]:
        os.kill(os.getpid(), signal.SIGKILL)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_finite(obj: Any, where: str = "") -> None:
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"refusing to write a non-finite value at {where or 'top level'}")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_finite(v, f"{where}.{k}" if where else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_finite(v, f"{where}[{i}]")


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write JSON atomically; NaN or infinite numbers raise ``ValueError`` instead.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file; its folder is created if missing.
    obj : Any
        JSON-serialisable value (dicts, lists, numbers, text, booleans, None).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If ``obj`` holds a NaN or infinite float (the message names where); nothing is
        written then.

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from moopt.files import write_json
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = write_json(Path(d) / "run" / "settings.json", {"seed": 0, "k": [5, 10]})
    ...     print(json.loads(path.read_text()))
    {'seed': 0, 'k': [5, 10]}
    >>> write_json("never.json", {"hv": float("nan")})
    Traceback (most recent call last):
    ...
    ValueError: refusing to write a non-finite value at hv
    """
    _check_finite(obj)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n")
    return Path(path)


def write_csv(path: str | os.PathLike, frame) -> Path:
    """Write a pandas DataFrame as CSV atomically (without its index).

    Parameters
    ----------
    path : str or os.PathLike
        Destination file; its folder is created if missing.
    frame : pandas.DataFrame
        The table; read it back exactly with ``read_csv``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from pathlib import Path
    >>> from moopt.files import read_csv, write_csv
    >>> frame = pd.DataFrame({"seed": [0, 1], "hv": [0.1, 2 / 3]})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     back = read_csv(write_csv(Path(d) / "runs.csv", frame))
    >>> back.equals(frame)
    True
    """
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(path)


def write_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write named arrays to an uncompressed ``.npz`` atomically.

    Read it with ``np.load``: no pickled objects are stored, so the default
    ``allow_pickle=False`` loads it.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file; its folder is created if missing.
    arrays : Mapping of str to array_like
        Array name to array (each converted with ``np.asarray``).

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> from moopt.files import write_npz
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with np.load(write_npz(Path(d) / "a.npz", {"F": [[1.0, 2.0]]})) as data:
    ...         print(data["F"])
    [[1. 2.]]
    """
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})
    return Path(path)


def read_csv(path: str | os.PathLike):
    """Read a CSV written by ``write_csv``, its floats back bit for bit.

    Before pandas 3 the default parser can be off in the last digit and ``round_trip``
    is exact; pandas 3 parses exactly by default and deprecates the option.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.

    Returns
    -------
    pandas.DataFrame
        The table, with a fresh ``RangeIndex``.
    """
    import pandas as pd

    if int(pd.__version__.split(".")[0]) >= 3:
        return pd.read_csv(path)
    return pd.read_csv(path, float_precision="round_trip")


#: Packages whose versions a run records (those absent here are left out).
PACKAGES = ("numpy", "scipy", "pandas", "pymoo", "numba", "torch", "scikit-learn",
            "scikit-optimize", "botorch", "moopt")  # fmt: skip


def versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Return the Python version and the installed versions of ``packages``.

    Versions come from the distributions' metadata, without importing them; the same on
    every run in one environment, so a rerun writes the same record.

    Parameters
    ----------
    packages : tuple of str, default ``PACKAGES``
        Distribution names; those not installed are left out.

    Returns
    -------
    dict of str to str
        ``{"python": "3.x.y", package: version, ...}``.

    Examples
    --------
    >>> from moopt.files import versions
    >>> sorted(versions(("numpy", "no-such-package")))
    ['numpy', 'python']
    """
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out

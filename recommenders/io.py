"""Atomic file writing: results appear whole or not at all.

Every file is written to a temporary name in the destination folder and renamed into
place only once complete; an exception leaves nothing behind, a kill at most a stray
temporary file (``.<name>.<8 random characters><suffix>``). A job holds its output folder
with ``job_folder``, which refuses a second job in the same folder and deletes the
temporaries a killed run left there, so that a rerun of the same command leaves only
whole result files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

# The atomic writer lives in moopt's leaf module, which the engine shares; it is
# re-exported here for the recommenders and problems that write through this module.
from moopt.files import (  # noqa: F401
    KILL_AT,
    KILL_TRACE,
    _umask,
    atomic_path,
    write_csv,
    write_json,
)


def digest(*arrays) -> str:
    """SHA-256 of the arrays' dtypes, shapes and bytes: what a resumed job checks against.

    Parameters
    ----------
    *arrays : array-like or None
        The arrays, in order; None entries are skipped.

    Returns
    -------
    str
        64 hex characters.

    Examples
    --------
    >>> digest(np.arange(3)) == digest(np.arange(3), None) != digest(np.arange(3.0))
    True
    """
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def dataset_digest(dataset) -> str:
    """``digest`` of a dataset's interactions and item genres.

    A finished run of a job is reused only for the data it was computed on.

    Parameters
    ----------
    dataset : Dataset
        Any object with ``interactions`` (and optionally ``item_genres``).

    Returns
    -------
    str
        64 hex characters.
    """
    inter = dataset.interactions
    return digest(inter.users, inter.items, inter.timestamps, inter.ratings,
                  getattr(dataset, "item_genres", None))  # fmt: skip


#: Names ``atomic_path`` gives its temporaries (``tempfile.mkstemp``: a dot, the
#: target's name, a dot, 8 characters of ``[a-z0-9_]``, the suffix).
TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.[A-Za-z0-9]+$")
LOCK_NAME = ".moopt-job.lock"


class FolderBusyError(RuntimeError):
    """Another job holds the output folder (``job_folder``)."""


def remove_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries that killed writes left in a folder and its subfolders.

    Only for a folder that no running process writes into (``job_folder`` makes sure of
    that).

    Parameters
    ----------
    folder : str or os.PathLike
        The folder (nothing happens when it does not exist).

    Returns
    -------
    list of pathlib.Path
        The paths deleted (names matching ``TEMPORARY``).
    """
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for path in sorted(folder.rglob(".*")):
        if path.is_file() and TEMPORARY.match(path.name):
            path.unlink()
            removed.append(path)
    return removed


@contextlib.contextmanager
def job_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Hold ``path`` as one job's output folder while the block runs.

    Creates the folder, takes an exclusive lock on ``.moopt-job.lock`` in it (the
    operating system releases it when the process ends, killed or not), deletes the
    temporaries an interrupted run left (``remove_temporaries``) and, when the block
    completes, the lock file.

    Parameters
    ----------
    path : str or os.PathLike
        The output folder (created if needed).

    Yields
    ------
    pathlib.Path
        The folder.

    Raises
    ------
    FolderBusyError
        Another job holds the folder, instead of interleaving its files with the first
        one's.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no locking, cleanup only
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise FolderBusyError(
                    f"another job is writing into {folder}; wait for it to finish or choose "
                    "another output folder"
                ) from None
        remove_temporaries(folder)
        yield folder
        lock.unlink(missing_ok=True)
    finally:
        os.close(fd)

"""Atomic file writing: results appear whole or not at all.

Every file is written to a temporary name in the destination folder and renamed into
place only once complete; an exception leaves nothing behind, a kill at most a stray
temporary file (``.<name>.<8 random characters><suffix>``). A job holds its output folder
with :func:`job_folder`, which refuses a second job in the same folder and deletes the
temporaries a killed run left there, so that a rerun of the same command leaves only
whole result files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success."""
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


def digest(*arrays) -> str:
    """SHA-256 (hex) of the arrays' dtypes, shapes and bytes: what a resumed job checks its
    saved state against (``None`` entries are skipped)."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def dataset_digest(dataset) -> str:
    """:func:`digest` of a dataset's interactions and item genres: a finished run of a job
    is reused only for the data it was computed on."""
    inter = dataset.interactions
    return digest(inter.users, inter.items, inter.timestamps, inter.ratings,
                  getattr(dataset, "item_genres", None))  # fmt: skip


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
    """Write JSON atomically; NaN or infinite numbers raise ``ValueError`` instead."""
    _check_finite(obj)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n")
    return Path(path)


def write_csv(path: str | os.PathLike, frame) -> Path:
    """Write a pandas DataFrame as CSV atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(path)


#: Names :func:`atomic_path` gives its temporaries (``tempfile.mkstemp``: a dot, the
#: target's name, a dot, 8 characters of ``[a-z0-9_]``, the suffix).
TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.[A-Za-z0-9]+$")
LOCK_NAME = ".moopt-job.lock"


class FolderBusyError(RuntimeError):
    """Another job holds the output folder (:func:`job_folder`)."""


def remove_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries that writes into ``folder`` (and its subfolders) left when
    their process was killed; returns the paths deleted. Only for a folder that no running
    process writes into (:func:`job_folder` makes sure of that)."""
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
    temporaries an interrupted run left (:func:`remove_temporaries`) and, when the block
    completes, the lock file. A second job in the same folder while one runs raises
    :class:`FolderBusyError` instead of interleaving its files with the first one's.
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

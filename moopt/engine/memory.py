"""What a ``rerank_batch`` run allocates, and a refusal before allocating when it cannot fit.

The engine allocates, per user, its population (``P`` lists with their objective values,
hashes, ranks and crowding), its archive of up to ``archive_size`` lists, and the
result's copies; ``memory_estimate`` adds up the bytes of every array at the shapes the
engine gives them (``moopt.engine.rerank.run_engine``), archives counted at their full
capacity. ``check_memory`` compares the total with the memory available (``psutil``,
else ``MemAvailable`` of ``/proc/meminfo``, else ``os.sysconf``; without any of them the
check is skipped, as nothing can be compared) or with a given limit (``memory_limit=`` or
``MOOPT_MEMORY_LIMIT`` in bytes) and raises ``RerankMemoryError`` naming the remedies.
A run over the limit therefore fails before any of its arrays exist, instead of deep
inside numpy or Numba (or swapping).

Print the estimate of a run of a million users at the default settings (K = 10, three
objectives, 100 candidates):

    python -c "from moopt.engine import memory_estimate as m; print(m(10**6, 10, 100, 3))"
"""

from __future__ import annotations

import math
import os

import numba
import numpy as np

ENV_LIMIT = "MOOPT_MEMORY_LIMIT"
BLOCK = 32  # users per block of the batch kernels (``kernels.batch._n_chunks``)


class RerankMemoryError(MemoryError):
    """A run that would need more memory than is available, raised before allocating.

    A ``MemoryError`` subclass, so ``except MemoryError`` catches it too.
    """


def memory_estimate(
    n_users: int,
    k: int,
    n_candidates: int,
    n_obj: int,
    pop_size: int = 50,
    archive_size: int = 256,
    n_gen: int = 10,
    n_seeds: int = 1,
    callback: bool = False,
    n_threads: int | None = None,
) -> dict[str, int]:
    """Bytes a ``rerank_batch`` run allocates, by part.

    Counts the arrays ``run_engine`` makes at their shapes, archives at full capacity
    (a run whose archives stay smaller writes fewer pages of them).

    Parameters
    ----------
    n_users : int
        Users U of the run (of one shard, for a Dask run).
    k : int
        List length K.
    n_candidates : int
        Candidates N per user.
    n_obj : int
        Objectives M.
    pop_size : int, default 50
        Population P.
    archive_size : int, default 256
        Archive capacity A per user (0: no archive).
    n_gen : int, default 10
        Generations; a run without a callback evaluates at most ``pop_size * n_gen`` lists
        per user, which bounds the width of the returned archive.
    n_seeds : int, default 1
        Seed lists per user (1 for the top-K list, plus the columns of ``initial``).
    callback : bool, default False
        Whether the run has a callback (its archive lives in per-user arrays of capacity
        A, returned as views, where a run without one stages the archives by blocks of 32
        users and gathers them into the result).
    n_threads : int, optional
        Threads running blocks at once (default: ``numba.get_num_threads()``); each
        holds one workspace.

    Returns
    -------
    dict of str to int
        ``"populations"`` (populations, seeds and per-user counters), ``"archive"``
        (the archive while the search runs), ``"results"`` (the maximised objective
        values and the gathered archive of the result), ``"workspaces"`` (per-thread
        buffers) and ``"total"``, in bytes.

    Examples
    --------
    >>> from moopt.engine.memory import memory_estimate
    >>> est = memory_estimate(1000, 10, 100, 3, archive_size=0, n_threads=0)
    >>> est["archive"], est["results"]  # no archive: non-finite flags (U, M); F (U, P, M)
    (3000, 1200000)
    """
    u, p, a, m = int(n_users), int(pop_size), int(archive_size), int(n_obj)
    row_x, row_f = 8 * k, 8 * m
    pops = u * p * (row_x + row_f + 3 * 8)  # X, F, hashes, rank, crowding
    pops += u * (n_seeds * row_x + 8)  # seeds and their counts
    if n_seeds:
        pops += u * row_x  # the top-K lists, before they join the seeds
    pops += 3 * 8 * u  # sizes reached, children or random states, evaluations
    results = u * p * row_f  # maximised F
    if callback:
        archive = u * a * (row_x + row_f + 9) + 2 * 8 * u
        results += 2 * 8 * u  # copies of the archive sizes and overflow counts
    else:
        pops += 3 * 8 * u  # first staging row, archive size, overflow count
        archive = _ceil_block(u) * a * (row_x + row_f + 1) + u * m  # staged; non-finite
        width = min(a, p * n_gen)  # the widest archive any user can reach
        results += u * width * (row_x + row_f + 1)
    threads = numba.get_num_threads() if n_threads is None else int(n_threads)
    threads = min(threads, _ceil_block(u) // BLOCK)
    ws = _workspace_bytes(2 * p, p, k, m, n_candidates)
    if not callback:
        ws += a * (row_x + row_f + 9) + 3 * 8  # the block's live archive and state
    parts = {"populations": pops, "archive": archive, "results": results,
             "workspaces": threads * ws}  # fmt: skip
    parts["total"] = sum(parts.values())
    return parts


def _ceil_block(u: int) -> int:
    return (u + BLOCK - 1) // BLOCK * BLOCK


def _workspace_bytes(q: int, p: int, k: int, m: int, n: int) -> int:
    """Bytes of one ``kernels.make_workspace(q, p, k, m, n)``, from the function itself."""
    from .kernels import make_workspace

    return sum(a.nbytes for a in make_workspace(q, p, k, m, n))


def available_memory() -> tuple[int | None, str]:
    """Memory available to a new allocation, and where the figure comes from.

    Returns
    -------
    tuple of (int or None, str)
        Bytes (None where no source answers) and the source: ``"psutil"``,
        ``"/proc/meminfo"``, ``"os.sysconf"`` or why none was found.
    """
    try:
        import psutil

        return int(psutil.virtual_memory().available), "psutil"
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "/proc/meminfo"
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "os.sysconf"
    except (ValueError, OSError, AttributeError):
        return None, "no psutil, /proc/meminfo or os.sysconf on this system"


def memory_limit_of(memory_limit: float | None) -> tuple[float | None, str]:
    """The limit a run is checked against, and where it comes from.

    Parameters
    ----------
    memory_limit : float, optional
        Bytes, positive (``math.inf`` turns the check off). None: ``MOOPT_MEMORY_LIMIT``
        in the environment when set, else the available memory (``available_memory``).

    Returns
    -------
    tuple of (float or None, str)
        The limit in bytes (None: no check possible) and its source.

    Raises
    ------
    ValueError
        For a limit, given or in the environment, that is not a positive number.
    """
    source = "memory_limit="
    if memory_limit is None and os.environ.get(ENV_LIMIT):
        memory_limit, source = os.environ[ENV_LIMIT], ENV_LIMIT
    if memory_limit is None:
        return available_memory()
    try:
        limit = float(memory_limit)
    except (TypeError, ValueError):
        limit = math.nan
    if isinstance(memory_limit, bool) or not limit > 0:
        raise ValueError(
            f"{source} must be a positive number of bytes (inf: no check), got {memory_limit!r}"
        )
    return limit, source


def check_memory(
    estimate: dict[str, int],
    n_users: int,
    archive_size: int,
    memory_limit: float | None = None,
    what: str = "rerank_batch",
) -> None:
    """Raise ``RerankMemoryError`` if ``estimate["total"]`` exceeds the limit.

    Parameters
    ----------
    estimate : dict of str to int
        ``memory_estimate``'s parts.
    n_users : int
        Users the estimate is for (to say how many fit).
    archive_size : int
        The run's archive capacity (to say how much of it a smaller one saves).
    memory_limit : float, optional
        See ``memory_limit_of``.
    what : str, default "rerank_batch"
        What is run, for the message (e.g. one shard of a Dask run).

    Raises
    ------
    RerankMemoryError
        Naming the bytes needed by part, the limit and the three remedies: a smaller
        ``archive_size``, fewer users per call, or ``client=`` for a Dask cluster.
    """
    limit, source = memory_limit_of(memory_limit)
    total = estimate["total"]
    if limit is None or total <= limit:
        return
    per_user = total / max(n_users, 1)
    fit = int(limit // per_user) // BLOCK * BLOCK if per_user else n_users
    parts = ", ".join(f"{name} {_gb(v)}" for name, v in estimate.items() if name != "total")
    raise RerankMemoryError(
        f"{what} of {n_users} users needs {total} bytes ({_gb(total)}: {parts}, archives "
        f"at capacity {archive_size}) but {_gb(limit)} is available ({source}); use a "
        "smaller archive_size= (0 keeps none), fewer users per call (call it on blocks "
        f"of at most {max(fit, 1)} users and concatenate or choose per block), client= "
        "to run the users on a Dask cluster, or stream them: problems.rerank_stream."
        "rerank_stream (moopt stream --candidates DIR --out DIR) re-ranks a memory-mapped "
        "candidates directory in blocks into Parquet partitions, locally or on Dask (the "
        "estimate counts every archive full; memory_limit=math.inf skips the check)"
    )


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.2f} MB"


def check_run(
    n_users: int,
    n_candidates: int,
    n_obj: int,
    cfg,
    initial=None,
    callback: bool = False,
    memory_limit: float | None = None,
    what: str = "rerank_batch",
) -> dict[str, int]:
    """Estimate a run of ``cfg`` and refuse it (``check_memory``) if it cannot fit.

    Parameters
    ----------
    n_users, n_candidates, n_obj : int
        Users, candidates per user and objectives of the run.
    cfg : RerankConfig
        The run's settings.
    initial : array_like, shape (U, m, K), optional
        The run's extra seed lists.
    callback : bool, default False
        Whether the run has a callback.
    memory_limit : float, optional
        See ``memory_limit_of``.
    what : str, default "rerank_batch"
        What is run, for the message.

    Returns
    -------
    dict of str to int
        The estimate (``memory_estimate``).

    Raises
    ------
    RerankMemoryError
        If the estimate exceeds the limit.
    """
    n_init = 0 if initial is None else np.shape(initial)[-2]
    est = memory_estimate(n_users, cfg.k, n_candidates, n_obj, cfg.pop_size, cfg.archive_size,
                          cfg.n_gen, int(cfg.include_topk) + n_init, callback)  # fmt: skip
    check_memory(est, n_users, cfg.archive_size, memory_limit, what)
    return est

"""Running ``rerank_batch`` sharded over a Dask distributed cluster.

Users are independent searches, so the batch splits into shards of users, one task
each. Every user keeps its global index as its random stream id, so the concatenated
shards equal the local run for the same seed, bit for bit, whatever the number of
shards or workers.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ..objectives import RerankInputs, pack_objectives
from .memory import ENV_LIMIT, check_run
from .result import ARCHIVE_FIELDS, RerankResult


def _run_shard(inputs: RerankInputs, objectives, cfg, seed, users, initial) -> RerankResult:
    from .rerank import run_engine  # on the worker

    packed = pack_objectives(objectives, inputs)
    return run_engine(inputs, packed, cfg, seed, users, None, initial)


def run_sharded(
    client: Any,
    inputs: RerankInputs,
    objectives: tuple,
    cfg,
    seed: int,
    callback: Any = None,
    initial: np.ndarray | None = None,
    n_shards: int | None = None,
    memory_limit: float | None = None,
) -> RerankResult:
    """Split the users into shards and run them on a Dask cluster.

    Parameters
    ----------
    client : dask.distributed.Client
        The cluster's client.
    inputs : RerankInputs
        Validated inputs of all users.
    objectives : tuple
        Objective names or ``ListObjective`` instances (prepared on each shard).
    cfg : RerankConfig
        Settings.
    seed : int
        Seed; every user keeps its global row as its stream id, so the result equals the
        local run bit for bit.
    callback : None
        Must be None: a sharded run does not gather the populations after each generation.
    initial : numpy.ndarray, shape (U, m, K), optional
        Extra seed lists of positions, split with the users.
    n_shards : int, optional
        Number of shards, positive (default: twice the workers).
    memory_limit : float, optional
        Bytes one shard may take, checked here against the largest shard before any task
        is submitted; None: ``MOOPT_MEMORY_LIMIT`` when set, else the smallest worker's
        Dask ``memory_limit`` (unchecked where the workers have none). Each worker checks
        its shard against its own available memory again.

    Returns
    -------
    RerankResult
        The shards' results concatenated over users (archives padded to the widest);
        ``seconds`` is the slowest shard's.

    Raises
    ------
    ValueError
        If a callback is given or ``n_shards`` is not a positive integer.
    RerankMemoryError
        If the largest shard's estimate exceeds the limit (raise ``n_shards``).
    """
    if callback is not None:
        raise ValueError(
            "a callback needs every user's population after each generation, which a "
            "sharded run does not gather; run callbacks locally (client=None)"
        )
    if n_shards is None:
        n_workers = len(client.scheduler_info().get("workers", {})) or 1
        n_shards = 2 * n_workers
    if not isinstance(n_shards, (int, np.integer)) or n_shards < 1:
        raise ValueError(f"n_shards must be a positive integer, got {n_shards!r}")
    shards = [s for s in np.array_split(np.arange(inputs.n_users), n_shards) if s.size]
    if memory_limit is None and not os.environ.get(ENV_LIMIT):
        workers = client.scheduler_info().get("workers", {}).values()
        memory_limit = min((w["memory_limit"] for w in workers if w.get("memory_limit")),
                           default=math.inf)  # fmt: skip
    check_run(len(shards[0]), inputs.n_candidates, len(objectives), cfg, initial,
              memory_limit=memory_limit, what="one shard (more shards: n_shards=)")  # fmt: skip
    futures = [
        client.submit(
            _run_shard,
            inputs.select(users),
            objectives,
            cfg,
            seed,
            users,
            None if initial is None else np.asarray(initial)[users],
            pure=False,
        )  # fmt: skip
        for users in shards
    ]
    parts: list[RerankResult] = client.gather(futures)
    return RerankResult(
        positions=np.concatenate([p.positions for p in parts]),
        F=np.concatenate([p.F for p in parts]),
        rank=np.concatenate([p.rank for p in parts]),
        crowding=np.concatenate([p.crowding for p in parts]),
        candidates=inputs.candidates,
        objectives=parts[0].objectives,
        n_evals=np.concatenate([p.n_evals for p in parts]),
        seconds=max(p.seconds for p in parts),
        **{name: _concat_rows([getattr(p, name) for p in parts], name) for name in ARCHIVE_FIELDS},
    )


_FILL = {"archive_positions": -1, "archive_F": np.nan, "archive_seed": False}


def _concat_rows(arrays: list[np.ndarray], name: str) -> np.ndarray:
    """Concatenate the shards' arrays over users; per-user archive arrays are only as
    wide as the largest archive of their shard, so narrower ones are padded with the
    values of unused rows first."""
    if name not in _FILL:
        return np.concatenate(arrays)
    width = max(a.shape[1] for a in arrays)
    padded = []
    for a in arrays:
        pad = [(0, 0)] * a.ndim
        pad[1] = (0, width - a.shape[1])
        padded.append(np.pad(a, pad, constant_values=_FILL[name]))
    return np.concatenate(padded)

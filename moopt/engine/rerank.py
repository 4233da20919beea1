"""``rerank_batch``: an independent NSGA-II per user, all users in one parallel program.

Inputs are validated once here (``moopt.objectives.make_inputs``); the kernels in
``moopt.engine.kernels`` then run on contiguous arrays. Without a callback every
run, from the initial population to the archive's final pass, is a single Numba call
(``kernels.run_batch``); with one, the engine returns to Python after
each generation so the callback can look at every user's population at once (knowledge
transfer trains on all of them) and inject lists.

Encoding: an individual is K distinct candidate *positions* (indices into the user's
row of ``candidates``), in order; results also give the item ids.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

import numba
import numpy as np
from tqdm.auto import tqdm

from .._memory import populated_zeros, sparse_zeros
from .._numba_cache import announce_compile
from .._topk import top_k_rows
from ..objectives import (
    CHECK,
    ListObjective,
    PackedObjectives,
    RerankInputs,
    make_inputs,
    pack_objectives,
)
from ..objectives.check import check_objectives, check_result
from ..operators._kernels import CX_ONE_POINT, CX_SBX, CX_UNIFORM
from . import kernels as K
from .archive import blank_unused
from .memory import check_run
from .result import RerankResult

CROSSOVERS = {"one_point": CX_ONE_POINT, "uniform": CX_UNIFORM, "sbx": CX_SBX}
DEFAULT_OBJECTIVES = ("accuracy", "diversity", "novelty")


@dataclass(frozen=True)
class RerankConfig:
    """Settings of the batched NSGA-II (PreferRec's defaults: pop 50, 10 generations,
    crossover 0.9, mutation 0.2), validated on construction.

    Parameters
    ----------
    k : int, default 10
        List length K (positive).
    pop_size : int, default 50
        Lists per user population, at least 2.
    n_gen : int, default 10
        Generations, counting the initial population as generation 1 (as pymoo does), so a
        run evaluates ``pop_size * n_gen`` lists per user at most; positive.
    p_cx : float, default 0.9
        Crossover probability per mating, in [0, 1].
    p_mut : float, default 0.2
        Mutation probability per offspring, in [0, 1].
    crossover : {"one_point", "uniform", "sbx"}, default "one_point"
        List crossover; ``"sbx"`` is PreferRec's list SBX.
    p_swap : float, default 0.5
        Share of mutations that swap two slots (the rest replace one item by an unused
        candidate), in [0, 1].
    eta : float, default 15.0
        Distribution index of the list SBX (larger: children closer to their parents);
        positive, used by ``crossover="sbx"`` only.
    include_topk : bool, default True
        Seed every initial population with the user's top-K list by score.
    max_tries : int, default 200
        Bound on the matings per generation, as a multiple of ``pop_size``, when children
        keep duplicating existing lists; positive.
    archive_size : int, default 256
        Capacity of each user's archive of non-dominated lists (``moopt.engine.archive``);
        0 turns it off.

    Raises
    ------
    ValueError
        Naming the field, for a value outside the ranges above.
    """

    k: int = 10
    pop_size: int = 50
    n_gen: int = 10
    p_cx: float = 0.9
    p_mut: float = 0.2
    crossover: str = "one_point"
    p_swap: float = 0.5
    eta: float = 15.0
    include_topk: bool = True
    max_tries: int = 200
    archive_size: int = 256

    def __post_init__(self) -> None:
        if (isinstance(self.archive_size, bool)
                or not isinstance(self.archive_size, (int, np.integer)) or self.archive_size < 0):
            raise ValueError(
                f"archive_size must be a non-negative integer, got {self.archive_size!r}"
            )  # fmt: skip
        for name in ("k", "pop_size", "n_gen", "max_tries"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.pop_size < 2:
            raise ValueError(f"pop_size must be at least 2, got {self.pop_size}")
        for name in ("p_cx", "p_mut", "p_swap"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {v}")
        if self.crossover not in CROSSOVERS:
            raise ValueError(
                f"crossover must be one of {sorted(CROSSOVERS)}, got {self.crossover!r}"
            )
        if not self.eta > 0:
            raise ValueError(f"eta must be positive, got {self.eta}")


@dataclass
class BatchState:
    """What a callback sees after each generation (arrays are the live populations).

    Parameters
    ----------
    gen : int
        The generation just completed (1 = initial population).
    n_gen : int
        Generations of the run.
    positions : numpy.ndarray, shape (U, P, K)
        Candidate positions of every list.
    F : numpy.ndarray, shape (U, P, M)
        Maximised objective values.
    rank, crowding : numpy.ndarray, shape (U, P)
        Non-dominated front (0 = first) and crowding distance of every list.
    inputs : RerankInputs
        The validated inputs.
    packed : PackedObjectives
        The objectives and their data.
    config : RerankConfig
        The run's settings.
    """

    gen: int
    n_gen: int
    positions: np.ndarray
    F: np.ndarray
    rank: np.ndarray
    crowding: np.ndarray
    inputs: RerankInputs
    packed: PackedObjectives
    config: RerankConfig

    @property
    def objective_names(self) -> tuple[str, ...]:
        return self.packed.names

    def items(self) -> np.ndarray:
        """Return the item ids of every list.

        Returns
        -------
        numpy.ndarray, shape (U, P, K)
            ``candidates`` gathered at ``positions``.
        """
        return np.take_along_axis(self.inputs.candidates[:, None, :], self.positions, axis=2)

    def evaluate(self, lists: np.ndarray) -> np.ndarray:
        """Evaluate per-user position lists on the run's objectives.

        Parameters
        ----------
        lists : array_like, shape (U, m, K)
            Candidate positions, integers in [0, N), distinct within a list.

        Returns
        -------
        numpy.ndarray, shape (U, m, M)
            Maximised objective values.
        """
        lists = check_lists(lists, self.inputs, "lists")
        return evaluate_lists(lists, self.packed)


@runtime_checkable
class BatchCallback(Protocol):
    """The batch engine's callback protocol.

    Called after every generation with the ``BatchState``; may return per-user position
    lists (U, m, K) to merge into the populations. Optional hooks: ``setup(inputs, packed,
    config, seed, stream_ids)`` before the run, ``initial_lists(inputs)`` returning
    (U, m, K) seeds for the initial populations, ``on_finish(state)`` after the last
    generation, and an ``anchors_`` attribute (U, a, M) that the result keeps for angular
    selection. Implementations define their own constructors.
    """

    def __call__(self, state: BatchState) -> np.ndarray | None: ...


def check_lists(lists, inputs: RerankInputs, name: str) -> np.ndarray:
    """Validate per-user position lists.

    Parameters
    ----------
    lists : array_like, shape (U, m, K)
        Candidate positions (with one user, (m, K) is accepted).
    inputs : RerankInputs
        The inputs the positions index (U, N and K).
    name : str
        The argument's name, for error messages.

    Returns
    -------
    numpy.ndarray, shape (U, m, K)
        Contiguous int64 copy.

    Raises
    ------
    ValueError
        For a wrong shape, positions outside [0, N) or a repeated position in a list.
    TypeError
        For non-integer positions.
    """
    lists = np.asarray(lists)
    u, n, k = inputs.n_users, inputs.n_candidates, inputs.k
    if lists.ndim == 2 and u == 1:
        lists = lists[None]
    if lists.ndim != 3 or lists.shape[0] != u or lists.shape[2] != k:
        raise ValueError(f"{name} must have shape (users={u}, m, k={k}), got {lists.shape}")
    if not np.issubdtype(lists.dtype, np.integer):
        raise TypeError(f"{name} must hold integer candidate positions, got {lists.dtype}")
    if lists.size and (lists.min() < 0 or lists.max() >= n):
        raise ValueError(f"{name} hold positions outside [0, {n}) (positions, not item ids)")
    srt = np.sort(lists, axis=2)
    if np.any(srt[..., 1:] == srt[..., :-1]):
        raise ValueError(f"{name} contain a list with a repeated position")
    return np.ascontiguousarray(lists, dtype=np.int64)


def evaluate_lists(lists: np.ndarray, packed: PackedObjectives) -> np.ndarray:
    """Evaluate validated position lists on packed objectives.

    Parameters
    ----------
    lists : numpy.ndarray, shape (U, m, K)
        Contiguous int64 candidate positions (see ``check_lists``).
    packed : PackedObjectives
        The objectives and their data for the same users.

    Returns
    -------
    numpy.ndarray, shape (U, m, M)
        Maximised objective values.
    """
    u, m, _ = lists.shape
    out = np.empty((u, m, packed.n_obj))
    for row in range(u):
        K.evaluate_into(
            out[row], packed.kernels, packed.codes, lists[row], packed.fdata[row],
            packed.idata[row], packed.consts[row], packed.foff, packed.ioff, packed.coff,
        )  # fmt: skip
    return -out


def topk_positions(scores: np.ndarray, k: int) -> np.ndarray:
    """Each user's K best candidate positions by score, best first (ties: lower position).

    Parameters
    ----------
    scores : array_like, shape (U, N)
        Scores.
    k : int
        List length, at most N.

    Returns
    -------
    numpy.ndarray, shape (U, k)
        Candidate positions.
    """
    return top_k_rows(np.ascontiguousarray(scores, dtype=np.float64), k)


def _n_lists(n: int, k: int) -> float:
    return math.perm(n, k) if n < 200 else math.inf


def run_engine(
    inputs: RerankInputs,
    packed: PackedObjectives,
    cfg: RerankConfig,
    seed: int,
    stream_ids: np.ndarray,
    callback: Any = None,
    initial: np.ndarray | None = None,
    verbose: bool = False,
    memory_limit: float | None = None,
) -> RerankResult:
    """Run the engine on validated inputs (``rerank_batch`` and the Dask shards call this).

    Parameters
    ----------
    inputs : RerankInputs
        Validated inputs (``make_inputs``).
    packed : PackedObjectives
        The objectives prepared for ``inputs``.
    cfg : RerankConfig
        Settings.
    seed : int
        Seed of the random streams.
    stream_ids : numpy.ndarray, shape (U,)
        Random stream of each user row (its row in the full input, so shards reproduce the
        local run).
    callback : BatchCallback, optional
        Called after every generation (see ``BatchCallback``).
    initial : numpy.ndarray, shape (U, m, K), optional
        Extra seed lists of positions.
    verbose : bool, default False
        Show a progress bar over generations (with a callback only).
    memory_limit : float, optional
        Bytes the run may take (``moopt.engine.memory.check_memory``).

    Returns
    -------
    RerankResult
        Final populations and archives.

    Raises
    ------
    RerankMemoryError
        Before allocating, if the run's arrays would exceed ``memory_limit``.
    ValueError
        If ``pop_size`` exceeds the distinct lists, ``archive_size`` is smaller than the
        seeds per user, seeds are invalid, or an objective returns a non-finite value.
    """
    u, n, k, p = inputs.n_users, inputs.n_candidates, inputs.k, cfg.pop_size
    if p > _n_lists(n, k):
        raise ValueError(
            f"pop_size={p} exceeds the {math.perm(n, k)} distinct lists of {k} out of {n} "
            "candidates; lower pop_size"
        )
    check_run(u, n, packed.n_obj, cfg, initial, callback is not None, memory_limit)
    announce_compile(K.run_batch if callback is None else K.init_batch)
    start = time.perf_counter()
    seed_parts = []
    if cfg.include_topk:
        seed_parts.append(topk_positions(inputs.scores, k)[:, None, :])
    if initial is not None:
        seed_parts.append(check_lists(initial, inputs, "initial"))
    setup = getattr(callback, "setup", None)
    if callable(setup):
        setup(inputs, packed, cfg, seed, stream_ids)
    guided = getattr(callback, "initial_lists", None)
    if callable(guided):
        g = guided(inputs)
        if g is not None:
            seed_parts.append(check_lists(g, inputs, "callback.initial_lists"))
    if seed_parts:
        seeds = np.ascontiguousarray(np.concatenate(seed_parts, axis=1))
    else:
        seeds = np.zeros((u, 0, k), dtype=np.int64)
    n_seeds = np.full(u, seeds.shape[1], dtype=np.int64)
    a = cfg.archive_size
    if 0 < a < seeds.shape[1]:
        raise ValueError(
            f"archive_size={a} is smaller than the {seeds.shape[1]} seed lists per user; "
            "raise archive_size so that no seed can be pruned"
        )

    m = packed.n_obj
    X = populated_zeros((u, p, k), np.int64)
    F = populated_zeros((u, p, m), np.float64)
    rank = populated_zeros((u, p), np.int64)
    crowd = populated_zeros((u, p), np.float64)
    H = populated_zeros((u, p), np.uint64)  # row hashes of the populations
    args = (packed.kernels, packed.codes, packed.fdata, packed.idata, packed.consts,
            packed.foff, packed.ioff, packed.coff)  # fmt: skip
    evo = (cfg.p_cx, cfg.p_mut, CROSSOVERS[cfg.crossover], cfg.p_swap, cfg.eta,
           cfg.max_tries * p)  # fmt: skip
    if callback is None:
        return _run_whole(inputs, packed, cfg, seed, stream_ids, seeds, n_seeds, start,
                          (X, F, H, rank, crowd), args, evo)  # fmt: skip
    states = np.zeros(u, dtype=np.uint64)
    arc = (sparse_zeros((u, a, k), np.int64), sparse_zeros((u, a, m), np.float64),
           sparse_zeros((u, a), np.uint64), sparse_zeros((u, a), np.uint8),
           np.zeros((u, 2), dtype=np.int64))  # fmt: skip
    with numba.parallel_chunksize(1):  # blocks of users handed out as threads free up
        sizes = K.init_batch(
            X, F, H, rank, crowd, states, seeds, n_seeds, np.uint64(seed),
            np.ascontiguousarray(stream_ids, dtype=np.int64), n, *args, cfg.max_tries, *arc,
        )  # fmt: skip
    _check_sizes(sizes, p)
    n_evals = np.full(u, p, dtype=np.int64)
    state = BatchState(1, cfg.n_gen, X, None, rank, crowd, inputs, packed, cfg)

    def notify(gen: int) -> None:
        state.gen, state.F = gen, -F
        lists = callback(state)
        if lists is not None:
            lists = check_lists(lists, inputs, "the callback's lists")
            n_evals[:] += lists.shape[1]
            K.inject_batch(X, F, H, rank, crowd, states, lists, *args, *arc)

    notify(1)
    for gen in tqdm(range(2, cfg.n_gen + 1), desc="rerank", disable=not verbose,
                    leave=False):  # fmt: skip
        with numba.parallel_chunksize(1):
            n_evals += K.evolve_batch(X, F, H, rank, crowd, states, 1, n, *args, *arc,
                                      *evo)  # fmt: skip
        notify(gen)
    finish = getattr(callback, "on_finish", None)
    if callable(finish):
        state.F = -F
        finish(state)
    extra = getattr(callback, "extra_evals_", None)
    if extra is not None:  # guided initialisation, anchors: evaluations too
        n_evals += np.asarray(extra, dtype=np.int64)
    AX, AF, AH, AP, ameta = arc
    # The archive's final pass below only adds rows of F, so checking now covers it.
    _check_finite(F, AF, ameta[:, 0], packed.names)
    if a > 0:
        K.archive_population_batch(X, F, H, rank, AX, AF, AH, AP, ameta)
        # Return views of only the rows some archive reached: the capacity was allocated
        # by sparse_zeros, so its untouched rest is never paged in, and no copy is made
        # (fresh memory costs page faults). Rows past each user's size are blanked
        # (never uninitialised memory); values are negated in place (results maximise).
        used = max(int(ameta[:, 0].max()), 1)
        AX, AF, AP = AX[:, :used], AF[:, :used], AP[:, :used]
        blank_unused(AX, AF, AP, ameta)
        np.negative(AF, out=AF)
    else:
        AF = -AF
    return RerankResult(
        positions=X, F=-F, rank=rank, crowding=crowd, candidates=inputs.candidates,
        objectives=packed.names, n_evals=n_evals, seconds=time.perf_counter() - start,
        anchors=getattr(callback, "anchors_", None), archive_positions=AX, archive_F=AF,
        archive_size=ameta[:, 0].copy(), archive_overflow=ameta[:, 1].copy(),
        archive_seed=AP.view(np.bool_),
    )  # fmt: skip


def _run_whole(inputs, packed, cfg, seed, stream_ids, seeds, n_seeds, start, pop, args, evo):
    """A run without a callback: one Numba call (``kernels.run_batch``) runs every
    user from its initial population to its archive's final pass; the archives are
    then gathered into the results. Identical to the generation-by-generation path."""
    X, F, H, rank, crowd = pop
    u, p, k, m, a = inputs.n_users, cfg.pop_size, inputs.k, packed.n_obj, cfg.archive_size
    rows = (u + 31) // 32 * 32 * a  # 32 users per block at most (kernels.batch._n_chunks)
    staged = (sparse_zeros((rows, k), np.int64), sparse_zeros((rows, m), np.float64),
              sparse_zeros((rows,), np.uint8))  # fmt: skip
    first, size, overflow = (np.zeros(u, dtype=np.int64) for _ in range(3))
    bad = np.zeros((u, m), dtype=np.bool_)
    with numba.parallel_chunksize(1):  # blocks of users handed out as threads free up
        sizes, made = K.run_batch(
            X, F, H, rank, crowd, seeds, n_seeds, np.uint64(seed),
            np.ascontiguousarray(stream_ids, dtype=np.int64), cfg.n_gen - 1,
            inputs.n_candidates, *args, cfg.max_tries, *staged, first, size, overflow, bad,
            *evo,
        )  # fmt: skip
    _check_sizes(sizes, p)
    _raise_non_finite(~K.finite_columns(F, np.empty((u, 0, m)), size) | bad.any(axis=0),
                      packed.names)  # fmt: skip
    used = max(int(size.max()), 1) if a > 0 else 0
    AX = populated_zeros((u, used, k), np.int64)
    AF = populated_zeros((u, used, m), np.float64)
    AP = populated_zeros((u, used), np.uint8)
    K.gather_archives(*staged, first, size, AX, AF, AP)
    return RerankResult(
        positions=X, F=-F, rank=rank, crowding=crowd, candidates=inputs.candidates,
        objectives=packed.names, n_evals=p + made, seconds=time.perf_counter() - start,
        anchors=None, archive_positions=AX, archive_F=AF, archive_size=size,
        archive_overflow=overflow, archive_seed=AP.view(np.bool_),
    )  # fmt: skip


def _check_sizes(sizes: np.ndarray, p: int) -> None:
    if np.any(sizes < p):
        raise RuntimeError(
            f"could not find {p} distinct initial lists for some users; lower pop_size"
        )


def _check_finite(F: np.ndarray, AF: np.ndarray, sizes: np.ndarray, names) -> None:
    """A ``ValueError`` naming the objectives whose kernels returned NaN or infinite
    values for lists in the final populations ``F`` or the archives (``AF``, the first
    ``sizes[u]`` rows of user ``u``); nothing is returned with them."""
    _raise_non_finite(~K.finite_columns(F, AF, np.ascontiguousarray(sizes, dtype=np.int64)),
                      names)  # fmt: skip


def _raise_non_finite(bad: np.ndarray, names) -> None:
    """The ``ValueError`` of ``_check_finite`` for a (M,) mask of bad objectives."""
    if bad.any():
        which = ", ".join(repr(names[j]) for j in np.flatnonzero(bad))
        raise ValueError(
            f"objective {which} returned NaN or infinite values; its kernel must return a "
            "finite number for every list of K distinct candidates"
        )


def rerank_batch(
    scores,
    candidates,
    item_genres=None,
    item_popularity=None,
    k: int = 10,
    pop_size: int = 50,
    n_gen: int = 10,
    p_cx: float = 0.9,
    p_mut: float = 0.2,
    objectives: Sequence[str | ListObjective] = DEFAULT_OBJECTIVES,
    seed: int = 0,
    callback: Any = None,
    *,
    crossover: str = "one_point",
    p_swap: float = 0.5,
    eta: float = 15.0,
    include_topk: bool = True,
    initial: np.ndarray | None = None,
    archive_size: int = 256,
    extras: dict[str, np.ndarray] | None = None,
    client: Any = None,
    n_shards: int | None = None,
    verbose: bool = False,
    check: bool | None = None,
    memory_limit: float | None = None,
) -> RerankResult:
    """Re-rank every user's candidates into a Pareto front of K-item lists.

    Runs an independent NSGA-II (binary tournament on rank and crowding, rank-and-crowding
    survival, duplicate elimination; see ``moopt.engine.kernels``) for each user, all
    users in one parallel Numba program.

    Parameters
    ----------
    scores, candidates : array_like, shape (U, N)
        Base-ranker scores (finite) and item ids (distinct per row) of each user's
        candidates; a single user's (N,) arrays are accepted.
    item_genres : array_like, shape (I, G), optional
        Bool categories of the catalogue the ids index; needed by ``diversity`` and
        ``ild``. None: no categories.
    item_popularity : array_like, shape (I,), optional
        Non-negative popularity of the catalogue items (``novelty``). None: all zero.
    k : int, default 10
        List length K, at most N.
    pop_size : int, default 50
        Lists per user population, at least 2 and at most the number of distinct lists.
    n_gen : int, default 10
        Generations, the initial one included.
    p_cx : float, default 0.9
        Crossover probability per mating, in [0, 1].
    p_mut : float, default 0.2
        Mutation probability per offspring, in [0, 1].
    objectives : sequence of str or ListObjective, default ("accuracy", "diversity", "novelty")
        Names of registered objectives or ``ListObjective`` instances (1 to 8, distinct);
        all maximised. A single name or objective is accepted.
    seed : int, default 0
        Same seed, same result, whatever the number of threads or shards.
    callback : BatchCallback, optional
        Called after every generation (e.g. knowledge transfer); see ``BatchCallback``.
    crossover : {"one_point", "uniform", "sbx"}, default "one_point"
        List crossover; ``"sbx"`` is PreferRec's list SBX.
    p_swap : float, default 0.5
        Share of mutations that swap two slots of the list (the rest replace one item by
        an unused candidate), in [0, 1].
    eta : float, default 15.0
        Distribution index of the list SBX (larger: children closer to their parents);
        positive; used by ``crossover="sbx"`` only.
    include_topk : bool, default True
        Seed every initial population with the user's top-K list by score.
    initial : array_like, shape (U, m, K), optional
        Extra seed lists of positions for the initial populations (validated: integer
        positions in [0, N), distinct within a list). Seeds that are non-dominated when
        evaluated stay in the archive (protected from overflow pruning).
    archive_size : int, default 256
        Capacity A of each user's archive of non-dominated lists (``res.archive_*``;
        ``res.choose`` picks from it), at least the seed lists per user; address space
        about U * A * (8 K + 8 M + 9) bytes (users rounded up to a multiple of 32), of
        which only the rows used are written, plus the results, U * A' * (8 K + 8 M + 1)
        bytes for the largest archive A'. 0: no archive.
    extras : dict of str to numpy.ndarray, optional
        Further arrays that objectives' ``prepare`` reads from ``inputs.extras`` (e.g.
        item embeddings for a user-defined objective); an objective reading a key not
        given is a ``ValueError`` naming the key.
    client : dask.distributed.Client, optional
        Run on a Dask cluster: users are split into shards, one task each; results equal
        the local run for the same seed. Not with a ``callback``.
    n_shards : int, optional
        Shards with a ``client``, positive (default: twice the cluster's workers).
    verbose : bool, default False
        Show a progress bar over generations (runs with a callback; a run without one is
        a single Numba call).
    check : bool, optional
        Check the objectives (``moopt.objectives.check``): every user's top-K list
        before the search and every returned list after it are scored by bounds-checked
        builds of the user-defined kernels, and an index out of range or a value outside
        an objective's declared ``bounds`` is a ``ValueError`` naming the objective. Slow
        (a Python call per list); None: ``MOOPT_CHECK`` in the environment at import.
    memory_limit : float, optional
        Bytes the run may allocate (per shard with a ``client``); None:
        ``MOOPT_MEMORY_LIMIT`` when set, else the memory available. The estimate is
        ``moopt.engine.memory.memory_estimate``; ``math.inf`` skips the check.

    Returns
    -------
    RerankResult
        ``.X`` (U, P, K) item ids, ``.F`` (U, P, M) maximised objectives, ``.rank``
        (U, P), ``.positions``, the archive, ``.choose()`` and ``.to_frame()``.

    Raises
    ------
    ValueError or TypeError
        Naming the argument, for invalid inputs or settings (see ``make_inputs`` and
        ``RerankConfig``).
    RerankMemoryError
        A ``MemoryError``, before any array of the run is allocated, when its estimate
        exceeds ``memory_limit``; it names a smaller ``archive_size``, blocks of fewer
        users and ``client=``.
    """
    inputs = make_inputs(scores, candidates, item_genres, item_popularity, k, extras)
    cfg = RerankConfig(
        k=k, pop_size=pop_size, n_gen=n_gen, p_cx=p_cx, p_mut=p_mut, crossover=crossover,
        p_swap=p_swap, eta=eta, include_topk=include_topk, archive_size=archive_size,
    )  # fmt: skip
    if isinstance(objectives, (str, ListObjective)):
        objectives = (objectives,)
    packed = pack_objectives(objectives, inputs)
    check = CHECK if check is None else bool(check)
    if check:
        check_objectives(packed, topk_positions(inputs.scores, inputs.k)[:, None, :])
    stream_ids = np.arange(inputs.n_users, dtype=np.int64)
    if client is not None:
        from .distributed import run_sharded

        res = run_sharded(
            client, inputs, tuple(objectives), cfg, seed, callback, initial, n_shards,
            memory_limit,
        )  # fmt: skip
    else:
        res = run_engine(inputs, packed, cfg, seed, stream_ids, callback, initial, verbose,
                         memory_limit)  # fmt: skip
    if check:
        check_result(packed, res)
    return res


def with_config(cfg: RerankConfig, **changes) -> RerankConfig:
    """Return a copy of ``cfg`` with fields changed (validated).

    Parameters
    ----------
    cfg : RerankConfig
        The settings to copy.
    **changes
        Field names and their new values.

    Returns
    -------
    RerankConfig
        The new settings.

    Examples
    --------
    >>> from moopt.engine.rerank import RerankConfig, with_config
    >>> with_config(RerankConfig(), n_gen=20).n_gen
    20
    """
    return replace(cfg, **changes)

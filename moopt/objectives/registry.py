"""List objectives: Numba kernels scoring a K-of-N list, and the registry that names them.

An objective has two parts:

* ``prepare(inputs) -> ObjectiveData``: numpy, vectorised over users; turns the raw
  re-ranking inputs into per-candidate arrays once, before the search;
* ``kernel(positions, fdata, idata, consts) -> float``: a Numba function with the fixed
  signature :data:`OBJECTIVE_SIGNATURE`, scoring one list (``positions``: the K chosen
  candidate positions, in order) from one user's slice of the prepared data. Larger is
  better; the engine minimises the negation.

Because every kernel shares one signature, the engine receives them as first-class
function pointers: the cached engine runs any registered objective, including one
defined in a notebook, without recompiling. Objectives can be registered by name
(:func:`register_objective`, the ``@objective`` decorator) or passed as
:class:`ListObjective` objects directly, so nothing requires global state.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numba import njit, types
from numba.core.errors import NumbaExperimentalFeatureWarning
from numba.core.registry import CPUDispatcher
from numba.typed import List

# Numba flags first-class function types as experimental; they are what lets a cached
# engine call kernels it has never seen, so the warning is expected here.
warnings.filterwarnings("ignore", category=NumbaExperimentalFeatureWarning)

OBJECTIVE_SIGNATURE = types.float64(
    types.int64[::1],  # positions of the list, (K,)
    types.float64[:, :],  # per-candidate float data, (N, D)
    types.int64[:, :],  # per-candidate integer data, (N, E)
    types.float64[::1],  # per-user constants, (C,)
)


@dataclass(frozen=True, eq=False)
class RerankInputs:
    """Validated re-ranking inputs for U users with N candidates each.

    ``scores`` (U, N) float64, ``candidates`` (U, N) int64 item ids, ``item_genres``
    (I, G) bool, ``item_popularity`` (I,) float64, ``k`` the list length, and ``extras``:
    any further arrays an objective's ``prepare`` needs (e.g. item embeddings).
    """

    scores: np.ndarray
    candidates: np.ndarray
    item_genres: np.ndarray
    item_popularity: np.ndarray
    k: int
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return self.scores.shape[0]

    @property
    def n_candidates(self) -> int:
        return self.scores.shape[1]

    def select(self, users: np.ndarray) -> RerankInputs:
        """The inputs of a subset of users (catalogue arrays shared)."""
        return RerankInputs(
            self.scores[users], self.candidates[users], self.item_genres,
            self.item_popularity, self.k, self.extras,
        )  # fmt: skip


def make_inputs(
    scores,
    candidates,
    item_genres=None,
    item_popularity=None,
    k: int = 10,
    extras: Mapping[str, np.ndarray] | None = None,
) -> RerankInputs:
    """Validate re-ranking inputs once, at the boundary, and return contiguous arrays.

    ``scores`` and ``candidates`` are (U, N) (a single user's (N,) arrays are promoted);
    ``item_genres`` (I, G) bool over the item ids in ``candidates`` (``None``: no
    categories); ``item_popularity`` (I,) non-negative (``None``: all zero). Raises
    ``ValueError``/``TypeError`` naming the argument for NaN or infinite scores, K larger
    than the candidate set, repeated candidates, ids outside the catalogue arrays,
    negative popularity, mismatched shapes and empty inputs.
    """
    scores = np.asarray(scores)
    candidates = np.asarray(candidates)
    if scores.ndim == 1 and candidates.ndim == 1:
        scores, candidates = scores[None], candidates[None]
    if scores.ndim != 2:
        raise ValueError(f"scores must be (users, candidates), got shape {scores.shape}")
    if candidates.shape != scores.shape:
        raise ValueError(
            f"candidates has shape {candidates.shape} but scores has {scores.shape}; "
            "they must match (one score per candidate)"
        )
    u, n = scores.shape
    if u == 0 or n == 0:
        raise ValueError(f"empty input: {u} users with {n} candidates; pass at least one of each")
    if not np.issubdtype(scores.dtype, np.number) or np.issubdtype(
        scores.dtype, np.complexfloating
    ):
        raise TypeError(f"scores must be real numbers, got dtype {scores.dtype}")
    scores = scores.astype(np.float64)
    bad = ~np.isfinite(scores)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(
            f"scores contain NaN or infinite values (first in user row {row}); "
            "fix or drop those candidates before re-ranking"
        )
    if not np.issubdtype(candidates.dtype, np.integer):
        raise TypeError(f"candidates must hold integer item ids, got dtype {candidates.dtype}")
    candidates = candidates.astype(np.int64)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k > n:
        raise ValueError(f"k={k} is larger than the candidate set (N={n}); lower k")
    srt = np.sort(candidates, axis=1)
    dup = srt[:, 1:] == srt[:, :-1]
    if dup.any():
        row, col = (int(v) for v in np.argwhere(dup)[0])
        raise ValueError(
            f"candidates row {row} repeats item {srt[row, col]}; each user's candidates must "
            "be distinct"
        )
    n_items = None
    if item_genres is not None:
        item_genres = np.asarray(item_genres)
        if item_genres.ndim != 2:
            raise ValueError(f"item_genres must be (items, genres), got shape {item_genres.shape}")
        if item_genres.dtype != bool:
            if not np.all((item_genres == 0) | (item_genres == 1)):
                raise ValueError("item_genres must be a 0/1 or bool multi-hot matrix")
            item_genres = item_genres.astype(bool)
        n_items = item_genres.shape[0]
    if item_popularity is not None:
        item_popularity = np.asarray(item_popularity, dtype=np.float64)
        if item_popularity.ndim != 1:
            raise ValueError(f"item_popularity must be (items,), got shape {item_popularity.shape}")
        if n_items is not None and item_popularity.shape[0] != n_items:
            raise ValueError(
                f"item_popularity has {item_popularity.shape[0]} items but item_genres has "
                f"{n_items}; both must cover the same catalogue"
            )
        if not np.all(np.isfinite(item_popularity)):
            raise ValueError("item_popularity contains NaN or infinite values")
        if np.any(item_popularity < 0):
            raise ValueError("item_popularity must be non-negative (counts or frequencies)")
        n_items = item_popularity.shape[0]
    if n_items is None:
        n_items = int(candidates.max()) + 1
    if candidates.min() < 0 or candidates.max() >= n_items:
        raise ValueError(
            f"candidates hold item ids outside [0, {n_items}); item_genres and "
            "item_popularity must cover every candidate id"
        )
    if item_genres is None:
        item_genres = np.zeros((n_items, 0), dtype=bool)
    if item_popularity is None:
        item_popularity = np.zeros(n_items)
    return RerankInputs(
        np.ascontiguousarray(scores), np.ascontiguousarray(candidates),
        np.ascontiguousarray(item_genres), np.ascontiguousarray(item_popularity), int(k),
        dict(extras or {}),
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class ObjectiveData:
    """Prepared arrays of all users: fdata (U, N, D), idata (U, N, E), consts (U, C)."""

    fdata: np.ndarray
    idata: np.ndarray
    consts: np.ndarray

    def __post_init__(self) -> None:
        f = np.ascontiguousarray(self.fdata, dtype=np.float64)
        i = np.ascontiguousarray(self.idata, dtype=np.int64)
        c = np.ascontiguousarray(self.consts, dtype=np.float64)
        if f.ndim != 3 or i.ndim != 3 or c.ndim != 2:
            raise ValueError(
                "ObjectiveData needs fdata (U, N, D), idata (U, N, E) and consts (U, C); got "
                f"{f.shape}, {i.shape}, {c.shape}"
            )
        if not (f.shape[:2] == i.shape[:2] and f.shape[0] == c.shape[0]):
            raise ValueError("ObjectiveData arrays disagree on the number of users/candidates")
        if not (np.all(np.isfinite(f)) and np.all(np.isfinite(c))):
            raise ValueError("ObjectiveData holds NaN or infinite values")
        object.__setattr__(self, "fdata", f)
        object.__setattr__(self, "idata", i)
        object.__setattr__(self, "consts", c)

    @classmethod
    def empty(cls, n_users: int, n_candidates: int) -> ObjectiveData:
        return cls(
            np.zeros((n_users, n_candidates, 0)),
            np.zeros((n_users, n_candidates, 0), dtype=np.int64),
            np.zeros((n_users, 0)),
        )


def _compile(kernel: Callable) -> CPUDispatcher:
    """A dispatcher compiled for exactly :data:`OBJECTIVE_SIGNATURE`.

    First-class function tuples need single-signature dispatchers, so an ``@njit`` function
    compiled lazily (or for other types) is re-jitted from its Python source.
    """
    if isinstance(kernel, CPUDispatcher):
        if list(kernel.nopython_signatures) == [OBJECTIVE_SIGNATURE]:
            return kernel
        kernel = kernel.py_func
    if not callable(kernel):
        raise TypeError(f"kernel must be a function or a numba-jitted function, got {kernel!r}")
    return njit(OBJECTIVE_SIGNATURE)(kernel)


@dataclass(frozen=True, eq=False)
class ListObjective:
    """A named list objective (see the module docstring). Larger values are better."""

    name: str
    kernel: CPUDispatcher
    prepare: Callable[[RerankInputs], ObjectiveData]
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("an objective needs a non-empty name")
        if not callable(self.prepare):
            raise TypeError(f"prepare of objective {self.name!r} must be callable")
        object.__setattr__(self, "kernel", _compile(self.kernel))

    def __repr__(self) -> str:
        return f"ListObjective({self.name!r})"


_REGISTRY: dict[str, ListObjective] = {}

MAX_OBJECTIVES = 8

# Codes of the built-in objectives: the engine evaluates these inline (same arithmetic as
# their kernels) instead of calling through a function pointer; -1 = call the kernel.
OBJ_GENERIC = -1
OBJ_ACCURACY = 0
OBJ_EXPECTED_HITS = 1
OBJ_DIVERSITY = 2
OBJ_NOVELTY = 3
OBJ_ILD = 4
_INLINE_CODES: dict[CPUDispatcher, int] = {}


def set_inline_code(kernel: CPUDispatcher, code: int) -> None:
    """Declare that the engine computes ``kernel`` inline under ``code`` (built-ins only:
    the engine's :func:`~moopt.engine.kernels.evaluate_into` must implement the code)."""
    _INLINE_CODES[kernel] = code


def objective_code(obj: ListObjective) -> int:
    """The engine's inline code of an objective's kernel, or :data:`OBJ_GENERIC`. Keyed by
    the kernel itself, so a user objective that reuses a built-in name is never inlined."""
    return _INLINE_CODES.get(obj.kernel, OBJ_GENERIC)

# Kernels reach the engine as a numba typed List of function pointers: it crosses the
# Python/Numba boundary as one pointer (~3 us a call), where a tuple of dispatchers is
# converted kernel by kernel (~90 us each), and its length is not part of the compiled
# type, so one cached engine serves any number of objectives.
_KERNEL_TYPE = types.FunctionType(OBJECTIVE_SIGNATURE)


def kernel_list(kernels) -> List:
    """A typed List of objective kernels, as the engine's kernels take them."""
    out = List.empty_list(_KERNEL_TYPE)
    for k in kernels:
        out.append(k)
    return out


def register_objective(
    name: str,
    kernel: Callable,
    prepare: Callable[[RerankInputs], ObjectiveData],
    *,
    description: str = "",
    overwrite: bool = False,
) -> ListObjective:
    """Register a list objective under ``name`` so it can be asked for by name.

    ``kernel`` may be a plain Python function (it is compiled with
    :data:`OBJECTIVE_SIGNATURE`) or an ``@njit`` function.
    """
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"an objective named {name!r} exists; pass overwrite=True to replace it")
    obj = ListObjective(name, kernel, prepare, description)
    _REGISTRY[name] = obj
    return obj


def objective(name: str, prepare: Callable, *, description: str = "", overwrite: bool = False):
    """Decorator form of :func:`register_objective`; returns the :class:`ListObjective`."""

    def wrap(kernel: Callable) -> ListObjective:
        return register_objective(
            name, kernel, prepare, description=description or (kernel.__doc__ or "").strip(),
            overwrite=overwrite,
        )  # fmt: skip

    return wrap


def get_objective(spec: str | ListObjective) -> ListObjective:
    """Resolve a name (or pass through a :class:`ListObjective`)."""
    if isinstance(spec, ListObjective):
        return spec
    if isinstance(spec, str):
        if spec not in _REGISTRY:
            raise ValueError(
                f"unknown objective {spec!r}; registered: {', '.join(sorted(_REGISTRY))}. "
                "Register one with moopt.objectives.register_objective"
            )
        return _REGISTRY[spec]
    raise TypeError(f"objectives must be names or ListObjective instances, got {spec!r}")


def list_objectives() -> dict[str, str]:
    """Registered objective names and their descriptions."""
    return {name: obj.description for name, obj in sorted(_REGISTRY.items())}


@dataclass(frozen=True, eq=False)
class PackedObjectives:
    """Several objectives' data concatenated for the kernels, with column offsets;
    ``kernels`` is a typed List (see :func:`kernel_list`); ``codes`` (M,) the engine's
    inline code of each objective (:func:`objective_code`)."""

    objectives: tuple[ListObjective, ...]
    kernels: List
    codes: np.ndarray
    fdata: np.ndarray
    idata: np.ndarray
    consts: np.ndarray
    foff: np.ndarray
    ioff: np.ndarray
    coff: np.ndarray

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.objectives)

    @property
    def n_obj(self) -> int:
        return len(self.objectives)

    def select(self, users: np.ndarray) -> PackedObjectives:
        return PackedObjectives(
            self.objectives, self.kernels, self.codes, np.ascontiguousarray(self.fdata[users]),
            np.ascontiguousarray(self.idata[users]), np.ascontiguousarray(self.consts[users]),
            self.foff, self.ioff, self.coff,
        )  # fmt: skip


def pack_objectives(specs: Sequence[str | ListObjective], inputs: RerankInputs) -> PackedObjectives:
    """Prepare every objective for ``inputs`` and concatenate their data."""
    if isinstance(specs, (str, ListObjective)):
        specs = (specs,)
    objs = tuple(get_objective(s) for s in specs)
    if not objs:
        raise ValueError("objectives is empty; give at least one objective")
    if len(objs) > MAX_OBJECTIVES:
        raise ValueError(f"at most {MAX_OBJECTIVES} objectives are supported, got {len(objs)}")
    names = [o.name for o in objs]
    if len(set(names)) != len(names):
        raise ValueError(f"objectives must be distinct, got {names}")
    datas = []
    for o in objs:
        d = o.prepare(inputs)
        if not isinstance(d, ObjectiveData):
            raise TypeError(f"prepare of objective {o.name!r} must return ObjectiveData")
        u, n = inputs.n_users, inputs.n_candidates
        if d.fdata.shape[:2] != (u, n) or d.consts.shape[0] != u:
            raise ValueError(
                f"prepare of objective {o.name!r} returned data for {d.fdata.shape[:2]} "
                f"(users, candidates); expected {(u, n)}"
            )
        datas.append(d)

    def offsets(widths):
        return np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)

    return PackedObjectives(
        objectives=objs,
        kernels=kernel_list(o.kernel for o in objs),
        codes=np.array([objective_code(o) for o in objs], dtype=np.int64),
        fdata=np.ascontiguousarray(np.concatenate([d.fdata for d in datas], axis=2)),
        idata=np.ascontiguousarray(np.concatenate([d.idata for d in datas], axis=2)),
        consts=np.ascontiguousarray(np.concatenate([d.consts for d in datas], axis=1)),
        foff=offsets([d.fdata.shape[2] for d in datas]),
        ioff=offsets([d.idata.shape[2] for d in datas]),
        coff=offsets([d.consts.shape[1] for d in datas]),
    )

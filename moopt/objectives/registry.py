"""List objectives: Numba kernels scoring a K-of-N list, and the registry that names them.

An objective has two parts:

* ``prepare(inputs) -> ObjectiveData``: numpy, vectorised over users; turns the raw
  re-ranking inputs into per-candidate arrays once, before the search;
* ``kernel(positions, fdata, idata, consts) -> float``: a Numba function with the fixed
  signature ``OBJECTIVE_SIGNATURE``, scoring one list (``positions``: the K chosen
  candidate positions, in order) from one user's slice of the prepared data. Larger is
  better; the engine minimises the negation.

An objective may declare the ``bounds`` its values lie in (the built-ins: [0, 1]). A
kernel is compiled without bounds checking, so a wrong index reads neighbouring memory
and returns a plausible number; ``rerank_batch(..., check=True)``, or ``MOOPT_CHECK=1``
in the environment (read once, at import: ``CHECK``), re-evaluates every returned
list with a bounds-checked build of each user-defined kernel and refuses an index out of
range or a value outside the declared bounds (``moopt.objectives.check``).

Because every kernel shares one signature, the engine receives them as first-class
function pointers: the cached engine runs any registered objective, including one
defined in a notebook, without recompiling. Objectives can be registered by name
(``register_objective``, the ``@objective`` decorator) or passed as
``ListObjective`` objects directly, so nothing requires global state.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numba import njit, types
from numba.core.errors import NumbaError, NumbaExperimentalFeatureWarning
from numba.core.registry import CPUDispatcher
from numba.typed import List

from .inputs import (  # noqa: F401 - Extras and make_inputs re-exported, as before
    Extras,
    MissingExtraError,
    RerankInputs,
    make_inputs,
)

# Numba flags first-class function types as experimental; they are what lets a cached
# engine call kernels it has never seen, so the warning is expected here.
warnings.filterwarnings("ignore", category=NumbaExperimentalFeatureWarning)

OBJECTIVE_SIGNATURE = types.float64(
    types.int64[::1],  # positions of the list, (K,)
    types.float64[:, :],  # per-candidate float data, (N, D)
    types.int64[:, :],  # per-candidate integer data, (N, E)
    types.float64[::1],  # per-user constants, (C,)
)
KERNEL_FORM = (
    "kernel(positions, fdata, idata, consts) -> float: positions (K,) int64 candidate "
    "positions of the list, fdata (N, D) float64, idata (N, E) int64, consts (C,) float64"
)
"""How an objective kernel is called, for error messages."""


def _read_check(value: str | None) -> bool:
    """``MOOPT_CHECK``: unset, ``0``, ``false``, ``no`` or ``off`` for unchecked runs;
    ``1``, ``true``, ``yes`` or ``on`` to check every run (see the module docstring)."""
    if value is None or value.strip().lower() in ("", "0", "false", "no", "off"):
        return False
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"MOOPT_CHECK must be 0 or 1, got {value!r}; set it to 0 or 1, or unset it")


CHECK: bool = _read_check(os.environ.get("MOOPT_CHECK"))
"""Whether ``rerank_batch`` checks objectives when its ``check`` is left ``None``
(``MOOPT_CHECK`` in the environment at import)."""


@dataclass(frozen=True, eq=False)
class ObjectiveData:
    """Prepared arrays of one objective for all users (what ``prepare`` returns).

    Parameters
    ----------
    fdata, idata : array_like, shape (U, N, D) and (U, N, E)
        Per-candidate float data (finite) and integer data.
    consts : array_like, shape (U, C)
        Per-user constants (finite).
    """

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
        """Return column-less data (D = E = C = 0) of ``n_users`` users, ``n_candidates`` each.

        Parameters
        ----------
        n_users, n_candidates : int
            U and N of the inputs.

        Returns
        -------
        ObjectiveData
        """
        return cls(
            np.zeros((n_users, n_candidates, 0)),
            np.zeros((n_users, n_candidates, 0), dtype=np.int64),
            np.zeros((n_users, 0)),
        )


def _check_arity(kernel: Callable, name: str) -> None:
    """A ``TypeError`` naming the objective when ``kernel`` cannot take the four arguments
    of ``OBJECTIVE_SIGNATURE``."""
    try:
        sig = inspect.signature(kernel)
    except (TypeError, ValueError):  # no signature to read (a builtin): numba will say
        return
    try:
        sig.bind(None, None, None, None)
    except TypeError:
        params = ", ".join(sig.parameters)
        raise TypeError(
            f"the kernel of objective {name!r} takes ({params}); an objective kernel is "
            f"{KERNEL_FORM}"
        ) from None


def _compile(kernel: Callable, name: str = "?", boundscheck: bool = False) -> CPUDispatcher:
    """A dispatcher compiled for exactly ``OBJECTIVE_SIGNATURE``.

    First-class function tuples need single-signature dispatchers, so an ``@njit`` function
    compiled lazily (or for other types) is re-jitted from its Python source. A kernel that
    takes other arguments, or does not compile for these types, gets a ``TypeError`` naming
    the objective ``name``.
    """
    if isinstance(kernel, CPUDispatcher):
        if list(kernel.nopython_signatures) == [OBJECTIVE_SIGNATURE] and not boundscheck:
            return kernel
        kernel = kernel.py_func
    if not callable(kernel):
        raise TypeError(
            f"the kernel of objective {name!r} must be a function or a numba-jitted "
            f"function, got {kernel!r}"
        )
    _check_arity(kernel, name)
    try:
        return njit(OBJECTIVE_SIGNATURE, boundscheck=boundscheck)(kernel)
    except NumbaError as exc:
        raise TypeError(
            f"the kernel of objective {name!r} does not compile as {KERNEL_FORM}: {exc}"
        ) from exc


@dataclass(frozen=True, eq=False)
class ListObjective:
    """A named list objective (see the module docstring); larger values are better.

    Parameters
    ----------
    name : str
        Non-empty name.
    kernel : callable
        Python or ``@njit`` function ``kernel(positions, fdata, idata, consts) -> float``,
        compiled for ``OBJECTIVE_SIGNATURE`` when the objective is made.
    prepare : callable
        ``prepare(inputs: RerankInputs) -> ObjectiveData``, numpy over all users.
    description : str, default ""
        One line for ``list_objectives``.
    bounds : tuple of float, optional
        (low, high), low <= high, every value lies in; checked runs refuse others.
    """

    name: str
    kernel: CPUDispatcher
    prepare: Callable[[RerankInputs], ObjectiveData]
    description: str = ""
    bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("an objective needs a non-empty name")
        if not callable(self.prepare):
            raise TypeError(f"prepare of objective {self.name!r} must be callable")
        if self.bounds is not None:
            lo, hi = (float(b) for b in self.bounds)
            if not lo <= hi:
                raise ValueError(
                    f"bounds of objective {self.name!r} must be (low, high) with low <= high, "
                    f"got {self.bounds!r}"
                )
            object.__setattr__(self, "bounds", (lo, hi))
        object.__setattr__(self, "kernel", _compile(self.kernel, self.name))

    @cached_property
    def checked_kernel(self) -> CPUDispatcher:
        """The kernel compiled with bounds checking: an index out of range raises
        ``IndexError`` instead of reading neighbouring memory."""
        return _compile(self.kernel, self.name, boundscheck=True)

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
    """Declare that the engine computes ``kernel`` inline under ``code`` (built-ins only).

    Parameters
    ----------
    kernel : numba dispatcher
        A built-in objective's compiled kernel.
    code : int
        An ``OBJ_*`` code that the engine's ``evaluate_into`` implements.
    """
    _INLINE_CODES[kernel] = code


def _objective_code(obj: ListObjective) -> int:
    """The engine's inline code of an objective's kernel, or ``OBJ_GENERIC``. Keyed by
    the kernel itself, so a user objective that reuses a built-in name is never inlined."""
    return _INLINE_CODES.get(obj.kernel, OBJ_GENERIC)

# Kernels reach the engine as a numba typed List of function pointers: it crosses the
# Python/Numba boundary as one pointer (~3 us a call), where a tuple of dispatchers is
# converted kernel by kernel (~90 us each), and its length is not part of the compiled
# type, so one cached engine serves any number of objectives.
_KERNEL_TYPE = types.FunctionType(OBJECTIVE_SIGNATURE)


def kernel_list(kernels) -> List:
    """Return the kernels (numba dispatchers) as the typed List the engine's kernels take.

    Parameters
    ----------
    kernels : iterable
        Kernels compiled for ``OBJECTIVE_SIGNATURE``.

    Returns
    -------
    numba.typed.List
    """
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
    bounds: tuple[float, float] | None = None,
    example: RerankInputs | None = None,
) -> ListObjective:
    """Register a list objective under ``name`` so it can be asked for by name.

    Parameters
    ----------
    name : str
        The name ``objectives=`` asks for.
    kernel : callable
        A plain Python function (it is compiled with ``OBJECTIVE_SIGNATURE``) or an
        ``@njit`` function, called as ``kernel(positions, fdata, idata, consts)``.
    prepare : callable
        ``prepare(inputs) -> ObjectiveData``, numpy over all users.
    description : str, default ""
        One line for ``list_objectives``.
    overwrite : bool, default False
        Replace an objective registered under ``name``; otherwise a taken name is a
        ``ValueError``.
    bounds : tuple of float, optional
        (low, high) the kernel's values lie in; checked runs refuse others.
    example : RerankInputs, optional
        Inputs (``make_inputs``) to try the objective on before registering it:
        ``prepare`` runs on them and the bounds-checked kernel scores each user's top-K
        list; if either fails, the error is raised and nothing is registered (an
        objective registered earlier under ``name`` stays).

    Returns
    -------
    ListObjective
        The registered objective. A kernel that takes other arguments or does not
        compile raises ``TypeError`` naming ``name``, and nothing is registered.
    """
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"an objective named {name!r} exists; pass overwrite=True to replace it")
    obj = ListObjective(name, kernel, prepare, description, bounds)
    if example is not None:
        from .check import try_objective

        try_objective(obj, example)
    _REGISTRY[name] = obj
    return obj


def objective(name: str, prepare: Callable, *, description: str = "", overwrite: bool = False,
              bounds: tuple[float, float] | None = None,
              example: RerankInputs | None = None):  # fmt: skip
    """Decorator form of ``register_objective``: register the decorated kernel under ``name``.

    Parameters
    ----------
    name, prepare, overwrite, bounds, example
        As in ``register_objective``.
    description : str, default ""
        One line for ``list_objectives``; empty: the kernel's docstring.

    Returns
    -------
    callable
        A decorator taking the kernel and returning the registered ``ListObjective``.
    """

    def wrap(kernel: Callable) -> ListObjective:
        return register_objective(
            name, kernel, prepare, description=description or (kernel.__doc__ or "").strip(),
            overwrite=overwrite, bounds=bounds, example=example,
        )  # fmt: skip

    return wrap


def get_objective(spec: str | ListObjective) -> ListObjective:
    """Resolve an objective name (or pass through a ``ListObjective``).

    Parameters
    ----------
    spec : str or ListObjective
        A registered name (an unknown one is a ``ValueError`` listing those registered).

    Returns
    -------
    ListObjective
    """
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
    """Return the registered objective names and their descriptions.

    Returns
    -------
    dict of str to str
        Name to description, sorted by name.

    Examples
    --------
    >>> from moopt.objectives import list_objectives
    >>> list_objectives()["diversity"]
    'categories covered by the list / number of categories'
    """
    return {name: obj.description for name, obj in sorted(_REGISTRY.items())}


@dataclass(frozen=True, eq=False)
class PackedObjectives:
    """Several objectives' data concatenated for the kernels (built by ``pack_objectives``).

    Parameters
    ----------
    objectives, kernels : tuple of ListObjective, and numba.typed.List
        The M objectives, in order, and their kernels (see ``kernel_list``).
    codes : numpy.ndarray, shape (M,)
        The engine's inline code of each objective (``_objective_code``).
    fdata, idata, consts : numpy.ndarray
        All objectives' ``ObjectiveData`` arrays side by side (last axis).
    foff, ioff, coff : numpy.ndarray, shape (M + 1,)
        Objective ``j``'s columns of each array are ``off[j]:off[j + 1]``.
    """

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
        """Return the packed data of a subset of users (kernels and offsets shared).

        Parameters
        ----------
        users : numpy.ndarray
            Row indices (or a boolean mask) of the users to keep.

        Returns
        -------
        PackedObjectives
        """
        return PackedObjectives(
            self.objectives, self.kernels, self.codes, np.ascontiguousarray(self.fdata[users]),
            np.ascontiguousarray(self.idata[users]), np.ascontiguousarray(self.consts[users]),
            self.foff, self.ioff, self.coff,
        )  # fmt: skip


def prepare_objective(obj: ListObjective, inputs: RerankInputs) -> ObjectiveData:
    """Run ``obj.prepare(inputs)`` and check what it returns.

    Parameters
    ----------
    obj, inputs : ListObjective and RerankInputs
        The objective and validated inputs.

    Returns
    -------
    ObjectiveData
        Data of the inputs' U users and N candidates. A key missing from ``inputs.extras``
        is a ``ValueError`` naming the objective and the key.
    """
    try:
        d = obj.prepare(inputs)
    except MissingExtraError as exc:
        key = exc.args[0]
        given = ", ".join(repr(k) for k in inputs.extras) or "none"
        raise ValueError(
            f"objective {obj.name!r} reads inputs.extras[{key!r}], which was not given "
            f"(extras given: {given}); pass extras={{{key!r}: array}} to rerank_batch or "
            "make_inputs"
        ) from None
    if not isinstance(d, ObjectiveData):
        raise TypeError(f"prepare of objective {obj.name!r} must return ObjectiveData")
    u, n = inputs.n_users, inputs.n_candidates
    if d.fdata.shape[:2] != (u, n) or d.consts.shape[0] != u:
        raise ValueError(
            f"prepare of objective {obj.name!r} returned data for {d.fdata.shape[:2]} "
            f"(users, candidates); expected {(u, n)}"
        )
    return d


def pack_objectives(specs: Sequence[str | ListObjective], inputs: RerankInputs) -> PackedObjectives:
    """Prepare every objective for ``inputs`` and concatenate their data.

    Parameters
    ----------
    specs : str, ListObjective or sequence of them
        1 to ``MAX_OBJECTIVES`` (8) distinct objectives, by name or object.
    inputs : RerankInputs
        Validated inputs (``make_inputs``).

    Returns
    -------
    PackedObjectives
        Data and kernels in the order of ``specs``.
    """
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
        datas.append(prepare_objective(o, inputs))

    def offsets(widths):
        return np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)

    return PackedObjectives(
        objectives=objs,
        kernels=kernel_list(o.kernel for o in objs),
        codes=np.array([_objective_code(o) for o in objs], dtype=np.int64),
        fdata=np.ascontiguousarray(np.concatenate([d.fdata for d in datas], axis=2)),
        idata=np.ascontiguousarray(np.concatenate([d.idata for d in datas], axis=2)),
        consts=np.ascontiguousarray(np.concatenate([d.consts for d in datas], axis=1)),
        foff=offsets([d.fdata.shape[2] for d in datas]),
        ioff=offsets([d.idata.shape[2] for d in datas]),
        coff=offsets([d.consts.shape[1] for d in datas]),
    )

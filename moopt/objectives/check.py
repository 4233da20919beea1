"""Checked runs: user kernels re-evaluated with bounds checking, values held to their bounds.

The engine calls objective kernels compiled without bounds checking (an index check per
read would slow every evaluation), so a kernel that reads past its data, say
``fdata[positions[p], 1]`` where its ``prepare`` built one column, returns whatever lies
there: a plausible number, perhaps outside the objective's range. A checked run
(``rerank_batch(..., check=True)`` or ``MOOPT_CHECK=1``) scores the top-K list of every
user before the search and every list it returns (final populations and archives) after
it, each user-defined kernel through its bounds-checked build
(``checked_kernel``), and refuses

* an index out of range (``ValueError`` naming the objective, the user and the list),
* a value outside the objective's declared ``bounds``, of the bounds-checked kernel or
  of the values the engine returned,
* a NaN or infinite value.

Built-in objectives are evaluated inline by the engine and tested against brute force, so
only their values are held to their bounds. The cost is a Python call per list and user
kernel (a few microseconds each): a debugging aid, not a default.
"""

from __future__ import annotations

import numpy as np

from .._topk import top_k_rows
from .registry import (
    OBJ_GENERIC,
    ListObjective,
    PackedObjectives,
    RerankInputs,
    prepare_objective,
)

_TOL = 1e-9


def _out_of_bounds(values: np.ndarray, bounds: tuple[float, float] | None) -> np.ndarray:
    """Mask of the values that are not finite or lie outside ``bounds``."""
    bad = ~np.isfinite(values)
    if bounds is not None:
        lo, hi = bounds
        bad |= (values < lo - _TOL * max(1.0, abs(lo))) | (values > hi + _TOL * max(1.0, abs(hi)))
    return bad


def _refuse(obj: ListObjective, value: float, user: int, positions: np.ndarray) -> None:
    where = f"for user row {user}'s list of positions {positions.tolist()}"
    if not np.isfinite(value):
        raise ValueError(f"objective {obj.name!r} returned {value} {where}; its kernel must "
                         "return a finite number")  # fmt: skip
    lo, hi = obj.bounds
    raise ValueError(
        f"objective {obj.name!r} returned {value:.6g} {where}, outside its declared bounds "
        f"[{lo:g}, {hi:g}]; check what its kernel reads against the shapes its prepare "
        "returns, and its arithmetic"
    )


def score_checked(obj: ListObjective, lists: np.ndarray, fdata: np.ndarray, idata: np.ndarray,
                  consts: np.ndarray, sizes: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Score position lists with an objective's bounds-checked kernel, on its own data.

    Parameters
    ----------
    obj : ListObjective
        The objective (its ``checked_kernel`` and ``bounds`` are used).
    lists : numpy.ndarray, shape (U, m, K)
        Candidate positions of the lists of each user.
    fdata, idata, consts : numpy.ndarray
        The objective's own data: (U, N, D) float, (U, N, E) int and (U, C) float.
    sizes : numpy.ndarray, shape (U,), optional
        Score only the first ``sizes[u]`` lists of user ``u`` (default: all).

    Returns
    -------
    numpy.ndarray, shape (U, m)
        The values (NaN for lists past ``sizes[u]``).

    Raises
    ------
    ValueError
        For an index out of range, a value outside ``obj.bounds`` or a non-finite value,
        naming the objective, the user row and the list.
    """
    kernel = obj.checked_kernel
    u_count, m, _ = lists.shape
    out = np.full((u_count, m), np.nan)
    for u in range(u_count):
        f, i = fdata[u], idata[u]
        c = np.ascontiguousarray(consts[u])
        for r in range(m if sizes is None else int(sizes[u])):
            positions = np.ascontiguousarray(lists[u, r], dtype=np.int64)
            try:
                out[u, r] = kernel(positions, f, i, c)
            except IndexError as exc:
                raise ValueError(
                    f"objective {obj.name!r} reads outside its data for user row {u}'s list of "
                    f"positions {positions.tolist()} ({exc}); its prepare gives fdata "
                    f"(N={f.shape[0]}, D={f.shape[1]}), idata (N, E={i.shape[1]}) and consts "
                    f"(C={c.shape[0]},)"
                ) from None
            if _out_of_bounds(out[u, r : r + 1], obj.bounds)[0]:
                _refuse(obj, out[u, r], u, positions)
    return out


def try_objective(obj: ListObjective, example: RerankInputs) -> None:
    """Prepare ``obj`` on ``example`` and score each user's top-K list with its checked kernel.

    Parameters
    ----------
    obj : ListObjective
        The objective to try.
    example : RerankInputs
        Inputs to try it on (``make_inputs``).

    Raises
    ------
    ValueError
        What ``prepare_objective`` and ``score_checked`` raise.
    """
    d = prepare_objective(obj, example)
    top = top_k_rows(example.scores, example.k)[:, None, :]
    score_checked(obj, top, d.fdata, d.idata, d.consts)


def _columns(packed: PackedObjectives, j: int):
    """Objective ``j``'s own columns of the packed data."""
    return (packed.fdata[..., packed.foff[j] : packed.foff[j + 1]],
            packed.idata[..., packed.ioff[j] : packed.ioff[j + 1]],
            packed.consts[:, packed.coff[j] : packed.coff[j + 1]])  # fmt: skip


def check_objectives(packed: PackedObjectives, lists: np.ndarray, values: np.ndarray | None = None,
                sizes: np.ndarray | None = None) -> None:  # fmt: skip
    """Check every objective on position lists; user kernels run through their checked builds.

    Parameters
    ----------
    packed : PackedObjectives
        The objectives and their data.
    lists : numpy.ndarray, shape (U, m, K)
        Candidate positions of the lists of each user.
    values : numpy.ndarray, shape (U, m, M), optional
        The maximised values the engine returned for ``lists``, held to each objective's
        bounds.
    sizes : numpy.ndarray, shape (U,), optional
        Check only the first ``sizes[u]`` lists of user ``u`` (default: all).

    Raises
    ------
    ValueError
        Naming the objective, for an index out of range, a non-finite value or one outside
        its bounds.
    """
    for j, obj in enumerate(packed.objectives):
        if packed.codes[j] == OBJ_GENERIC:
            score_checked(obj, lists, *_columns(packed, j), sizes)
        if values is None:
            continue
        for u in range(values.shape[0]):
            n = values.shape[1] if sizes is None else int(sizes[u])
            bad = np.flatnonzero(_out_of_bounds(values[u, :n, j], obj.bounds))
            if bad.size:
                _refuse(obj, values[u, bad[0], j], u, lists[u, bad[0]])


def check_result(packed: PackedObjectives, result) -> None:
    """Run ``check_objectives`` on a result's final populations and archives.

    Parameters
    ----------
    packed : PackedObjectives
        The objectives and data the result was computed with.
    result : RerankResult
        The result of ``rerank_batch`` on those inputs.

    Raises
    ------
    ValueError
        As ``check_objectives``.
    """
    check_objectives(packed, result.positions, result.F)
    if result.archive_positions.shape[1]:
        check_objectives(packed, result.archive_positions, result.archive_F, result.archive_size)

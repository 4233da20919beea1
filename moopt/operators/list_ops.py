"""pymoo operators for K-of-N list problems: sampling, crossover, mutation, duplicates.

A list problem has ``n_var = K`` integer variables in ``[0, N - 1]``, each row holding K
distinct candidate positions. ``N`` is read from ``problem.n_candidates`` (or
``xu + 1``); an optional ``problem.topk_positions()`` gives the top-K list for sampling.
Each ``_do`` is one Numba call over the whole batch, seeded from pymoo's
``random_state``.
"""

from __future__ import annotations

import numpy as np
from pymoo.core.crossover import Crossover
from pymoo.core.duplicate import DuplicateElimination
from pymoo.core.mutation import Mutation
from pymoo.core.sampling import Sampling

from .._rng import draw_seed
from . import _kernels as K


def n_candidates(problem) -> int:
    """N of a list problem: ``problem.n_candidates`` or ``xu + 1``."""
    n = getattr(problem, "n_candidates", None)
    if n is None:
        n = int(np.max(problem.xu)) + 1
    n = int(n)
    if problem.n_var > n:
        raise ValueError(f"the problem asks for K={problem.n_var} of only N={n} candidates")
    return n


def _as_positions(X: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.round(X).astype(np.int64))


class ListSampling(Sampling):
    """Initial lists: the problem's top-K list (if ``include_topk``), then ``inject`` (an
    (m, K) array of position lists), then random distinct lists."""

    def __init__(self, include_topk: bool = True, inject: np.ndarray | None = None) -> None:
        super().__init__()
        self.include_topk = include_topk
        self.inject = None if inject is None else np.asarray(inject)

    def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
        n, k = n_candidates(problem), problem.n_var
        X = K.random_lists(n_samples, k, n, draw_seed(random_state))
        rows = []
        if self.include_topk:
            top = getattr(problem, "topk_positions", None)
            rows.append(np.asarray(top() if callable(top) else np.arange(k))[None])
        if self.inject is not None:
            inj = np.atleast_2d(self.inject)
            if inj.shape[1] != k or inj.min() < 0 or inj.max() >= n:
                raise ValueError(f"inject must be (m, {k}) positions in [0, {n})")
            if np.any(np.sort(inj, axis=1)[:, 1:] == np.sort(inj, axis=1)[:, :-1]):
                raise ValueError("inject contains a list with a repeated position")
            rows.append(inj)
        if rows:
            fixed = np.concatenate(rows)[:n_samples]
            X[: len(fixed)] = fixed
        return X


class _ListCrossover(Crossover):
    kind = K.CX_ONE_POINT

    def __init__(self, prob: float = 0.9, eta: float = 15.0, **kwargs) -> None:
        super().__init__(2, 2, prob=prob, **kwargs)
        self.eta = float(eta)

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        a, b = _as_positions(X[0]), _as_positions(X[1])
        return K.crossover_batch(
            self.kind, a, b, n_candidates(problem), draw_seed(random_state), self.eta
        )


class OnePointListCrossover(_ListCrossover):
    """Heads of one parent, tails of the other; repeated items replaced by unused candidates."""

    kind = K.CX_ONE_POINT


class UniformListCrossover(_ListCrossover):
    """Each slot from either parent with probability 1/2, then duplicate repair."""

    kind = K.CX_UNIFORM


class ListSBX(_ListCrossover):
    """PreferRec's list-level simulated binary crossover on candidate positions (ranks),
    rounded, then duplicate repair (see :func:`moopt.operators._kernels.sbx_row`)."""

    kind = K.CX_SBX


class _ListMutation(Mutation):
    kind = K.MUT_MIXED

    def __init__(self, prob: float = 0.2, p_swap: float = 0.5, **kwargs) -> None:
        super().__init__(prob=prob, **kwargs)
        if not 0.0 <= p_swap <= 1.0:
            raise ValueError(f"p_swap must be in [0, 1], got {p_swap}")
        self.p_swap = float(p_swap)

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        return K.mutate_batch(
            self.kind, _as_positions(X), n_candidates(problem), draw_seed(random_state),
            self.p_swap,
        )  # fmt: skip


class SwapMutation(_ListMutation):
    """Swap two slots of the list (each offspring with probability ``prob``)."""

    kind = K.MUT_SWAP


class ReplaceMutation(_ListMutation):
    """Replace one slot by a candidate the list does not hold."""

    kind = K.MUT_REPLACE


class ListMutation(_ListMutation):
    """PreferRec's mutation: a swap with probability ``p_swap``, otherwise a replacement."""

    kind = K.MUT_MIXED


class ListDuplicateElimination(DuplicateElimination):
    """Drops lists equal (same items, same order) to an earlier one, by 64-bit row hashes.

    Rows whose hashes collide are compared element-wise, so a collision never drops a
    distinct list.
    """

    def _do(self, pop, other, is_duplicate):
        X = _as_positions(pop.get("X"))
        h = K.hash_rows(X)
        seen: dict[int, list[np.ndarray]] = {}
        if other is not None and len(other):
            Y = _as_positions(other.get("X"))
            for row, key in zip(Y, K.hash_rows(Y).tolist(), strict=True):
                seen.setdefault(key, []).append(row)
        for i, key in enumerate(h.tolist()):
            rows = seen.setdefault(key, [])
            if any(np.array_equal(X[i], r) for r in rows):
                is_duplicate[i] = True
            else:
                rows.append(X[i])
        return is_duplicate

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
    """Return N of a list problem: ``problem.n_candidates``, else ``xu + 1``.

    Parameters
    ----------
    problem : pymoo.core.problem.Problem
        A list problem with ``n_var = K``.

    Returns
    -------
    int
        The number of candidates N.

    Raises
    ------
    ValueError
        If K exceeds N.
    """
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
    """Initial lists: the problem's top-K list, then ``inject``, then random distinct lists.

    Parameters
    ----------
    include_topk : bool, default True
        Put the problem's ``topk_positions()`` first (positions 0..K-1 for a problem
        without one).
    inject : array_like, shape (m, K), optional
        Position lists to include next (in [0, N), distinct within a list; checked when
        sampling).
    """

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
    """Heads of one parent, tails of the other; repeated items replaced by unused candidates.

    Parameters
    ----------
    prob : float, default 0.9
        Probability that a mating crosses the parents (else the children copy them).
    eta : float, default 15.0
        Distribution index of the list SBX (larger: children closer to their parents); used
        by ``ListSBX`` only.
    **kwargs
        Passed to ``pymoo.core.crossover.Crossover``.
    """

    kind = K.CX_ONE_POINT


class UniformListCrossover(_ListCrossover):
    """Each slot from either parent with probability 1/2, then duplicate repair.

    Parameters
    ----------
    prob : float, default 0.9
        Probability that a mating crosses the parents (else the children copy them).
    eta : float, default 15.0
        Distribution index of the list SBX (larger: children closer to their parents); used
        by ``ListSBX`` only.
    **kwargs
        Passed to ``pymoo.core.crossover.Crossover``.
    """

    kind = K.CX_UNIFORM


class ListSBX(_ListCrossover):
    """PreferRec's list-level simulated binary crossover on candidate positions (ranks).

    Children are rounded, then repaired for duplicates (see
    ``moopt.operators._kernels.sbx_row``).

    Parameters
    ----------
    prob : float, default 0.9
        Probability that a mating crosses the parents (else the children copy them).
    eta : float, default 15.0
        Distribution index of the list SBX (larger: children closer to their parents); used
        by ``ListSBX`` only.
    **kwargs
        Passed to ``pymoo.core.crossover.Crossover``.
    """

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
    """Swap two slots of the list (each offspring with probability ``prob``).

    Parameters
    ----------
    prob : float, default 0.2
        Probability that an offspring is mutated.
    p_swap : float, default 0.5
        Share of mutations that swap two slots (the rest replace one item), in [0, 1]; used
        by ``ListMutation`` only.
    **kwargs
        Passed to ``pymoo.core.mutation.Mutation``.
    """

    kind = K.MUT_SWAP


class ReplaceMutation(_ListMutation):
    """Replace one slot by a candidate the list does not hold.

    Parameters
    ----------
    prob : float, default 0.2
        Probability that an offspring is mutated.
    p_swap : float, default 0.5
        Share of mutations that swap two slots (the rest replace one item), in [0, 1]; used
        by ``ListMutation`` only.
    **kwargs
        Passed to ``pymoo.core.mutation.Mutation``.
    """

    kind = K.MUT_REPLACE


class ListMutation(_ListMutation):
    """PreferRec's mutation: a swap with probability ``p_swap``, otherwise a replacement.

    Parameters
    ----------
    prob : float, default 0.2
        Probability that an offspring is mutated.
    p_swap : float, default 0.5
        Share of mutations that swap two slots (the rest replace one item), in [0, 1]; used
        by ``ListMutation`` only.
    **kwargs
        Passed to ``pymoo.core.mutation.Mutation``.
    """

    kind = K.MUT_MIXED


class ListDuplicateElimination(DuplicateElimination):
    """Drops lists equal (same items, same order) to an earlier one, by 64-bit row hashes.

    Rows whose hashes collide are compared element-wise, so a collision never drops a
    distinct list. pymoo's ``DuplicateElimination`` argument ``func`` is unused: lists
    are compared by their rounded positions.
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

"""The list kernels as DEAP toolbox functions.

DEAP individuals are Python lists (of candidate positions here) and DEAP operators
modify them in place, drawing randomness from the ``random`` module; these adapters
follow both conventions and call the same Numba kernels as the pymoo operators.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from . import _kernels as K

_CX = {"one_point": K.CX_ONE_POINT, "uniform": K.CX_UNIFORM, "sbx": K.CX_SBX}


def _seed() -> np.uint64:
    return np.uint64(random.getrandbits(63))


def mate(ind1: list, ind2: list, n_candidates: int, kind: str = "one_point", eta: float = 15.0):
    """List crossover of two DEAP individuals, in place.

    Parameters
    ----------
    ind1, ind2 : list of int
        Candidate positions of the parents (K each); overwritten by the children.
    n_candidates : int
        N, the candidates the positions index.
    kind : {"one_point", "uniform", "sbx"}, default "one_point"
        The crossover (see ``moopt.operators``).
    eta : float, default 15.0
        Distribution index of ``"sbx"``.

    Returns
    -------
    tuple of list
        ``(ind1, ind2)``, the children.

    Raises
    ------
    ValueError
        For an unknown ``kind``.
    """
    if kind not in _CX:
        raise ValueError(f"kind must be one of {sorted(_CX)}, got {kind!r}")
    a = np.asarray(ind1, dtype=np.int64)[None]
    b = np.asarray(ind2, dtype=np.int64)[None]
    kids = K.crossover_batch(_CX[kind], a, b, int(n_candidates), _seed(), float(eta))
    ind1[:] = kids[0, 0].tolist()
    ind2[:] = kids[1, 0].tolist()
    return ind1, ind2


def mutate(ind: list, n_candidates: int, p_swap: float = 0.5):
    """Mutate a DEAP individual in place: a swap (probability ``p_swap``) or a replacement.

    Parameters
    ----------
    ind : list of int
        Candidate positions (K).
    n_candidates : int
        N, the candidates the positions index.
    p_swap : float, default 0.5
        Probability of a swap of two slots rather than a replacement by an unused candidate.

    Returns
    -------
    tuple of list
        ``(ind,)``, as DEAP expects.
    """
    x = np.asarray(ind, dtype=np.int64)[None]
    ind[:] = K.mutate_batch(K.MUT_MIXED, x, int(n_candidates), _seed(), float(p_swap))[0].tolist()
    return (ind,)


def random_individual(container, k: int, n_candidates: int):
    """Make a DEAP individual of ``k`` distinct random positions out of ``n_candidates``.

    Parameters
    ----------
    container : type
        The individual class (e.g. a ``deap.creator`` list class).
    k : int
        List length.
    n_candidates : int
        N, at least ``k``.

    Returns
    -------
    object
        ``container(positions)``.
    """
    return container(K.random_lists(1, k, n_candidates, _seed())[0].tolist())


def deap_toolbox(problem, kind: str = "one_point", p_swap: float = 0.5, eta: float = 15.0):
    """Build a DEAP ``Toolbox`` for a list problem with ``objective_values`` (maximised).

    Registers ``individual``, ``population``, ``evaluate``, ``mate``, ``mutate`` and
    ``select`` (DEAP's ``selNSGA2``). Fitness classes are created in ``deap.creator`` once
    per number of objectives (DEAP keeps them there by design).

    Parameters
    ----------
    problem : object
        A list problem exposing ``n_obj``, ``n_var`` (K), ``n_candidates`` and
        ``objective_values(lists) -> (m, n_obj)`` maximised values.
    kind : {"one_point", "uniform", "sbx"}, default "one_point"
        The crossover.
    p_swap : float, default 0.5
        Share of mutations that swap two slots.
    eta : float, default 15.0
        Distribution index of ``"sbx"``.

    Returns
    -------
    deap.base.Toolbox
        The toolbox.
    """
    from deap import base, creator, tools

    n_obj, k, n = problem.n_obj, problem.n_var, problem.n_candidates
    fit_name, ind_name = f"ListFitnessMax{n_obj}", f"ListIndividual{n_obj}"
    if not hasattr(creator, fit_name):
        creator.create(fit_name, base.Fitness, weights=(1.0,) * n_obj)
        creator.create(ind_name, list, fitness=getattr(creator, fit_name))
    individual_cls = getattr(creator, ind_name)

    def evaluate(ind: Sequence[int]):
        return tuple(problem.objective_values(np.asarray(ind)[None])[0].tolist())

    tb = base.Toolbox()
    tb.register("individual", random_individual, individual_cls, k, n)
    tb.register("population", tools.initRepeat, list, tb.individual)
    tb.register("evaluate", evaluate)
    tb.register("mate", mate, n_candidates=n, kind=kind, eta=eta)
    tb.register("mutate", mutate, n_candidates=n, p_swap=p_swap)
    tb.register("select", tools.selNSGA2)
    return tb

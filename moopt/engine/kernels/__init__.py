"""Numba kernels of the batched NSGA-II: one independent search per user, all users in
one parallel loop (leftmost array dimension = user).

NSGA-II as in Deb, Pratap, Agarwal and Meyarivan, "A fast and elitist multiobjective
genetic algorithm: NSGA-II", IEEE TEVC 2002:

* the first generation is the initial population (``n_gen`` counts it, as pymoo does);
* mating: binary tournaments by Deb's crowded comparison, lower rank (front) wins, then
  larger crowding distance, then a coin flip. pymoo's ``NSGA2`` compares Pareto
  dominance first by default (``tournament_type="comp_by_dom_and_crowding"``); this is
  its ``"comp_by_rank_and_crowding"``. Competitors are read from concatenated random
  permutations of the population, as pymoo's ``TournamentSelection`` draws them;
  crossover with probability ``p_cx`` (else the parents are copied); each child mutated
  with probability ``p_mut``; a child equal to a member of the population or to an
  earlier child is discarded and mating repeats (at most ``max_tries`` matings per
  generation);
* survival: non-dominated sorting of parents + children, fronts taken whole while they
  fit, the splitting front truncated by crowding distance (descending, random ties);
* crowding distance: per objective, the normalised gap between a point's neighbours,
  boundary points infinite; an objective constant over the front contributes nothing.

All objectives are minimised here (the caller negates maximised ones). User ``u`` draws
from its own SplitMix64 stream, so results do not depend on the thread count.

The modules, by stage: ``.workspace`` (the buffers, the hash set of list hashes),
``.sorting`` (sorts, lexicographic order, non-dominated ranking), ``.survival``
(crowding, survivors, the archive's offers), ``.evaluation`` (objective values),
``.mating`` (tournament, children, one user's initial population, generation and
injected lists) and ``.batch`` (the parallel drivers over all users).

Speed: nothing is allocated inside the generation loop. Each block of consecutive users
gets one ``Workspace`` (merged population, sorting and ranking buffers,
a hash set for duplicate checks), allocated once in the batch functions and passed down.
Sorts run on index buffers (no ``argsort`` allocations): counting sorts with branch-free
comparisons up to 128 pairs, merge sorts beyond. Each survival records the survivors'
lexicographic order, so the next generation sorts only its children and merges them in
(the same order as a full sort, so results are unchanged), and that order also gives
crowding its order of objective 0. With three objectives, non-dominated sorting compares
each row with every lexicographically earlier one, branch-free; otherwise it keeps its
fronts in a preallocated table and stops a row's search once it cannot survive
(``rank_into``). The built-in objectives are evaluated inline
(``evaluate_into`` dispatches on the objective codes of
``moopt.objectives``), so the typed list of kernel pointers is only called for
user-defined objectives.

The batch functions hand the per-user functions *borrowed* views of their arrays
(``moopt._memory.borrowed``, of type ``moopt._memory.BorrowedArray``: no memory
info, so Numba emits no reference counting for them; ``MOOPT_BORROWED=0`` builds them
with ordinary arrays). On ordinary arrays Numba counts a reference, with an atomic
operation, wherever an inlined helper binds an array argument, a row view is taken or a
variable is copied: about 15,000 increfs and as many decrefs per user. On one thread at
2,000 users a user took 245 us with them, 157 us with null memory info (the counting
calls still made, doing nothing) and 132 us with none emitted.

Numba caches each compiled function beside its module and checks it against that module
only, so a function compiled together with callees from other modules (every batch
driver) would load stale code after one of them changed. Every cached function here is
therefore keyed by a digest of all the sources the engine's compiled code includes
(``SOURCES``) and by the build (``MOOPT_BORROWED``): an edit anywhere recompiles the
engine, and each build keeps its own entries (``moopt._memory.key_caches_by_sources``).
"""

from pathlib import Path

from numba.core.registry import CPUDispatcher

from ..._memory import is_cached, key_caches_by_sources
from .batch import (
    archive_population_batch,
    evolve_batch,
    gather_archives,
    init_batch,
    inject_batch,
    run_batch,
)
from .evaluation import evaluate_into, finite_columns, popcount64
from .mating import generation_user, init_user, inject_user, next_competitor, tournament
from .sorting import (
    dominates,
    lex_order_into,
    lexicographic_order,
    nondominated_rank,
    rank_into,
    sort_pairs,
)
from .survival import (
    crowding_distance,
    crowding_into,
    crowding_of,
    survive,
    survive_and_archive,
    survive_into,
)
from .workspace import Workspace, hset_add, make_workspace

_HERE = Path(__file__).resolve().parent
SOURCES = (
    *sorted(_HERE.glob("*.py")),
    _HERE.parent / "archive.py",
    _HERE.parent.parent / "operators" / "_kernels.py",
    _HERE.parent.parent / "_rng.py",
    _HERE.parent.parent / "_memory.py",
    _HERE.parent.parent / "objectives" / "registry.py",
)
"""Every source file whose code the engine's compiled functions may include."""


def _cached_functions() -> list[CPUDispatcher]:
    from . import batch, evaluation, mating, sorting, survival, workspace

    found = []
    for module in (batch, evaluation, mating, sorting, survival, workspace):
        for obj in vars(module).values():
            if (isinstance(obj, CPUDispatcher) and obj.__module__ == module.__name__
                    and is_cached(obj)):  # fmt: skip
                found.append(obj)
    return found


SOURCES_DIGEST = key_caches_by_sources(_cached_functions(), SOURCES)

__all__ = [
    "Workspace", "archive_population_batch", "crowding_distance", "crowding_into",
    "crowding_of", "dominates", "evaluate_into", "evolve_batch", "finite_columns",
    "gather_archives", "generation_user", "hset_add", "init_batch", "init_user",
    "inject_batch", "inject_user", "lex_order_into", "lexicographic_order",
    "make_workspace", "next_competitor", "nondominated_rank", "popcount64", "rank_into",
    "run_batch", "sort_pairs", "survive", "survive_and_archive", "survive_into",
    "tournament",
]  # fmt: skip

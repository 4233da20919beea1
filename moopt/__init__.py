"""moopt: evolutionary multi-objective optimisation for recommender systems.

The engine: Numba list operators and objectives, the batched NSGA-II
(:func:`rerank_batch`), decision making, gradient solvers (:mod:`moopt.gradient`), pymoo
algorithms for MGDA and Bayesian optimisation (:mod:`moopt.algorithms`) and the comparison
harness (:func:`compare`). It knows nothing of recommendation data; ``problems`` joins it
to ``recommenders``.
"""

from .compare import Comparison, compare
from .engine import RerankResult, rerank_batch
from .objectives import list_objectives, objective, register_objective

__version__ = "0.1.0"

__all__ = [
    "Comparison", "RerankResult", "compare", "list_objectives", "objective",
    "register_objective", "rerank_batch",
]  # fmt: skip

"""moopt: evolutionary multi-objective optimisation for recommender systems.

The engine: Numba list operators and objectives, the batched NSGA-II
(:func:`rerank_batch`), decision making, and (in later modules) gradient solvers,
Bayesian optimisation and the comparison harness. It knows nothing of recommendation
data; ``problems`` joins it to ``recommenders``.
"""

from .engine import RerankResult, rerank_batch
from .objectives import list_objectives, objective, register_objective

__version__ = "0.1.0"

__all__ = ["RerankResult", "list_objectives", "objective", "register_objective", "rerank_batch"]

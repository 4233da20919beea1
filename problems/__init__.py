"""pymoo Problem classes that turn recommender outputs into objectives."""

from .loss_weight import LossWeightConfig, LossWeightProblem
from .pareto_stationarity import ParetoStationarityProblem, PMORSConfig, PMORSTask
from .rerank import ListReRankingProblem
from .synthetic import QuadraticsProblem

__all__ = [
    "ListReRankingProblem", "LossWeightConfig", "LossWeightProblem", "PMORSConfig",
    "PMORSTask", "ParetoStationarityProblem", "QuadraticsProblem",
]  # fmt: skip

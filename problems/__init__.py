"""pymoo Problem classes that turn recommender outputs into objectives."""

from .rerank import ListReRankingProblem

__all__ = ["ListReRankingProblem"]

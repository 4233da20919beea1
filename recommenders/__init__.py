"""Recommendation side of moopt: data, splits, torch base rankers, losses, metrics and
re-ranking baselines. Depends on numpy and torch only; knows nothing of pymoo."""

__version__ = "0.1.0"

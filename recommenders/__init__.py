"""Recommendation side of moopt: data, splits, torch base rankers, losses, metrics and
re-ranking baselines. Built on numpy, scipy, pandas and torch; of moopt it uses only the
leaf modules moopt.stats, moopt.portable and moopt._torch, never the engine, pymoo or
Numba (tests/recommenders/test_import_rule.py checks it)."""

__version__ = "0.1.0"

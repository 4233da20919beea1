"""Recommendation side of moopt: data, splits, torch base rankers, losses, metrics and
re-ranking baselines.

Built on numpy, scipy, pandas and torch. Of moopt it uses only the leaf modules
``moopt.stats``, ``moopt.portable`` and ``moopt._torch``, never the engine, pymoo or Numba
(``tests/recommenders/test_import_rule.py`` checks it).
"""

__version__ = "0.1.0"

#: The entry point for a model trained anywhere (:mod:`recommenders.external`), imported on
#: first use so that ``import recommenders`` stays light.
_EXTERNAL = ("candidates_from_scores", "ExternalCandidates", "IdMap")
__all__ = list(_EXTERNAL)


def __getattr__(name: str):
    if name in _EXTERNAL:
        from . import external

        return getattr(external, name)
    raise AttributeError(f"module 'recommenders' has no attribute {name!r}")

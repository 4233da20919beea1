"""Solvers as pymoo Algorithms, so ``pymoo.optimize.minimize`` runs them all.

``MOBO`` (BoTorch) is imported on first use, so ``moopt`` imports without the
optional ``bo`` extra; constructing it without BoTorch raises an ImportError that names
the extra to install.
"""

from .bayesopt import BayesOpt, booml_harmean, booml_ressum, random_search
from .mgda import MGDA

__all__ = ["MGDA", "MOBO", "BayesOpt", "booml_harmean", "booml_ressum", "random_search"]


def __getattr__(name: str):
    if name == "MOBO":
        from .mobo import MOBO

        return MOBO
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

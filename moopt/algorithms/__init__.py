"""Solvers as pymoo Algorithms, so ``pymoo.optimize.minimize`` runs them all."""

from .bayesopt import BayesOpt, booml_harmean, booml_ressum, random_search
from .mgda import MGDA

__all__ = ["MGDA", "BayesOpt", "booml_harmean", "booml_ressum", "random_search"]

"""Solvers as pymoo Algorithms, so ``pymoo.optimize.minimize`` runs them all."""

"""moopt: evolutionary multi-objective optimisation for recommender systems."""

__version__ = "0.1.0"

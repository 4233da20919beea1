"""Statistics for comparing recommenders and re-rankers: paired tests over users and over
seeds, bootstrap confidence intervals, Cohen's d, Bonferroni and Holm corrections.

The implementation is ``moopt.stats`` (the engine's solver comparison uses it, and
``moopt`` never imports ``recommenders``), a leaf module of moopt that imports numpy,
pandas and scipy only, never the engine, pymoo or Numba; this module gives it its place
beside the evaluation code, under the same names:

    from recommenders.stats import paired_over_users, paired_over_seeds, holm
"""

from moopt.stats import (
    PairedResult,
    adjust,
    bonferroni,
    compare_table,
    holm,
    mean_ci,
    paired_over_seeds,
    paired_over_users,
)

__all__ = [
    "PairedResult",
    "adjust",
    "bonferroni",
    "compare_table",
    "holm",
    "mean_ci",
    "paired_over_seeds",
    "paired_over_users",
]

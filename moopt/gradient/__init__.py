"""Gradient-based multi-objective training: MGDA's min-norm solver, PCGrad and torch helpers.

One method per module, each citing the paper and equation it implements:

* ``min_norm``: minimum-norm point of the convex hull of gradients
  (Sener & Koltun, NeurIPS 2018, eq. (3)-(4), Algorithm 2).
* ``pcgrad``: gradient surgery (Yu et al., NeurIPS 2020, Algorithm 1) and
  BOOML's simultaneous form of it (eq. 17), ``project_conflicts``.
* ``mgda``: MGDA / MGDA-UB loss weighting and PCGrad backward for torch
  training loops.
"""

from .mgda import MGDA, mgda_step, pcgrad_backward
from .min_norm import gram_min_norm, min_norm
from .pcgrad import pcgrad, project_conflicts

__all__ = [
    "MGDA",
    "gram_min_norm",
    "mgda_step",
    "min_norm",
    "pcgrad",
    "pcgrad_backward",
    "project_conflicts",
]

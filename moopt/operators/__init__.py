"""pymoo operators for K-of-N list problems, backed by Numba kernels, and DEAP adapters."""

from .deap_ops import deap_toolbox
from .list_ops import (
    ListDuplicateElimination,
    ListMutation,
    ListSampling,
    ListSBX,
    OnePointListCrossover,
    ReplaceMutation,
    SwapMutation,
    UniformListCrossover,
    n_candidates,
)

__all__ = [
    "ListDuplicateElimination", "ListMutation", "ListSBX", "ListSampling",
    "OnePointListCrossover", "ReplaceMutation", "SwapMutation", "UniformListCrossover",
    "deap_toolbox", "n_candidates",
]  # fmt: skip

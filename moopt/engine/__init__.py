"""The batched NSGA-II engine for K-of-N list re-ranking.

The engine is Numba code compiled on its first call (about two minutes of one core) and
cached on disk: beside its sources, or in ``~/.cache/numba`` when the package folder is
read-only, or in ``$NUMBA_CACHE_DIR`` when set (``moopt._numba_cache`` says how Numba
picks the folder).
A call that has to compile says so on stderr first.
"""

from .memory import RerankMemoryError, memory_estimate
from .rerank import (
    DEFAULT_OBJECTIVES,
    BatchCallback,
    BatchState,
    RerankConfig,
    check_lists,
    evaluate_lists,
    rerank_batch,
    run_engine,
    topk_positions,
)
from .result import RerankResult

__all__ = [
    "DEFAULT_OBJECTIVES", "BatchCallback", "BatchState", "RerankConfig",
    "RerankMemoryError", "RerankResult", "check_lists", "evaluate_lists", "memory_estimate",
    "rerank_batch", "run_engine", "topk_positions",
]  # fmt: skip

"""The batched NSGA-II engine for K-of-N list re-ranking."""

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
    "DEFAULT_OBJECTIVES", "BatchCallback", "BatchState", "RerankConfig", "RerankResult",
    "check_lists", "evaluate_lists", "rerank_batch", "run_engine", "topk_positions",
]  # fmt: skip

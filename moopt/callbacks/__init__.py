"""Callbacks: PreferRec's knowledge transfer for the batch engine and for pymoo."""

from .knowledge_transfer import (
    KnowledgeTransfer,
    KnowledgeTransferCallback,
    TransferConfig,
    interest_profiles,
    map_lists,
)
from .pareto_learning import ParetoLearner, ParetoLearnerConfig, ParetoMLP, soft_labels

__all__ = [
    "KnowledgeTransfer", "KnowledgeTransferCallback", "ParetoLearner", "ParetoLearnerConfig",
    "ParetoMLP", "TransferConfig", "interest_profiles", "map_lists", "soft_labels",
]  # fmt: skip

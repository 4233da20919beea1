"""List objectives for K-of-N re-ranking and their registry."""

from .builtin import (
    ACCURACY,
    DIVERSITY,
    EXPECTED_HITS,
    ILD,
    NOVELTY,
    category_bits,
    item_novelty,
    portable_round,
    position_discounts,
)
from .registry import (
    CHECK,
    OBJECTIVE_SIGNATURE,
    ListObjective,
    ObjectiveData,
    PackedObjectives,
    RerankInputs,
    get_objective,
    list_objectives,
    make_inputs,
    objective,
    pack_objectives,
    register_objective,
)

__all__ = [
    "ACCURACY", "CHECK", "DIVERSITY", "EXPECTED_HITS", "ILD", "NOVELTY", "OBJECTIVE_SIGNATURE",
    "ListObjective", "ObjectiveData", "PackedObjectives", "RerankInputs", "category_bits",
    "get_objective", "item_novelty", "list_objectives", "make_inputs", "objective",
    "pack_objectives", "portable_round", "position_discounts", "register_objective",
]  # fmt: skip

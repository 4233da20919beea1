"""DuAF-MAT, a multimodal sequential ranker robust to missing modalities, and the
baselines built from its parts; one module per part of the paper:
:mod:`.duaf` (fusion), :mod:`.matmoe` (generation), :mod:`.contrastive` (CSCL, VSCL),
:mod:`.model` (the rankers)."""

from .model import (
    ConcatFusion,
    ConcatFusionConfig,
    DuAFMAT,
    DuAFMATConfig,
    MultimodalRanker,
    UniSRecText,
    UniSRecTextConfig,
)

__all__ = ["ConcatFusion", "ConcatFusionConfig", "DuAFMAT", "DuAFMATConfig", "MultimodalRanker",
           "UniSRecText", "UniSRecTextConfig"]  # fmt: skip

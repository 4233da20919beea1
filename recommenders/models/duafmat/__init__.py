"""DuAF-MAT, a multimodal sequential ranker robust to missing modalities, and the
baselines built from its parts.

One module per part of the paper: ``duaf`` (fusion), ``matmoe`` (generation),
``contrastive`` (CSCL, VSCL) and ``model`` (the rankers), with their settings in ``config``.
"""

from .config import ConcatFusionConfig, DuAFMATConfig, UniSRecTextConfig
from .model import ConcatFusion, DuAFMAT, MultimodalRanker, UniSRecText

__all__ = ["ConcatFusion", "ConcatFusionConfig", "DuAFMAT", "DuAFMATConfig", "MultimodalRanker",
           "UniSRecText", "UniSRecTextConfig"]  # fmt: skip

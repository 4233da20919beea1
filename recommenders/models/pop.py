"""Most-popular baseline: every user gets the items with the most training interactions."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..data.interactions import Interactions
from .base import Ranker


@dataclass(frozen=True)
class PopConfig:
    """Settings of ``Pop``: none; the dataclass keeps the interface uniform."""


class _PopNet(torch.nn.Module):
    def __init__(self, counts: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("counts", counts)


class Pop(Ranker):
    """Scores item ``i`` by its number of training interactions, for every user.

    ``fit`` counts the training interactions (no training loop; ``valid`` only joins the
    history that ``topk`` masks); ties in ``topk`` go to the lower item id.

    Parameters
    ----------
    config : PopConfig, optional
        Settings (there are none); ``None`` uses ``PopConfig()``.
    device : str or torch.device, default "auto"
        Where the counts live: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``,
        ``"cuda"``, ``"cuda:1"`` or a ``torch.device``.
    seed : int, default 0
        Unused by Pop; kept for the common interface.
    verbose : bool, default False
        Unused by Pop (it has no training loop to report on).
    **overrides : Any
        Single settings of the config; Pop has none, so any keyword raises ``TypeError``.
    """

    name = "pop"
    config_class = PopConfig

    def _build(self, train: Interactions) -> torch.nn.Module:
        return _PopNet(torch.as_tensor(train.item_counts(), dtype=torch.float32))

    def _fit_direct(self, train: Interactions) -> bool:
        return True

    def _scores(self, users: torch.Tensor) -> torch.Tensor:
        return self.net.counts.unsqueeze(0).expand(users.shape[0], -1)

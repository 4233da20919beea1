"""GRU4Rec: a recurrent next-item model.

Hidasi et al., "Session-based Recommendations with Recurrent Neural Networks", ICLR 2016,
in the form RecBole trains it: item embeddings, dropout, a GRU, a projection back to the
embedding space, and full-softmax cross-entropy over all items (tied output embeddings).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..data.interactions import Interactions
from .sequential import SequentialConfig, SequentialRanker


@dataclass(frozen=True)
class GRU4RecConfig(SequentialConfig):
    embedding: int = 64
    hidden: int = 128
    n_layers: int = 1
    dropout: float = 0.3


class GRU4RecNet(nn.Module):
    def __init__(self, n_items: int, cfg: GRU4RecConfig) -> None:
        super().__init__()
        # PyTorch's default N(0, 1) embedding init: with tied output embeddings a small
        # init (e.g. std 0.02) leaves the logits near zero and training stalls at the
        # uniform loss for many epochs.
        self.item_emb = nn.Embedding(n_items + 1, cfg.embedding, padding_idx=0)
        self.drop = nn.Dropout(cfg.dropout)
        self.gru = nn.GRU(cfg.embedding, cfg.hidden, cfg.n_layers, batch_first=True)
        self.proj = nn.Linear(cfg.hidden, cfg.embedding)

    def item_weights(self) -> torch.Tensor:
        return self.item_emb.weight[1:]

    def encode(self, seq: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(self.drop(self.item_emb(seq)))
        return self.proj(out)


class GRU4Rec(SequentialRanker):
    """GRU4Rec with full-softmax cross-entropy."""

    name = "gru4rec"
    config_class = GRU4RecConfig

    def _build(self, train: Interactions) -> nn.Module:
        return GRU4RecNet(train.n_items, self.config)

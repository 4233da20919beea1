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
    """Settings of ``GRU4Rec``: ``SequentialConfig``'s plus the network's.

    Parameters
    ----------
    embedding : int, default 64
        Size of the item embeddings (input and tied output) and of the projected states.
    hidden : int, default 128
        GRU hidden size.
    n_layers : int, default 1
        Stacked GRU layers.
    dropout : float, default 0.3
        Dropout on the input item embeddings.
    max_len, batch_size, loss, n_negatives, negatives, logq, in_batch : see ``SequentialConfig``
        The windows and the training loss, with ``SequentialConfig``'s defaults.
    epochs, patience, eval_every, lr, weight_decay : see ``TrainConfig``
        The training loop, with ``TrainConfig``'s defaults.
    """

    embedding: int = 64
    hidden: int = 128
    n_layers: int = 1
    dropout: float = 0.3


class GRU4RecNet(nn.Module):
    """GRU4Rec's network: item embeddings, dropout, a GRU and a projection back.

    Parameters
    ----------
    n_items : int
        Catalogue size; the item table has ``n_items + 1`` rows, row 0 for padding.
    cfg : GRU4RecConfig
        ``embedding``, ``hidden``, ``n_layers`` and ``dropout`` are read.
    """

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
        """The output item embeddings, tied to the input ones.

        Returns
        -------
        torch.Tensor
            ``(n_items, embedding)``: the item table without its padding row.
        """
        return self.item_emb.weight[1:]

    def encode(self, seq: torch.Tensor) -> torch.Tensor:
        """The state at every position of item-id windows, projected to ``embedding``.

        Parameters
        ----------
        seq : torch.Tensor
            ``(B, L)`` int64 item ids shifted by one (1-based), 0 padding on the left.

        Returns
        -------
        torch.Tensor
            ``(B, L, embedding)`` float states; position ``t`` depends on the items up
            to ``t`` only.
        """
        out, _ = self.gru(self.drop(self.item_emb(seq)))
        return self.proj(out)


class GRU4Rec(SequentialRanker):
    """GRU4Rec, by default trained with full-softmax cross-entropy.

    Parameters
    ----------
    config : GRU4RecConfig, optional
        The settings; ``None`` uses ``GRU4RecConfig()``.
    device, seed, verbose, **overrides : see ``Ranker``
        The device (default ``"auto"``), the seed of the initialisation, dropout, the
        windows, the batch order and the negatives (default 0), a progress bar (default
        False) and single settings replacing those of ``config`` (``hidden=64``).
    """

    name = "gru4rec"
    config_class = GRU4RecConfig

    def _build(self, train: Interactions) -> nn.Module:
        return GRU4RecNet(train.n_items, self.config)

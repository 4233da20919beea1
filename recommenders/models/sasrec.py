"""SASRec: self-attentive sequential recommendation.

Kang and McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018. Item and
learned position embeddings feed ``n_layers`` causal self-attention blocks (pre-layer-norm,
as in the original); the last position's state scores every item by dot product with the
shared item embeddings.

Defaults: 2 blocks, 2 heads, hidden 64, feed-forward 256, max length 50. The loss is
full-softmax cross-entropy over all items rather than the original paper's one sampled
negative per position: on a 1.7K-item catalogue the full softmax is cheap and gives a
stronger, lower-variance gradient (it is also RecBole's ``loss_type='CE'``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..data.interactions import Interactions
from .sequential import SequentialConfig, SequentialRanker


@dataclass(frozen=True)
class SASRecConfig(SequentialConfig):
    """Settings of ``SASRec``: ``SequentialConfig``'s plus the encoder's.

    Parameters
    ----------
    hidden : int, default 64
        Size of the item and position embeddings and of the states; divisible by
        ``n_heads``.
    n_layers : int, default 2
        Self-attention blocks.
    n_heads : int, default 2
        Attention heads per block.
    inner : int, default 256
        Hidden size of each block's feed-forward layer (GELU).
    dropout : float, default 0.2
        Dropout on the embeddings, the attention output and in the feed-forward layer,
        in ``[0, 1)``.
    attn_dropout : float, default 0.2
        Dropout on the attention weights, in ``[0, 1)``.
    max_len, batch_size, loss, n_negatives, negatives, logq, in_batch : see ``SequentialConfig``
        The windows and the training loss, with ``SequentialConfig``'s defaults.
    epochs, patience, eval_every, lr, weight_decay : see ``TrainConfig``
        The training loop, with ``TrainConfig``'s defaults.
    """

    hidden: int = 64
    n_layers: int = 2
    n_heads: int = 2
    inner: int = 256
    dropout: float = 0.2
    attn_dropout: float = 0.2

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hidden % self.n_heads:
            raise ValueError(f"hidden={self.hidden} must be divisible by n_heads={self.n_heads}")
        for name in ("dropout", "attn_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"SASRecConfig.{name} must be in [0, 1)")


def init_weights(module: nn.Module) -> None:
    """Initialise a module as SASRec does, in place (use with ``nn.Module.apply``).

    Linear and embedding weights are drawn from N(0, 0.02^2), linear biases set to zero
    and an embedding's padding row zeroed; other modules are left as they are.

    Parameters
    ----------
    module : torch.nn.Module
        The module to initialise.
    """
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()


def attention_mask(real: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Attention mask for left-padded sequences: causal attention over real keys.

    Every query may also see itself, so rows of padding never become all-masked (which
    would give NaN).

    Parameters
    ----------
    real : torch.Tensor
        ``(B, L)`` bool, True at real (not padding) positions.
    n_heads : int
        Attention heads; the mask is repeated per head, as
        ``torch.nn.MultiheadAttention`` expects.

    Returns
    -------
    torch.Tensor
        ``(B * n_heads, L, L)`` bool, True where query position ``q`` (row) may not
        attend to key position ``k`` (column).

    Examples
    --------
    >>> import torch
    >>> attention_mask(torch.tensor([[False, True, True]]), n_heads=1)
    tensor([[[False,  True,  True],
             [ True, False,  True],
             [ True, False, False]]])
    """
    length = real.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=real.device).triu(1)
    mask = causal[None] | ~real[:, None, :]
    mask = mask & ~torch.eye(length, dtype=torch.bool, device=real.device)[None]
    return mask.repeat_interleave(n_heads, dim=0)


class _Block(nn.Module):
    def __init__(self, hidden: int, heads: int, inner: int, dropout: float, attn_dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden)
        self.attn = nn.MultiheadAttention(hidden, heads, dropout=attn_dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(hidden)
        self.ffn = nn.Sequential(
            nn.Linear(hidden, inner), nn.GELU(), nn.Dropout(dropout), nn.Linear(inner, hidden)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        a, _ = self.attn(h, h, h, attn_mask=mask, need_weights=False)
        x = x + self.drop(a)
        return x + self.drop(self.ffn(self.norm2(x)))


class SASRecNet(nn.Module):
    """SASRec's network: item and position embeddings and causal self-attention blocks.

    Parameters
    ----------
    n_items : int
        Catalogue size; the item table has ``n_items + 1`` rows, row 0 for padding.
    cfg : SASRecConfig
        ``hidden``, ``n_layers``, ``n_heads``, ``inner``, ``dropout``, ``attn_dropout``
        and ``max_len`` (the positions) are read.

    Examples
    --------
    >>> import torch
    >>> cfg = SASRecConfig(hidden=8, n_heads=2, n_layers=1, max_len=3)
    >>> net = SASRecNet(5, cfg).eval()  # eval: no dropout
    >>> h = net.encode(torch.tensor([[0, 1, 2], [3, 4, 5]]))
    >>> h.shape, (h[:, -1] @ net.item_weights().T).shape  # states; scores of 5 items
    (torch.Size([2, 3, 8]), torch.Size([2, 5]))
    >>> h2 = net.encode(torch.tensor([[0, 1, 4], [3, 4, 5]]))  # a later item changed
    >>> torch.allclose(h[0, :2], h2[0, :2])  # causal: earlier states unchanged
    True
    """

    def __init__(self, n_items: int, cfg: SASRecConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.scale = math.sqrt(cfg.hidden)
        self.item_emb = nn.Embedding(n_items + 1, cfg.hidden, padding_idx=0)
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.hidden)
        self.emb_drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(
            _Block(cfg.hidden, cfg.n_heads, cfg.inner, cfg.dropout, cfg.attn_dropout)
            for _ in range(cfg.n_layers)
        )
        self.final_norm = nn.LayerNorm(cfg.hidden)
        self.apply(init_weights)

    def item_weights(self) -> torch.Tensor:
        """The output item embeddings, tied to the input ones.

        Returns
        -------
        torch.Tensor
            ``(n_items, hidden)``: the item table without its padding row, row ``i`` for
            the 0-based item ``i``.
        """
        return self.item_emb.weight[1:]

    def encode(self, seq: torch.Tensor) -> torch.Tensor:
        """The state at every position of item-id windows.

        Parameters
        ----------
        seq : torch.Tensor
            ``(B, L)`` int64 item ids shifted by one (1-based), 0 padding on the left;
            ``L <= max_len``.

        Returns
        -------
        torch.Tensor
            ``(B, L, hidden)`` float states; position ``t`` depends on the items up to
            ``t`` only.
        """
        bsz, length = seq.shape
        real = seq > 0
        pos = torch.arange(length, device=seq.device)
        x = self.item_emb(seq) * self.scale + self.pos_emb(pos)[None]
        x = self.emb_drop(x) * real[..., None]
        mask = attention_mask(real, self.n_heads)
        for block in self.blocks:
            x = block(x, mask) * real[..., None]
        return self.final_norm(x)


class SASRec(SequentialRanker):
    """SASRec, by default trained with full-softmax cross-entropy; see the module docstring.

    Parameters
    ----------
    config : SASRecConfig, optional
        The settings; ``None`` uses ``SASRecConfig()``.
    device, seed, verbose, **overrides : see ``Ranker``
        The device (default ``"auto"``), the seed of the initialisation, dropout, the
        windows, the batch order and the negatives (default 0), a progress bar (default
        False) and single settings replacing those of ``config`` (``hidden=32``).
    """

    name = "sasrec"
    config_class = SASRecConfig

    def _build(self, train: Interactions) -> nn.Module:
        return SASRecNet(train.n_items, self.config)

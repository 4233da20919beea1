"""LightGCN: linear graph convolution over the user-item graph, trained with BPR.

He et al., "LightGCN: Simplifying and Powering Graph Convolution Network for
Recommendation", SIGIR 2020. E^(l+1) = D^-1/2 A D^-1/2 E^(l) on the bipartite graph;
final embeddings are the mean of layers 0..L; score = <e_u, e_i>.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data.interactions import Interactions
from .base import Ranker, TrainConfig
from .bpr import bpr_epoch, bpr_loss


@dataclass(frozen=True)
class LightGCNConfig(TrainConfig):
    """Settings of ``LightGCN``: ``TrainConfig``'s, some with other defaults, plus the model's.

    Parameters
    ----------
    dim : int, default 64
        Embedding size of users and items (layer 0).
    n_layers : int, default 2
        Propagation layers L; the final embedding averages layers 0..L.
    reg : float, default 1e-4
        L2 weight on the squared norms of the batch's layer-0 embeddings, divided by the
        batch size (added to the mean BPR loss).
    batch_size, epochs, patience : int
        As in ``BPRConfig`` (defaults 2048, 300 and 15).
    lr, weight_decay : float
        Adam's learning rate and weight decay (defaults 1e-3 and 0.0).
    eval_every : int, default 1
        Validate every this many epochs.
    """

    dim: int = 64
    n_layers: int = 2
    batch_size: int = 2048
    lr: float = 1e-3
    reg: float = 1e-4  # L2 on the layer-0 embeddings of each batch, scaled by batch size
    epochs: int = 300
    patience: int = 15


def normalized_adjacency(train: Interactions) -> torch.Tensor:
    """The symmetrically normalised adjacency ``D^-1/2 A D^-1/2`` of the user-item graph.

    Nodes are the users (``0..n_users-1``) then the items (``n_users + i``); an edge joins
    a user and an item they interacted with (repeats merged). Isolated nodes get zeros.

    Parameters
    ----------
    train : Interactions
        The interactions that make the edges.

    Returns
    -------
    torch.Tensor
        Coalesced sparse COO float32 tensor, ``(n_users + n_items, n_users + n_items)``.

    Examples
    --------
    >>> from recommenders.data.interactions import Interactions
    >>> train = Interactions([0, 0, 1], [0, 1, 1], [1, 2, 1], [1, 1, 1], 2, 2)
    >>> normalized_adjacency(train).to_dense()  # users 0, 1 then items 0, 1
    tensor([[0.0000, 0.0000, 0.7071, 0.5000],
            [0.0000, 0.0000, 0.0000, 0.7071],
            [0.7071, 0.0000, 0.0000, 0.0000],
            [0.5000, 0.7071, 0.0000, 0.0000]])
    """
    n_u, n_i = train.n_users, train.n_items
    keys = np.unique(train.keys())
    u, i = keys // n_i, keys % n_i
    rows = np.concatenate([u, i + n_u])
    cols = np.concatenate([i + n_u, u])
    deg = np.bincount(rows, minlength=n_u + n_i).astype(np.float64)
    inv_sqrt = np.zeros_like(deg)
    inv_sqrt[deg > 0] = deg[deg > 0] ** -0.5
    vals = inv_sqrt[rows] * inv_sqrt[cols]
    index = torch.as_tensor(np.stack([rows, cols]), dtype=torch.long)
    # The indices are built here from validated interactions, so the invariant check
    # (an extra pass over them) is switched off explicitly.
    return torch.sparse_coo_tensor(
        index, torch.as_tensor(vals, dtype=torch.float32), (n_u + n_i, n_u + n_i),
        check_invariants=False,
    ).coalesce()  # fmt: skip


class LightGCNNet(torch.nn.Module):
    """One embedding table of users and items and the graph to propagate it on.

    Parameters
    ----------
    train : Interactions
        Gives the id spaces and the graph (``normalized_adjacency``, a non-persistent
        buffer ``adj``).
    dim : int
        Embedding size; the table is initialised N(0, 0.1^2).
    n_layers : int
        Propagation layers.
    """

    def __init__(self, train: Interactions, dim: int, n_layers: int) -> None:
        super().__init__()
        self.n_users, self.n_items, self.n_layers = train.n_users, train.n_items, n_layers
        self.embedding = torch.nn.Embedding(train.n_users + train.n_items, dim)
        torch.nn.init.normal_(self.embedding.weight, std=0.1)
        # Derived from the training data, so not part of the state dict.
        self.register_buffer("adj", normalized_adjacency(train), persistent=False)

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the ``n_layers`` graph convolutions and average the layers.

        Returns
        -------
        users : torch.Tensor
            ``(n_users, dim)`` final user embeddings.
        items : torch.Tensor
            ``(n_items, dim)`` final item embeddings.
        """
        e = self.embedding.weight
        total = e
        for _ in range(self.n_layers):
            e = torch.sparse.mm(self.adj, e)
            total = total + e
        final = total / (self.n_layers + 1)
        return final[: self.n_users], final[self.n_users :]


class LightGCN(Ranker):
    """LightGCN with BPR loss and uniform negative sampling.

    Propagates the embeddings over the training graph (not over the history: the graph
    stays the one the model was fitted on); see the module docstring.

    Parameters
    ----------
    config : LightGCNConfig, optional
        The settings; ``None`` uses ``LightGCNConfig()``.
    device, seed, verbose, **overrides : see ``Ranker``
        The device (default ``"auto"``), the seed of the initialisation, the batch order and
        the negatives (default 0), a progress bar (default False) and single settings
        replacing those of ``config`` (``n_layers=3``).
    """

    name = "lightgcn"
    config_class = LightGCNConfig

    def _build(self, train: Interactions) -> torch.nn.Module:
        return LightGCNNet(train, self.config.dim, self.config.n_layers)

    def _on_history(self) -> None:
        self._cache = None

    def _batch_loss(self, u, i, j) -> tuple[torch.Tensor, torch.Tensor]:
        user_emb, item_emb = self.net.propagate()
        pu, qi, qj = user_emb[u], item_emb[i], item_emb[j]
        ego = self.net.embedding.weight  # LightGCN regularises the layer-0 embeddings
        reg = (
            ego[u].pow(2).sum() + ego[i + self.n_users].pow(2).sum()
            + ego[j + self.n_users].pow(2).sum()
        )  # fmt: skip
        return bpr_loss((pu * qi).sum(-1), (pu * qj).sum(-1)), reg

    def _train_epoch(self, train, optimizer, gen) -> float:
        self._cache = None
        return bpr_epoch(self, train, optimizer, gen, self._batch_loss)

    def _scores(self, users: torch.Tensor) -> torch.Tensor:
        if self.net.training or getattr(self, "_cache", None) is None:
            self._cache = self.net.propagate()
        user_emb, item_emb = self._cache
        return user_emb[users] @ item_emb.T

"""Dual-Aware Adaptive Fusion (DuAF): time- and user-aware weights over modalities.

"Capturing Dynamic User Interests Under Modality Imbalance for Multimodal Sequential
Recommendation", section "Dual-Aware Adaptive Fusion", equations (3)-(8).

* ``TimeEmbedding``: the interval embedding ``W1 log(dt + 1) + b1`` (eq. 4) over the
  gaps between consecutive interactions (eq. 3; the first gap is 0), a learnable
  sinusoidal embedding of the timestamp itself, ``sin(alpha_k t + beta_k)`` and
  ``cos(alpha_k t + beta_k)`` interleaved (eq. 5), and their mix ``W2 [inter; ts] + b2``
  (eq. 6). Units: ``dt`` in hours and ``t`` in days since the training log's first
  interaction (raw Unix seconds would put ``alpha_k t`` at 1e9 and make eq. 5 noise);
  ``alpha_k`` starts at the Transformer's geometric frequencies.
* ``DualAwareFusion``: per position, softmax weights over modalities of
  ``<s_u, tanh(e_i^m + e_i^time)>`` (eq. 7) and the weighted sum of the modality
  embeddings (eq. 8). A modality that is missing for an item (and not generated) is
  excluded from that item's softmax.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class TimeEmbedding(nn.Module):
    """The time embedding of eqs. (3)-(6): interval and timestamp embeddings, mixed.

    Parameters
    ----------
    d : int
        Embedding size; even (sin and cos halves), else ``ValueError``.
    """

    def __init__(self, d: int) -> None:
        super().__init__()
        if d % 2:
            raise ValueError(f"the time embedding needs an even dimension, got {d}")
        self.interval = nn.Linear(1, d)  # eq. (4)
        k = torch.arange(d // 2, dtype=torch.float32)
        self.alpha = nn.Parameter(torch.exp(-math.log(1e4) * 2 * k / d))  # eq. (5)
        self.beta = nn.Parameter(torch.zeros(d // 2))
        self.mix = nn.Linear(2 * d, d)  # eq. (6)

    @staticmethod
    def intervals(days: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Gaps to the previous real position, in hours (eq. 3).

        Parameters
        ----------
        days : torch.Tensor
            ``(B, L)`` float timestamps in days.
        real : torch.Tensor
            ``(B, L)`` bool, True at real (not padding) positions.

        Returns
        -------
        torch.Tensor
            ``(B, L)`` gaps, clamped at 0; 0 at the first real position and on padding.

        Examples
        --------
        >>> import torch
        >>> TimeEmbedding.intervals(torch.tensor([[0.0, 1.0, 2.0, 2.5]]),
        ...                         torch.tensor([[False, True, True, True]]))
        tensor([[ 0.,  0., 24., 12.]])
        """
        gap = torch.zeros_like(days)
        both = real[:, 1:] & real[:, :-1]
        gap[:, 1:] = torch.where(both, (days[:, 1:] - days[:, :-1]).clamp_min(0.0) * 24.0, 0.0)
        return gap

    def forward(self, days: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Embed the times of a batch of sequences.

        Parameters
        ----------
        days : torch.Tensor
            ``(B, L)`` float timestamps in days (relative to a time origin, see the module
            docstring).
        real : torch.Tensor
            ``(B, L)`` bool, True at real (not padding) positions.

        Returns
        -------
        torch.Tensor
            ``(B, L, d)`` time embeddings ``e^time``, zero on padding.
        """
        gap = self.intervals(days, real)
        e_inter = self.interval(torch.log1p(gap)[..., None])
        phase = days[..., None] * self.alpha + self.beta
        e_ts = torch.stack([torch.sin(phase), torch.cos(phase)], dim=-1).flatten(-2)
        return self.mix(torch.cat([e_inter, e_ts], dim=-1)) * real[..., None]


class DualAwareFusion(nn.Module):
    """Weights over M modalities per position (eq. 7) and the fused embedding (eq. 8).

    The fusion has no parameters of its own and takes no arguments.
    """

    def forward(self, e, e_time, s_u, available):
        """Fuse the modality embeddings of every position.

        Parameters
        ----------
        e : torch.Tensor
            ``(B, L, M, d)`` modality embeddings (position embedding added, eq. 2).
        e_time : torch.Tensor
            ``(B, L, d)`` time embeddings.
        s_u : torch.Tensor
            ``(B, L, d)`` the user's state at each position.
        available : torch.Tensor
            ``(B, L, M)`` bool, False where a modality is missing (left out of the softmax).

        Returns
        -------
        h : torch.Tensor
            ``(B, L, d)`` fused embeddings; zero where no modality is available.
        weights : torch.Tensor
            ``(B, L, M)`` softmax weights, zero for missing modalities.

        Examples
        --------
        >>> import torch
        >>> e = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])  # B = L = 1, M = d = 2
        >>> h, w = DualAwareFusion()(e, torch.zeros(1, 1, 2), torch.ones(1, 1, 2),
        ...                          torch.tensor([[[True, False]]]))
        >>> h, w
        (tensor([[[1., 0.]]]), tensor([[[1., 0.]]]))
        """
        logits = (s_u[:, :, None, :] * torch.tanh(e + e_time[:, :, None, :])).sum(-1)
        logits = logits.masked_fill(~available, float("-inf"))
        weights = torch.softmax(logits, dim=-1)
        # Padding rows have no available modality: softmax gives NaN there; zero them.
        weights = torch.nan_to_num(weights, nan=0.0)
        return (weights[..., None] * e).sum(2), weights

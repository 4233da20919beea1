"""Training losses for multi-objective recommendation (torch), one value per user.

* ``bpr_loss``: accuracy (BOOML eq. 3; Rendle et al. 2009).
* ``category_entropy_loss``: diversity, the negative entropy of a user's estimated
  category distribution (BOOML eqs. 5-6).
* ``popularity_fairness_loss``: fairness, the gap between a user's predicted item
  probabilities and the system's average (BOOML eq. 8).
* ``forgetting_penalty``: negative feedback weighted by the Ebbinghaus forgetting
  curve (PMORS eqs. 4-6).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .models.bpr import bpr_loss

__all__ = [
    "bpr_loss", "category_entropy_loss", "forgetting_penalty", "forgetting_weights",
    "popularity_fairness_loss",
]  # fmt: skip


def category_entropy_loss(scores: torch.Tensor, item_genres: torch.Tensor) -> torch.Tensor:
    """Negative entropy of each user's category distribution (minimise to diversify).

    p_il = softmax_l(mean of user i's scores over the items of category l); loss_i =
    sum_l p_il log p_il. BOOML eq. 6 sums the scores over a category's items; we average
    them, because a sum lets the largest categories (Drama holds 725 of ML-100K's 1682
    films) dominate the softmax whatever the user's taste.

    Parameters
    ----------
    scores : torch.Tensor
        ``(B, I)`` item scores of B users.
    item_genres : torch.Tensor
        ``(I, G)`` 0/1 float; items of several categories count in each.

    Returns
    -------
    torch.Tensor
        ``(B,)`` losses in [-log G, 0].

    Raises
    ------
    ValueError
        Shapes that are not ``(B, I)`` and ``(I, G)``.

    Examples
    --------
    Equal category means give the uniform distribution, loss -log 2:

    >>> g = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> category_entropy_loss(torch.tensor([[1.0, 1.0]]), g)
    tensor([-0.6931])
    """
    if scores.ndim != 2 or item_genres.ndim != 2 or scores.shape[1] != item_genres.shape[0]:
        raise ValueError(
            f"scores must be (users, items) and item_genres (items, genres); got "
            f"{tuple(scores.shape)} and {tuple(item_genres.shape)}"
        )
    size = item_genres.sum(dim=0).clamp_min(1.0)
    logp = F.log_softmax((scores @ item_genres) / size, dim=1)
    return (logp.exp() * logp).sum(dim=1)


def popularity_fairness_loss(scores: torch.Tensor, mean: torch.Tensor | None = None):
    """Per-user mean of |sigmoid(score) - mean sigmoid score| over all items (eq. 8).

    Parameters
    ----------
    scores : torch.Tensor
        ``(B, I)`` logits.
    mean : torch.Tensor, optional
        The system's average predicted probability (a scalar tensor); by default that of
        ``scores`` itself (the batch standing in for all users).

    Returns
    -------
    torch.Tensor
        ``(B,)`` losses in [0, 1].

    Examples
    --------
    >>> popularity_fairness_loss(torch.tensor([[0.0, 0.0], [0.0, 0.0]]))
    tensor([0., 0.])
    """
    p = torch.sigmoid(scores)
    centre = p.mean() if mean is None else mean
    return (p - centre).abs().mean(dim=1)


def forgetting_weights(windows: Sequence[float], strength: float = 86400.0) -> np.ndarray:
    """Ebbinghaus memory retention R = exp(-t / S) at the end of each window (PMORS eq. 5).

    Recent windows weigh most.

    Parameters
    ----------
    windows : sequence of float
        1-D positive window lengths in seconds (PMORS: 10 min, 3 h, 1 day, 7 days).
    strength : float, default 86400.0
        S in seconds (one day), positive.

    Returns
    -------
    numpy.ndarray
        ``(len(windows),)`` float64 retention weights in (0, 1).

    Raises
    ------
    ValueError
        Non-positive windows or strength.

    Examples
    --------
    >>> forgetting_weights([600, 86400, 7 * 86400])
    array([0.9931, 0.3679, 0.0009])
    """
    w = np.asarray(windows, dtype=np.float64)
    if w.ndim != 1 or np.any(w <= 0):
        raise ValueError("windows must be positive durations in seconds")
    if strength <= 0:
        raise ValueError("strength must be positive")
    return np.exp(-w / strength)


def forgetting_penalty(
    pre_scores: torch.Tensor, slip_rates: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """PMORS's recency loss (eq. 6): the pre-ranker's top-one probability of each candidate
    (softmax over the impression's candidates), weighted by its negative-feedback rates
    over the time windows and their retention weights, summed over candidates.

    A probability over the candidates rather than a per-item sigmoid makes the penalty
    depend on the ranking only (shifting all of an impression's scores changes nothing),
    so it can be lowered only by ranking penalised candidates lower, as PMORS intends
    ("more penalty on the candidates with higher ranking").

    Parameters
    ----------
    pre_scores : torch.Tensor
        ``(B, C)`` pre-ranking logits of each impression's candidates.
    slip_rates : torch.Tensor
        ``(B, C, W)`` negative-feedback rates per time window.
    weights : torch.Tensor
        ``(W,)`` retention weights (``forgetting_weights``).

    Returns
    -------
    torch.Tensor
        ``(B,)`` penalties.

    Examples
    --------
    Two equally scored candidates, only the first with negative feedback (rate 1):

    >>> forgetting_penalty(torch.zeros(1, 2), torch.tensor([[[1.0], [0.0]]]),
    ...                    torch.tensor([0.5]))
    tensor([0.2500])
    """
    penalty = (slip_rates * weights).sum(dim=-1)
    return (torch.softmax(pre_scores, dim=-1) * penalty).sum(dim=-1)

"""Shared machinery of next-item models (SASRec, GRU4Rec).

Training loss (``loss=``): ``"ce"`` (default), full softmax, the cross-entropy of the next
item over *all* items at every position of a sequence window, the loss RecBole calls
``CE``; ``"sampled"``, sampled softmax over the batch's other targets plus
``n_negatives`` items drawn from a ``"uniform"`` or ``"popularity"`` sampler, with the
log-Q correction (:mod:`recommenders.sampled_softmax`); ``"sampled_weighted"``, the same
with every example weighted by its target item's weight (set with
:meth:`~recommenders.models.base.Ranker.set_item_loss_weights`; the dynamic domain
weights of :mod:`recommenders.domains` update it between epochs). Each user's training
sequence is cut into windows of ``max_len`` inputs; the first window ends at the user's
latest item, later ones step back by ``max_len`` after a random per-epoch overlap, so
every training transition is a target at least once per epoch and window boundaries
move between epochs. Item ids are shifted by one inside the network: 0 is padding.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..data.interactions import Interactions
from .base import Ranker, TrainConfig

IGNORE = -100


LOSSES = ("ce", "sampled", "sampled_weighted")


@dataclass(frozen=True)
class SequentialConfig(TrainConfig):
    max_len: int = 50
    batch_size: int = 128
    loss: str = "ce"
    n_negatives: int = 256
    negatives: str = "uniform"
    logq: bool = True
    in_batch: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.negatives not in ("uniform", "popularity"):
            raise ValueError(f"negatives must be 'uniform' or 'popularity', got {self.negatives!r}")
        if isinstance(self.n_negatives, bool) or self.n_negatives < 0:
            raise ValueError(f"n_negatives must be a non-negative integer, got {self.n_negatives}")
        if self.loss != "ce" and self.n_negatives == 0 and not self.in_batch:
            raise ValueError("a sampled loss needs negatives: n_negatives > 0 or in_batch=True")


def training_windows(
    train: Interactions, max_len: int, rng: np.random.Generator, return_index: bool = False
) -> tuple[np.ndarray, ...]:
    """Input and target windows ``(W, max_len)``: inputs 1-based with 0 padding on the
    left, targets 0-based with ``IGNORE`` where there is no target. ``return_index``
    adds each input's row in ``train`` (0 on padding), to look up its timestamp."""
    counts = train.user_counts()
    users, ends = [], []
    for u in np.flatnonzero(counts >= 2):
        last = int(counts[u]) - 1  # position of the last target in the user's sequence
        overlap = int(rng.integers(0, max_len))
        e = [last]
        nxt = last - max_len + overlap
        while nxt >= 1:
            e.append(nxt)
            nxt -= max_len
        users.extend([u] * len(e))
        ends.extend(e)
    if not users:
        raise ValueError("no user has two or more training interactions to learn from")
    users_a, ends_a = np.asarray(users), np.asarray(ends)
    pos = ends_a[:, None] - np.arange(max_len - 1, -1, -1)[None, :]  # (W, L) target positions
    valid = pos >= 1
    base = train.indptr[users_a][:, None]
    tgt_idx = np.where(valid, base + pos, 0)
    inp_idx = np.where(valid, base + pos - 1, 0)
    targets = np.where(valid, train.items[tgt_idx], IGNORE)
    inputs = np.where(valid, train.items[inp_idx] + 1, 0)
    if return_index:
        return inputs, targets, inp_idx
    return inputs, targets


class SequentialRanker(Ranker):
    """A next-item model: ``net.encode(seq) -> (B, L, d)``; ``net.item_weights() -> (I, d)``."""

    config_class = SequentialConfig

    @abc.abstractmethod
    def _build(self, train: Interactions) -> torch.nn.Module: ...

    def _on_history(self) -> None:
        seq = self.history.padded_sequences(self.config.max_len) + 1  # -1 padding -> 0
        self._seq = torch.as_tensor(seq, device=self.device)

    def _train_epoch(self, train, optimizer, gen) -> float:
        cfg = self.config
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        inputs, targets = training_windows(train, cfg.max_len, rng)
        target_dist = None
        if cfg.loss != "ce":  # what this epoch's in-batch negatives are drawn from
            from ..sampled_softmax import target_probs

            target_dist = target_probs(targets[targets != IGNORE], self.n_items, self.device)
        order = rng.permutation(inputs.shape[0])
        total, n = 0.0, 0
        for start in range(0, order.size, cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            inp = torch.as_tensor(inputs[idx], device=self.device)
            tgt = torch.as_tensor(targets[idx], device=self.device)
            hidden = self.net.encode(inp)
            keep = tgt != IGNORE
            loss = self._loss(hidden[keep], tgt[keep], train, gen, target_dist)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            count = int(keep.sum())
            total += float(loss.detach()) * count
            n += count
        return total / n

    def _loss(self, hidden, targets, train, gen, batch_probs) -> torch.Tensor:
        cfg = self.config
        weights = self.net.item_weights()
        if cfg.loss == "ce":
            return F.cross_entropy(hidden @ weights.T, targets)
        from ..sampled_softmax import NegativeSampler, sampled_softmax_loss

        state = getattr(self, "_sampling", None)
        if state is None or state[0] is not train:
            counts = train.item_counts().astype(np.float64)
            sampler = (NegativeSampler(self.n_items, cfg.negatives, counts, device=self.device)
                       if cfg.n_negatives > 0 else None)  # fmt: skip
            self._sampling = state = (train, sampler)
        _, sampler = state
        example_weights = None
        if cfg.loss == "sampled_weighted":
            item_w = self.item_loss_weights_tensor()
            if item_w is None:
                raise ValueError("loss='sampled_weighted' needs item weights: call "
                                 "set_item_loss_weights(weights) before fit")  # fmt: skip
            example_weights = item_w[targets]
        return sampled_softmax_loss(
            hidden, weights, targets, sampler=sampler, n_negatives=cfg.n_negatives,
            in_batch=cfg.in_batch, batch_probs=batch_probs, logq=cfg.logq,
            weights=example_weights, generator=gen,
        )  # fmt: skip

    def _scores(self, users: torch.Tensor) -> torch.Tensor:
        hidden = self.net.encode(self._seq[users])[:, -1, :]
        return hidden @ self.net.item_weights().T

"""Shared machinery of next-item models (SASRec, GRU4Rec).

Training uses full softmax: cross-entropy of the next item over *all* items at every
position of a sequence window, the loss RecBole calls ``CE``. Each user's training
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


@dataclass(frozen=True)
class SequentialConfig(TrainConfig):
    max_len: int = 50
    batch_size: int = 128


def training_windows(
    train: Interactions, max_len: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Input and target windows ``(W, max_len)``: inputs 1-based with 0 padding on the
    left, targets 0-based with ``IGNORE`` where there is no target."""
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
        order = rng.permutation(inputs.shape[0])
        total, n = 0.0, 0
        for start in range(0, order.size, cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            inp = torch.as_tensor(inputs[idx], device=self.device)
            tgt = torch.as_tensor(targets[idx], device=self.device)
            hidden = self.net.encode(inp)
            keep = tgt != IGNORE
            logits = hidden[keep] @ self.net.item_weights().T
            loss = F.cross_entropy(logits, tgt[keep])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            count = int(keep.sum())
            total += float(loss.detach()) * count
            n += count
        return total / n

    def _scores(self, users: torch.Tensor) -> torch.Tensor:
        hidden = self.net.encode(self._seq[users])[:, -1, :]
        return hidden @ self.net.item_weights().T

"""Shared machinery of next-item models (SASRec, GRU4Rec).

Training loss (``loss=``): ``"ce"`` (default), full softmax, the cross-entropy of the next
item over *all* items at every position of a sequence window, the loss RecBole calls
``CE``; ``"sampled"``, sampled softmax over the batch's other targets plus
``n_negatives`` items drawn from a ``"uniform"`` or ``"popularity"`` sampler, with the
log-Q correction (``recommenders.sampled_softmax``); ``"sampled_weighted"``, the same
with every example weighted by its target item's weight (set with
``Ranker.set_item_loss_weights``; the dynamic domain weights of
``recommenders.domains`` update it between epochs). Each user's training
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
from tqdm.auto import tqdm

from ..data.interactions import Interactions
from .base import Ranker, TrainConfig

IGNORE = -100


LOSSES = ("ce", "sampled", "sampled_weighted")


@dataclass(frozen=True)
class SequentialConfig(TrainConfig):
    """Settings of the next-item models: ``TrainConfig``'s plus windows and loss.

    Parameters
    ----------
    max_len : int, default 50
        Items of history the model reads (training windows and inference).
    batch_size : int, default 128
        Training windows per optimiser step; the loss covers every position.
    loss : {"ce", "sampled", "sampled_weighted"}, default "ce"
        Full-softmax cross-entropy, sampled softmax, or sampled softmax with per-item
        example weights (see the module docstring).
    n_negatives : int, default 256
        Sampled negatives per batch, shared by its rows (sampled losses; >= 0).
    negatives : {"uniform", "popularity"}, default "uniform"
        Proposal the sampled negatives are drawn from (training counts for popularity).
    logq : bool, default True
        Subtract the log of each candidate's expected count from its logit (log-Q).
    in_batch : bool, default True
        Also use the batch's other targets as negatives (sampled losses).
    epochs, patience, eval_every : int
        As in ``TrainConfig`` (defaults 200, 10 and 1).
    lr, weight_decay : float
        As in ``TrainConfig`` (defaults 1e-3 and 0.0).

    Raises
    ------
    ValueError
        For an unknown ``loss`` or ``negatives``, a negative ``n_negatives``, or a sampled
        loss with neither ``n_negatives > 0`` nor ``in_batch``.
    """

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
    """Cut every user's training sequence into input and target windows.

    The first window of a user ends at their latest item; earlier ones step back by
    ``max_len`` after a random overlap, so every transition is a target at least once.
    Users with fewer than two interactions give no window.

    Parameters
    ----------
    train : Interactions
        Training interactions, each user's in time order.
    max_len : int
        Window length L.
    rng : numpy.random.Generator
        Draws each user's overlap in ``[0, max_len)``.
    return_index : bool, default False
        Also return each input's row in ``train`` (0 on padding), to look up its
        timestamp.

    Returns
    -------
    inputs : numpy.ndarray
        ``(W, L)`` int64 item ids shifted by one (1-based), 0 padding on the left.
    targets : numpy.ndarray
        ``(W, L)`` int64 0-based ids of the next item, ``IGNORE`` (-100) where there is
        none.
    index : numpy.ndarray
        ``(W, L)`` int64 rows of ``train``; only with ``return_index``.

    Raises
    ------
    ValueError
        If no user has two or more interactions.

    Examples
    --------
    >>> import numpy as np
    >>> from recommenders.data.interactions import Interactions
    >>> train = Interactions([0, 0, 0, 0, 1], [3, 1, 0, 2, 4], [1, 2, 3, 4, 1],
    ...                      [1, 1, 1, 1, 1], 2, 5)
    >>> inputs, targets = training_windows(train, 3, np.random.default_rng(1))
    >>> inputs  # user 0 read 3, 1, 0, 2; user 1 has one item and no window
    array([[4, 2, 1],
           [0, 0, 4]])
    >>> targets
    array([[   1,    0,    2],
           [-100, -100,    1]])
    """
    counts = train.user_counts()
    learners = np.flatnonzero(counts >= 2)
    if learners.size == 0:
        raise ValueError("no user has two or more training interactions to learn from")
    # Arrays, no Python object per user: a user's windows end at their last target
    # position, then at last - max_len + overlap, stepping back by max_len while >= 1
    # (the overlaps are the same draws, in the same user order, as one draw per user).
    last = counts[learners] - 1
    second = last - max_len + rng.integers(0, max_len, size=learners.size)
    n_windows = 1 + np.where(second >= 1, (second - 1) // max_len + 1, 0)
    within = np.arange(n_windows.sum()) - np.repeat(np.cumsum(n_windows) - n_windows, n_windows)
    users_a = np.repeat(learners, n_windows)
    ends_a = np.where(within == 0, np.repeat(last, n_windows),
                      np.repeat(second, n_windows) - (within - 1) * max_len)  # fmt: skip
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
    """Base class of the next-item models (SASRec, GRU4Rec, the multimodal ones).

    The network provides ``encode(seq) -> (B, L, d)`` states of 1-based item-id windows
    and ``item_weights() -> (n_items, d)`` output embeddings; a user's score of an item
    is the dot product of the last position's state on the history's latest ``max_len``
    items with that item's output embedding.

    Parameters
    ----------
    config : SequentialConfig, optional
        The settings (the subclass's config class); ``None`` uses its defaults.
    device : str or torch.device, default "auto"
        Where the network lives: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``,
        ``"cuda"``, ``"cuda:1"`` or a ``torch.device``.
    seed : int, default 0
        Seeds the initialisation, the windows, the batch order and the negatives.
    verbose : bool, default False
        Show a progress bar of the training epochs.
    **overrides : Any
        Single settings replacing those of ``config`` (``max_len=20``).
    """

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
        batches = range(0, order.size, cfg.batch_size)
        for start in tqdm(batches, desc="batches", disable=not self.verbose, leave=False):
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

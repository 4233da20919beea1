"""BPR-MF: matrix factorisation trained with the Bayesian personalised ranking loss.

Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit Feedback", UAI 2009.
Score s(u, i) = <p_u, q_i>; loss -log sigmoid(s(u, i) - s(u, j)) for an observed pair
(u, i) and an item j drawn uniformly from the items u has not interacted with in training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..data.interactions import Interactions
from .base import Ranker, TrainConfig


@dataclass(frozen=True)
class BPRConfig(TrainConfig):
    """Settings of ``BPRMF``: ``TrainConfig``'s, some with other defaults, plus the model's.

    Parameters
    ----------
    dim : int, default 64
        Embedding size of users and items.
    batch_size : int, default 2048
        (user, positive, negative) triples per optimiser step.
    lr : float, default 1e-3
        Adam's learning rate.
    reg : float, default 1e-4
        L2 weight on the squared norms of the batch's three embeddings, divided by the
        batch size (added to the mean BPR loss).
    epochs : int, default 300
        Most epochs to train; an epoch visits every training interaction once.
    patience : int, default 15
        Validation rounds without a better NDCG@10 before training stops.
    sparse : bool, default False
        Sparse embedding gradients and ``torch.optim.SparseAdam`` (lazy Adam: a step
        updates only the rows of its batch's users and items, and their moments). Dense
        Adam updates both whole tables every step, which at ML-20M size (138k users,
        27k items) costs far more than the batch; the sparse step's cost does not grow
        with the tables. It optimises differently (rows outside a batch keep their moments
        instead of decaying them), so the weights differ from ``sparse=False``'s.
        Needs ``weight_decay == 0`` (``reg`` regularises the batch's rows).
    weight_decay, eval_every : float, int
        As in ``TrainConfig`` (defaults 0.0 and 1).
    """

    dim: int = 64
    batch_size: int = 2048
    lr: float = 1e-3
    reg: float = 1e-4  # L2 on the embeddings of each batch, scaled by batch size
    epochs: int = 300
    patience: int = 15
    sparse: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sparse and self.weight_decay:
            raise ValueError("sparse=True (SparseAdam) has no weight_decay; set weight_decay=0 "
                             "and regularise with reg")  # fmt: skip


def sample_negatives_uniform(
    train: Interactions, users: np.ndarray, rng: np.random.Generator, max_rounds: int = 20
) -> np.ndarray:
    """One item per entry of ``users``, drawn uniformly from that user's unseen items.

    Vectorised rejection sampling: redraw only the rows that hit a seen item, for at most
    ``max_rounds`` rounds; rows still on a seen item after that (users who have seen most
    of the catalogue) are drawn exactly from their user's unseen items.

    Parameters
    ----------
    train : Interactions
        Defines which items each user has seen.
    users : numpy.ndarray of int, shape (n,)
        User ids; repeats draw independently.
    rng : numpy.random.Generator
        Source of randomness.
    max_rounds : int, default 20
        Rejection rounds before the exact fallback.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` int64 item ids, each one the user has not interacted with in ``train``.

    Raises
    ------
    ValueError
        Naming the user, when a user has seen every item.

    Examples
    --------
    >>> import numpy as np
    >>> from recommenders.data.interactions import Interactions
    >>> train = Interactions([0, 0, 1], [0, 1, 2], [1, 2, 1], [1, 1, 1], 2, 3)
    >>> sample_negatives_uniform(train, np.array([0, 0, 0]), np.random.default_rng(0))
    array([2, 2, 2])
    """
    users = np.asarray(users, dtype=np.int64)
    neg = rng.integers(0, train.n_items, size=users.shape[0])
    # Membership by binary search in the log's sorted keys (sorted once per log): memory
    # of the order of ``users``, where numpy.isin sorted users and log together each call.
    bad = train.contains(users, neg)
    for _ in range(max_rounds):
        if not bad.any():
            break
        neg[bad] = rng.integers(0, train.n_items, size=int(bad.sum()))
        rows = np.flatnonzero(bad)
        bad[rows] = train.contains(users[rows], neg[rows])
    if bad.any():
        rows = np.flatnonzero(bad)
        for u in np.unique(users[rows]):
            pool = np.setdiff1d(np.arange(train.n_items), train.user_items(int(u)))
            if pool.size == 0:
                raise ValueError(
                    f"user {int(u)} has interacted with all {train.n_items} items in train, "
                    "so there is no negative to sample for them"
                )
            mine = rows[users[rows] == u]
            neg[mine] = rng.choice(pool, size=mine.size)
    return neg


def bpr_epoch(ranker, train: Interactions, optimizer, gen: torch.Generator, batch_loss) -> float:
    """One epoch of BPR training over shuffled observed pairs with fresh negatives.

    Every training interaction is a positive once, its negative drawn by
    ``sample_negatives_uniform``; each batch's objective is
    ``loss + reg * squared_norm / batch size``.

    Parameters
    ----------
    ranker : Ranker
        The model being trained; its ``config`` supplies ``batch_size`` and ``reg`` and
        its ``device`` receives the batches.
    train : Interactions
        Training interactions.
    optimizer : torch.optim.Optimizer
        Steps once per batch.
    gen : torch.Generator
        Seeds this epoch's order and negatives (one draw from it).
    batch_loss : callable
        ``batch_loss(u, i, j) -> (loss, squared_norm)`` for ``(B,)`` int64 tensors of
        users, positives and negatives: the mean BPR loss and the summed squared norm of
        the embeddings to regularise, both scalar tensors.

    Returns
    -------
    float
        The mean BPR loss over the epoch's examples (without the L2 term).
    """
    cfg = ranker.config
    rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
    order = rng.permutation(len(train))
    users_all, items_all = train.users[order], train.items[order]
    negs_all = sample_negatives_uniform(train, users_all, rng)
    total, n = 0.0, 0
    batches = range(0, len(order), cfg.batch_size)
    for start in tqdm(batches, desc="batches", disable=not ranker.verbose, leave=False):
        sl = slice(start, start + cfg.batch_size)
        u = torch.as_tensor(users_all[sl], device=ranker.device)
        i = torch.as_tensor(items_all[sl], device=ranker.device)
        j = torch.as_tensor(negs_all[sl], device=ranker.device)
        loss, sq_norm = batch_loss(u, i, j)
        optimizer.zero_grad(set_to_none=True)
        (loss + cfg.reg * sq_norm / u.shape[0]).backward()
        optimizer.step()
        total += float(loss.detach()) * u.shape[0]
        n += u.shape[0]
    return total / n


class MFNet(torch.nn.Module):
    """User and item embedding tables of matrix factorisation, initialised N(0, 0.1^2).

    Parameters
    ----------
    n_users, n_items : int
        Rows of the two tables (``user`` and ``item``, ``torch.nn.Embedding``).
    dim : int
        Embedding size.
    sparse : bool, default False
        Sparse gradients of the two tables (for ``torch.optim.SparseAdam``).
    """

    def __init__(self, n_users: int, n_items: int, dim: int, sparse: bool = False) -> None:
        super().__init__()
        self.user = torch.nn.Embedding(n_users, dim, sparse=sparse)
        self.item = torch.nn.Embedding(n_items, dim, sparse=sparse)
        torch.nn.init.normal_(self.user.weight, std=0.1)
        torch.nn.init.normal_(self.item.weight, std=0.1)


def bpr_loss(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """The BPR loss: the mean of ``-log sigmoid(pos - neg)``.

    Parameters
    ----------
    pos, neg : torch.Tensor
        Scores of the positive and the negative item of each pair, same shape.

    Returns
    -------
    torch.Tensor
        A scalar; ``log 2`` where the two scores are equal.

    Examples
    --------
    >>> import torch
    >>> bpr_loss(torch.tensor([0.0, 2.0]), torch.tensor([0.0, 0.0]))
    tensor(0.4100)
    """
    return -F.logsigmoid(pos - neg).mean()


class BPRMF(Ranker):
    """Matrix factorisation with BPR loss and uniform negative sampling.

    Score ``s(u, i) = <p_u, q_i>``; see the module docstring.

    Parameters
    ----------
    config : BPRConfig, optional
        The settings; ``None`` uses ``BPRConfig()``.
    device, seed, verbose, **overrides : see ``Ranker``
        The device (default ``"auto"``), the seed of the initialisation, the batch order and
        the negatives (default 0), a progress bar (default False) and single settings
        replacing those of ``config`` (``dim=32``).
    """

    name = "bpr"
    config_class = BPRConfig

    def _build(self, train: Interactions) -> torch.nn.Module:
        return MFNet(train.n_users, train.n_items, self.config.dim, self.config.sparse)

    def _optimizer(self) -> torch.optim.Optimizer:
        if self.config.sparse:
            return torch.optim.SparseAdam(list(self._trained_parameters()), lr=self.config.lr)
        return super()._optimizer()

    def _embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.user.weight, self.net.item.weight

    def _batch_loss(self, u, i, j) -> tuple[torch.Tensor, torch.Tensor]:
        if self.config.sparse:  # the tables' own lookups, whose gradients are sparse
            pu, qi, qj = self.net.user(u), self.net.item(i), self.net.item(j)
        else:
            user_emb, item_emb = self._embeddings()
            pu, qi, qj = user_emb[u], item_emb[i], item_emb[j]
        reg = pu.pow(2).sum() + qi.pow(2).sum() + qj.pow(2).sum()
        return bpr_loss((pu * qi).sum(-1), (pu * qj).sum(-1)), reg

    def _train_epoch(self, train, optimizer, gen) -> float:
        return bpr_epoch(self, train, optimizer, gen, self._batch_loss)

    def _scores(self, users: torch.Tensor) -> torch.Tensor:
        user_emb, item_emb = self._embeddings()
        return user_emb[users] @ item_emb.T

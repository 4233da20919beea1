"""BOOML's loss-weight search as a pymoo ``Problem``.

BOOML (Uncertain Multi-Objective Recommendation via Orthogonal Meta-Learning Enhanced
Bayesian Optimization) trains an encoder on

    F = f_acc + lambda_g(u) f_div(u) + beta_g(u) f_fair(u)        (eqs. 3, 5, 6, 8, 13)

with per-user-group weights, and searches the weights. Here:

* **groups**: k-means (W = 3 by default) on each user's standardised (log number of
  training items, categories-to-items ratio, mean item popularity);
* **decision variables**: log10 of (lambda_1..W, beta_1..W), in [-2, 1], i.e. weights in
  [0.01, 10], so every solver searches the log scale;
* **objectives** (minimised): -NDCG@K, -ILD@K (genre Jaccard intra-list distance, not
  BOOML's embedding distance, which the encoder itself could inflate) and ARP@K (mean
  training popularity of the recommended items) on the validation stage of a
  chronological 6:2:2 split, all items ranked with training items masked;
* **encoders**: BPR-MF or LightGCN, trained with Adam and early stopping on validation
  ResSum (NDCG + sigmoid(ILD) + sigmoid(1/ARP), BOOML section 4.1.2);
* **warm start** (BOOML section 4.2, Algorithm 1): one parameter vector is shared across
  evaluations. Each evaluation runs at most ``meta_epochs`` meta-epochs from it. A
  meta-epoch shuffles the users that have both a support set (the older 80% of their
  training data) and a query set (the newer 20%) and takes them a group at a time (about
  ``batch_size`` support interactions): an inner step on the group's support
  interactions with the weighted loss (eq. 13), then the per-objective gradients on *the
  same users'* query interactions at the adapted parameters, one per component of the
  weighted loss (f_acc, lambda f_div, beta f_fair: eq. 14 split as in eq. 16), projected
  against each other and summed for the outer update. The projection is BOOML's eq. 17 by
  default (``projection="booml"``: each gradient projected off the original gradients it
  conflicts with, at once); ``projection="pcgrad"`` uses PCGrad's sequential form. We use
  the first-order approximation (the outer gradient is taken at the adapted parameters,
  not through the inner step), one inner step per group rather than per user, and Adam
  for the outer update. Without warm start every evaluation trains from scratch for up to
  ``epochs`` epochs.

``problem.history`` records every evaluation (weights, metrics, epochs used, wall-clock
seconds and gradient passes), so the cost per evaluation with and without warm start can
be compared: a warm-start evaluation is capped at ``meta_epochs`` meta-epochs and a scratch
one at ``epochs`` epochs, so epochs alone mostly restate the caps, and a meta-epoch costs
four gradient passes per group of users where a plain epoch costs one per batch.

Final models: ``LossWeightProblem.fit`` trains from scratch with given weights (or with
MGDA setting the weights of f_acc, f_div and f_fair every step, the gradient method's
answer to the same trade-off) and ``LossWeightProblem.test_metrics`` scores the result
on the test stage, with training and validation items masked. ``booml_job`` (behind
``moopt booml``) runs the whole experiment: BO with and without warm start, then the
test-stage table of the searched weights against fixed ones.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from pymoo.core.problem import Problem

from moopt.cluster import kmeans
from moopt.gradient import mgda_step, pcgrad, project_conflicts
from recommenders import metrics as M
from recommenders.data import Dataset, Interactions, Split, ratio_split
from recommenders.io import dataset_digest, digest
from recommenders.losses import bpr_loss, category_entropy_loss, popularity_fairness_loss
from recommenders.models.base import resolve_device
from recommenders.models.bpr import sample_negatives_uniform
from recommenders.models.lightgcn import normalized_adjacency

PROJECTIONS = ("booml", "pcgrad")


@dataclass(frozen=True)
class LossWeightConfig:
    """Settings of the loss-weight search: BOOML's where given, the rest sized for a CPU.

    Parameters
    ----------
    n_groups : int, default 3
        Number of k-means user groups W; the problem has 2 W decision variables.
    encoder : str, default "mf"
        ``"mf"`` (BPR matrix factorisation) or ``"lightgcn"``.
    dim, n_layers : int, default 32 and 2
        Embedding dimension; LightGCN propagation layers (unused by ``"mf"``).
    k : int, default 20
        Cut-off of NDCG@K, ILD@K and ARP@K.
    lr : float, default 1e-2
        Adam learning rate of training from scratch (no warm start, and ``fit``).
    batch_size : int, default 1024
        Interactions per plain batch; support interactions per meta-task group.
    epochs, patience : int, default 80 and 3
        Most epochs from scratch; early stopping after ``patience`` (meta-)epochs
        without a better validation ResSum.
    warm_start : bool, default True
        Share one meta-trained parameter vector across evaluations (BOOML section 4.2).
    meta_epochs : int, default 5
        Most meta-epochs of a warm-start evaluation (BOOML's 5 for MF).
    inner_lr, outer_lr : float, default 1e-2
        Inner (support-set) SGD step size; Adam rate of the outer (query-set) update.
    query_share : float, default 0.2
        Share in (0, 1) of each user's newest training rows that is query (``support_query``).
    projection : str, default "booml"
        How the outer step resolves conflicting gradients: ``"booml"`` is BOOML's eq.
        17, each projected off the *original* gradients it conflicts with at once
        (``moopt.gradient.project_conflicts``); ``"pcgrad"`` is PCGrad's sequential
        form, in a random order per step (``moopt.gradient.pcgrad``).
    seed : int, default 0
        Seed of the user groups, the initial parameters and the negative sampling.

    Raises
    ------
    ValueError
        For an unknown encoder or projection, a count below 1 or a bad ``query_share``.
    """

    n_groups: int = 3
    encoder: str = "mf"
    dim: int = 32
    n_layers: int = 2
    k: int = 20
    lr: float = 1e-2
    batch_size: int = 1024
    epochs: int = 80
    patience: int = 3
    warm_start: bool = True
    meta_epochs: int = 5
    inner_lr: float = 1e-2
    outer_lr: float = 1e-2
    query_share: float = 0.2
    projection: str = "booml"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.encoder not in ("mf", "lightgcn"):
            raise ValueError(f"encoder must be 'mf' or 'lightgcn', got {self.encoder!r}")
        for name in ("n_groups", "dim", "k", "batch_size", "epochs", "patience", "meta_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if not 0 < self.query_share < 1:
            raise ValueError("query_share must be in (0, 1)")
        if self.projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {PROJECTIONS}, got {self.projection!r}")


def group_features(train: Interactions, item_genres: np.ndarray) -> np.ndarray:
    """Per user: log1p(number of items), categories-to-items ratio, mean item popularity.

    Parameters
    ----------
    train : recommenders.data.Interactions
        Training interactions; popularity is the item's number of them.
    item_genres : numpy.ndarray
        (n_items, n_genres) bool categories.

    Returns
    -------
    numpy.ndarray
        (n_users, 3) float features; 0 for the last two of a user without interactions.
    """
    counts = train.user_counts().astype(np.float64)
    pop = train.item_counts().astype(np.float64)
    cats = np.zeros((train.n_users, item_genres.shape[1]), dtype=bool)
    np.logical_or.at(cats, train.users, item_genres[train.items])
    ratio = np.divide(cats.sum(1), counts, out=np.zeros_like(counts), where=counts > 0)
    mean_pop = np.divide(np.bincount(train.users, pop[train.items], train.n_users), counts,
                         out=np.zeros_like(counts), where=counts > 0)  # fmt: skip
    return np.stack([np.log1p(counts), ratio, mean_pop], axis=1)


def user_groups(train: Interactions, item_genres: np.ndarray, n_groups: int, seed: int = 0):
    """k-means groups of users on their standardised ``group_features``.

    Parameters
    ----------
    train, item_genres : recommenders.data.Interactions and numpy.ndarray
        As for ``group_features``.
    n_groups : int
        Number of groups, 1 to ``train.n_users``.
    seed : int, default 0
        Seed of the k-means restarts.

    Returns
    -------
    numpy.ndarray
        (n_users,) group label in [0, n_groups) of every user.
    """
    X = group_features(train, item_genres)
    X = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)
    labels, _ = kmeans(X, n_groups, seed=seed)
    return labels


def support_query(train: Interactions, query_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Row masks: each user's newer ``query_share`` of training interactions is query.

    Parameters
    ----------
    train : recommenders.data.Interactions
        Training interactions (rows sorted by user, then time).
    query_share : float
        Share in (0, 1); a user's query set is the newest floor(count * share) rows.

    Returns
    -------
    support, query : numpy.ndarray
        (len(train),) bool masks of the support rows and of the query rows.

    Examples
    --------
    >>> from recommenders.data import Interactions
    >>> from problems.loss_weight import support_query
    >>> train = Interactions(users=[0] * 5 + [1] * 2, items=[0, 1, 2, 3, 4, 0, 1],
    ...                      timestamps=[1, 2, 3, 4, 5, 1, 2], ratings=[1] * 7,
    ...                      n_users=2, n_items=5)
    >>> support, query = support_query(train, 0.2)
    >>> query.astype(int)  # user 0's newest row; user 1's 2 rows give floor(0.4) = 0
    array([0, 0, 0, 0, 1, 0, 0])
    """
    counts = train.user_counts()[train.users]
    position = np.arange(len(train)) - train.indptr[train.users]
    query = position >= counts - np.floor(counts * query_share).astype(np.int64)
    return ~query, query


class LossWeightProblem(Problem):
    """Per-group loss weights of a BPR encoder; see the module docstring.

    Decision variables (2 W reals in [-2, 1]): log10 of lambda_1..W (diversity weights)
    then of beta_1..W (fairness weights), i.e. weights in [0.01, 10]. Objectives
    (minimised): -NDCG@K and -ILD@K, each in [-1, 0], and ARP@K >= 0 (mean training count
    of the recommended items), on validation. Each evaluation is a training run, recorded
    in ``history``. A split without validation interactions is a ``ValueError``.

    Parameters
    ----------
    dataset : recommenders.data.Dataset
        Interactions with item genres.
    config : LossWeightConfig or None, default None
        Settings; None means ``LossWeightConfig()``.
    split : recommenders.data.Split or None, default None
        Train, validation and test interactions; None means the chronological 6:2:2
        ``recommenders.data.ratio_split`` of ``dataset.interactions``.
    device : str, default "cpu"
        Torch device (``"cpu"``, ``"cuda"`` or ``"auto"``).
    """

    def __init__(
        self,
        dataset: Dataset,
        config: LossWeightConfig | None = None,
        split: Split | None = None,
        device: str = "cpu",
    ) -> None:
        self.config = cfg = config or LossWeightConfig()
        self.dataset = dataset
        self.split = split or ratio_split(dataset.interactions)
        self.device = resolve_device(device)
        train, valid = self.split.train, self.split.valid
        if len(valid) == 0:
            raise ValueError("the split has no validation interactions to score weights on")
        self.groups = user_groups(train, dataset.item_genres, cfg.n_groups, cfg.seed)
        self.popularity = train.item_counts().astype(np.float64)
        self.history: list[dict] = []
        self._theta: torch.Tensor | None = None
        self._outer_opt_state = None
        self._inputs: dict | None = None
        self._rng = np.random.default_rng(cfg.seed)
        self._grad_passes = 0
        self._support, self._query = support_query(train, cfg.query_share)
        self._genres_t = torch.as_tensor(dataset.item_genres, dtype=torch.float32,
                                         device=self.device)  # fmt: skip
        self._adj = (normalized_adjacency(train).to(self.device) if cfg.encoder == "lightgcn"
                     else None)  # fmt: skip
        w = cfg.n_groups
        super().__init__(n_var=2 * w, n_obj=3, xl=np.full(2 * w, -2.0), xu=np.full(2 * w, 1.0))

    @property
    def objective_names(self) -> tuple[str, str, str]:
        """Names of the columns of F, as the re-ranking problem names its own."""
        k = self.config.k
        return (f"-NDCG@{k}", f"-ILD@{k}", f"ARP@{k}")

    # ------------------------------------------------------------------ parameters

    def weights(self, x) -> tuple[np.ndarray, np.ndarray]:
        """(lambda, beta) per group from a decision vector (log10 weights).

        Parameters
        ----------
        x : array_like
            (2 W,) finite log10 weights (else ``ValueError``), clipped to [-2, 1].

        Returns
        -------
        lam, beta : numpy.ndarray
            (W,) diversity weights 10^x[:W] and fairness weights 10^x[W:].
        """
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.n_var,) or not np.all(np.isfinite(x)):
            raise ValueError(f"x must be {self.n_var} finite log10 weights, got {x}")
        w = 10.0 ** np.clip(x, self.xl, self.xu)
        return w[: self.config.n_groups], w[self.config.n_groups :]

    def _init_theta(self) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.config.seed)
        n = self.dataset.n_users + self.dataset.n_items
        return (torch.randn(n, self.config.dim, generator=gen) * 0.1).to(self.device)

    def _encode(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._adj is not None:
            e, total = theta, theta
            for _ in range(self.config.n_layers):
                e = torch.sparse.mm(self._adj, e)
                total = total + e
            theta = total / (self.config.n_layers + 1)
        return theta[: self.dataset.n_users], theta[self.dataset.n_users :]

    # ------------------------------------------------------------------ losses

    def _losses(self, theta, users, items, negs, lam, beta):
        """(f_acc, weighted f_div, weighted f_fair, raw f_div, raw f_fair) of a batch."""
        user_emb, item_emb = self._encode(theta)
        u, i, j = (torch.as_tensor(a, device=self.device) for a in (users, items, negs))
        pu = user_emb[u]
        acc = bpr_loss((pu * item_emb[i]).sum(-1), (pu * item_emb[j]).sum(-1))
        unique = np.unique(users)
        scores = user_emb[torch.as_tensor(unique, device=self.device)] @ item_emb.T
        div = category_entropy_loss(scores, self._genres_t)
        fair = popularity_fairness_loss(scores)
        g = self.groups[unique]
        lam_t = torch.as_tensor(lam[g], dtype=torch.float32, device=self.device)
        beta_t = torch.as_tensor(beta[g], dtype=torch.float32, device=self.device)
        return acc, (lam_t * div).mean(), (beta_t * fair).mean(), div.mean(), fair.mean()

    def _batches(self, mask: np.ndarray):
        train = self.split.train
        rows = np.flatnonzero(mask)
        rows = rows[self._rng.permutation(rows.size)]
        negs = sample_negatives_uniform(train, train.users[rows], self._rng)
        for start in range(0, rows.size, self.config.batch_size):
            sl = slice(start, start + self.config.batch_size)
            yield train.users[rows[sl]], train.items[rows[sl]], negs[sl]

    # ------------------------------------------------------------------ validation

    def validation_metrics(self, theta: torch.Tensor) -> dict[str, float]:
        """NDCG@K, ILD@K, ARP@K and ResSum on the validation stage (training items masked).

        Parameters
        ----------
        theta : torch.Tensor
            (n_users + n_items, dim) parameters, user rows first (LightGCN: layer 0).

        Returns
        -------
        dict of str to float
            ``NDCG``, ``ILD``, ``ARP``, ``ResSum`` (NDCG + sigmoid(ILD) + sigmoid(1/ARP)).
        """
        return self._stage_metrics(theta, self.split.valid, self.split.train)

    def test_metrics(self, theta: torch.Tensor) -> dict[str, float]:
        """NDCG@K, ILD@K, ARP@K and ResSum on the test stage (train and valid items masked).

        A split without test interactions is a ``ValueError``.

        Parameters
        ----------
        theta : torch.Tensor
            (n_users + n_items, dim) parameters, e.g. from ``fit``.

        Returns
        -------
        dict of str to float
            ``NDCG``, ``ILD``, ``ARP`` and ``ResSum``, means over the test users.
        """
        if len(self.split.test) == 0:
            raise ValueError("the split has no test interactions")
        return self._stage_metrics(theta, self.split.test,
                                   self.split.train.concat(self.split.valid))  # fmt: skip

    @torch.no_grad()
    def _stage_metrics(self, theta, stage: Interactions, seen: Interactions) -> dict[str, float]:
        k = self.config.k
        user_emb, item_emb = self._encode(theta)
        users = np.unique(stage.users)
        scores = (user_emb[torch.as_tensor(users, device=self.device)] @ item_emb.T).cpu().numpy()
        seen_rows = np.isin(seen.users, users)
        row_of = np.full(seen.n_users, -1)
        row_of[users] = np.arange(users.size)
        scores[row_of[seen.users[seen_rows]], seen.items[seen_rows]] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        hit, n_rel = M.hit_matrix(top, users, stage.users, stage.items, seen.n_items)
        ndcg = float(M.ndcg(hit, n_rel, k).mean())
        ild = float(M.ild(top, self.dataset.item_genres).mean())
        arp = float(M.arp(top, self.popularity).mean())
        return {"NDCG": ndcg, "ILD": ild, "ARP": arp, "ResSum": float(M.res_sum(ndcg, ild, arp))}

    # ------------------------------------------------------------------ training

    def _train_scratch(self, run_epoch):
        """Fresh parameters, Adam, up to ``epochs`` calls of ``run_epoch(theta, opt)``."""
        theta = self._init_theta().requires_grad_(True)
        opt = torch.optim.Adam([theta], lr=self.config.lr)
        return self._loop(theta, self.config.epochs, lambda: run_epoch(theta, opt))

    def _plain_epoch(self, theta, opt, lam, beta) -> None:
        for users, items, negs in self._batches(np.ones(len(self.split.train), bool)):
            acc, wdiv, wfair, _, _ = self._losses(theta, users, items, negs, lam, beta)
            opt.zero_grad(set_to_none=True)
            (acc + wdiv + wfair).backward()
            opt.step()
            self._grad_passes += 1

    def _train_meta(self, lam, beta):
        cfg = self.config
        if self._theta is None:
            self._theta = self._init_theta()
        theta = self._theta.clone().requires_grad_(True)
        opt = torch.optim.Adam([theta], lr=cfg.outer_lr)
        if self._outer_opt_state is not None:
            opt.load_state_dict(self._outer_opt_state)
        result = self._loop(theta, cfg.meta_epochs,
                            lambda: self._meta_epoch(theta, opt, lam, beta))  # fmt: skip
        self._theta = result[0].detach().clone()
        self._outer_opt_state = opt.state_dict()
        return result

    def _meta_batches(self):
        """Meta-tasks of one meta-epoch: ``(support batch, query batch)`` pairs over the same
        users, each batch ``(users, items, negatives)``. Users with both a support and a
        query set are shuffled and packed into groups of about ``batch_size`` support
        interactions; a group's support batch holds those users' support interactions and
        its query batch their query interactions (BOOML Algorithm 1: user i adapts on S_i
        and is evaluated on Q_i). Users without a query set have no meta-loss and sit out.
        """
        train = self.split.train
        n_users = train.n_users
        sup_rows, q_rows = np.flatnonzero(self._support), np.flatnonzero(self._query)
        sup_count = np.bincount(train.users[sup_rows], minlength=n_users)
        has_query = np.bincount(train.users[q_rows], minlength=n_users) > 0
        users = np.flatnonzero((sup_count > 0) & has_query)
        if users.size == 0:
            raise ValueError("no user has both support and query interactions; lower "
                             "query_share or use a longer training stage")  # fmt: skip
        users = users[self._rng.permutation(users.size)]
        starts = np.concatenate([[0], np.cumsum(sup_count[users])[:-1]])
        group = np.full(n_users, -1, dtype=np.int64)
        group[users] = starts // self.config.batch_size
        n_groups = int(group.max()) + 1
        pairs = []
        for rows in (sup_rows, q_rows):
            g = group[train.users[rows]]
            rows, g = rows[g >= 0], g[g >= 0]
            order = np.argsort(g, kind="stable")
            rows, g = rows[order], g[order]
            negs = sample_negatives_uniform(train, train.users[rows], self._rng)
            bounds = np.searchsorted(g, np.arange(n_groups + 1))
            pairs.append([(train.users[rows[a:b]], train.items[rows[a:b]], negs[a:b])
                          for a, b in zip(bounds[:-1], bounds[1:], strict=True)])  # fmt: skip
        return list(zip(*pairs, strict=True))

    def _project(self, G: torch.Tensor) -> torch.Tensor:
        if self.config.projection == "booml":
            return project_conflicts(G)
        return pcgrad(G, seed=self._rng)

    def _meta_epoch(self, theta, opt, lam, beta) -> None:
        cfg = self.config
        for (users, items, negs), (qu, qi, qn) in self._meta_batches():
            # Inner step on the users' support sets (eq. 13).
            acc, wdiv, wfair, _, _ = self._losses(theta, users, items, negs, lam, beta)
            (grad,) = torch.autograd.grad(acc + wdiv + wfair, theta)
            adapted = (theta - cfg.inner_lr * grad).detach().requires_grad_(True)
            # The components of the same users' meta-loss on their query sets (eq. 14),
            # one gradient each (eq. 16), projected (eq. 17) and summed for the outer step.
            q_acc, q_div, q_fair, _, _ = self._losses(adapted, qu, qi, qn, lam, beta)
            grads = [torch.autograd.grad(f, adapted, retain_graph=True)[0].reshape(-1)
                     for f in (q_acc, q_div, q_fair)]  # fmt: skip
            projected = self._project(torch.stack(grads))
            opt.zero_grad(set_to_none=True)
            theta.grad = projected.sum(dim=0).reshape(theta.shape)
            opt.step()
            self._grad_passes += 1 + len(grads)

    def _loop(self, theta, max_epochs, run_epoch):
        """Epochs with early stopping on validation ResSum; returns the best parameters,
        their metrics and the epochs run."""
        best, best_theta, stale, epochs = -np.inf, theta.detach().clone(), 0, 0
        best_metrics = self.validation_metrics(theta.detach())
        for _ in range(max_epochs):
            run_epoch()
            epochs += 1
            m = self.validation_metrics(theta.detach())
            if not np.isfinite(m["ResSum"]):
                raise FloatingPointError("training diverged (non-finite validation metrics)")
            if m["ResSum"] > best:
                best, best_theta, best_metrics, stale = m["ResSum"], theta.detach().clone(), m, 0
            else:
                stale += 1
                if stale >= self.config.patience:
                    break
        return best_theta, best_metrics, epochs

    def train_and_score(self, x) -> dict:
        """Train with the weights of ``x``, score on validation, append to ``history``.

        Parameters
        ----------
        x : array_like
            (2 W,) log10 weights (``weights``).

        Returns
        -------
        dict
            ``lambda``, ``beta``, the best validation ``NDCG``, ``ILD``, ``ARP``, ``ResSum``,
            ``epochs``, ``seconds`` and ``gradient_passes`` (backward passes of one loss
            through the encoder: one per batch of a plain epoch; four per meta-task group
            of a meta-epoch, the inner step and f_acc, f_div, f_fair on the query sets).
        """
        lam, beta = self.weights(x)
        t0 = time.perf_counter()
        self._grad_passes = 0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed + len(self.history))
            if self.config.warm_start:
                _, metrics, epochs = self._train_meta(lam, beta)
            else:
                _, metrics, epochs = self._train_scratch(
                    lambda theta, opt: self._plain_epoch(theta, opt, lam, beta)
                )
        record = {"lambda": lam.tolist(), "beta": beta.tolist(), **metrics, "epochs": epochs,
                  "seconds": time.perf_counter() - t0,
                  "gradient_passes": self._grad_passes}  # fmt: skip
        self.history.append(record)
        return record

    def fit(self, x=None, mgda: str | None = None) -> tuple[torch.Tensor, dict]:
        """Train a final model from scratch (not recorded in ``history``).

        Parameters
        ----------
        x : array_like or None, default None
            (2 W,) log10 weights; None means all weights 1. Ignored with ``mgda``.
        mgda : str or None, default None
            A gradient normalisation (``"none"``, ``"l2"``, ``"loss"``, ``"loss+"``): the
            weights of (f_acc, f_div, f_fair) are MGDA's min-norm ones, every step.

        Returns
        -------
        theta : torch.Tensor
            The best parameters (n_users + n_items, dim).
        record : dict
            ``lambda`` and ``beta`` (or, with ``mgda``, ``mgda_weights``: their mean over
            the last epoch), the validation metrics, ``epochs``, ``seconds`` and
            ``gradient_passes``.
        """
        cfg = self.config
        lam, beta = self.weights(np.zeros(self.n_var) if x is None else x)
        t0 = time.perf_counter()
        self._grad_passes = 0
        # A fit depends on its arguments only, not on the searches run before it.
        search_rng, self._rng = self._rng, np.random.default_rng(cfg.seed)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(cfg.seed)
                if mgda is None:
                    theta, metrics, epochs = self._train_scratch(
                        lambda theta, opt: self._plain_epoch(theta, opt, lam, beta)
                    )
                    record = {"lambda": lam.tolist(), "beta": beta.tolist()}
                else:
                    seen: list[np.ndarray] = []
                    theta, metrics, epochs = self._train_scratch(
                        lambda theta, opt: seen.append(self._mgda_epoch(theta, opt, mgda))
                    )
                    record = {"mgda_weights": seen[-1].tolist()}
        finally:
            self._rng = search_rng
        record.update(metrics, epochs=epochs, seconds=time.perf_counter() - t0,
                      gradient_passes=self._grad_passes)  # fmt: skip
        return theta, record

    def _mgda_epoch(self, theta, opt, normalization: str) -> np.ndarray:
        ones = np.ones(self.config.n_groups)
        total, steps = np.zeros(3), 0
        for users, items, negs in self._batches(np.ones(len(self.split.train), bool)):
            acc, _, _, div, fair = self._losses(theta, users, items, negs, ones, ones)
            w, combined = mgda_step([acc, div, fair], shared_params=[theta],
                                    normalization=normalization)  # fmt: skip
            opt.zero_grad(set_to_none=True)
            combined.backward()
            opt.step()
            self._grad_passes += 3 + 1  # one gradient per objective, then the backward pass
            total += w.detach().cpu().numpy()
            steps += 1
        return total / max(steps, 1)

    # ------------------------------------------------------------------ resume

    def inputs(self) -> dict:
        """What every evaluation depends on besides the weights (saved with the state).

        Returns
        -------
        dict
            ``config`` (the settings), ``data`` (``recommenders.io.dataset_digest`` of the
            interactions and item genres) and ``split`` (``recommenders.io.digest`` of the
            sizes and the train, validation and test interactions).
        """
        if self._inputs is None:
            s = self.split
            arrays = [a for part in (s.train, s.valid, s.test)
                      for a in (part.users, part.items, part.timestamps, part.ratings)]  # fmt: skip
            self._inputs = {"config": asdict(self.config), "data": dataset_digest(self.dataset),
                            "split": digest(np.array([s.n_users, s.n_items]), *arrays)}  # fmt: skip
        return self._inputs

    def state_dict(self) -> dict:
        """What a resumed search needs.

        Returns
        -------
        dict
            ``theta`` (the meta-learned initialisation on the CPU, or None before the first
            warm-start evaluation), ``outer_opt_state``, ``history`` and ``rng`` (the
            sampling generator's state), plus the ``inputs`` they were computed on.
        """
        return {"theta": None if self._theta is None else self._theta.cpu(),
                "outer_opt_state": self._outer_opt_state, "history": self.history,
                "rng": self._rng.bit_generator.state, **self.inputs()}  # fmt: skip

    def state_mismatch(self, state: dict) -> list[str]:
        """How a saved state's inputs differ from this problem's ``inputs``.

        Parameters
        ----------
        state : dict
            A ``state_dict`` as saved.

        Returns
        -------
        list of str
            One line per setting, dataset or split that differs; empty when they agree.
            A state without recorded data and split always differs.
        """
        now, lines = self.inputs(), []
        saved_cfg = state.get("config") or {}
        for key in sorted(set(saved_cfg) | set(now["config"])):
            a, b = saved_cfg.get(key, "(not recorded)"), now["config"].get(key, "(not set)")
            if a != b:
                lines.append(f"config.{key}: saved {a!r}, this run {b!r}")
        for key, what in (("data", "dataset"), ("split", "split")):
            saved = state.get(key)
            if saved != now[key]:
                shown = "(not recorded)" if saved is None else f"digest {saved[:12]}"
                lines.append(f"{key}: saved {shown}, this run digest {now[key][:12]} "
                             f"(another {what})")  # fmt: skip
        return lines

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict``.

        Parameters
        ----------
        state : dict
            A ``state_dict`` saved for the same ``inputs``.

        Raises
        ------
        ValueError
            Naming what differs, when the state was saved for other inputs
            (``state_mismatch``).
        """
        differ = self.state_mismatch(state)
        if differ:
            raise ValueError("the saved state was written for other inputs ("
                             + "; ".join(differ) + "); use a new output folder or delete "
                             "the saved state")  # fmt: skip
        theta = state["theta"]
        self._theta = None if theta is None else theta.to(self.device)
        self._outer_opt_state = state["outer_opt_state"]
        self.history = list(state["history"])
        self._rng.bit_generator.state = state["rng"]

    def _evaluate(self, X, out, *args, **kwargs):
        F = []
        for x in np.atleast_2d(X):
            r = self.train_and_score(x)
            F.append([-r["NDCG"], -r["ILD"], r["ARP"]])
        out["F"] = np.array(F)

    def describe(self) -> dict:
        """The settings and the user groups' sizes, for a run's record.

        Returns
        -------
        dict
            ``config`` (the settings as a dict) and ``group_sizes`` (users per group).
        """
        return {"config": asdict(self.config), "group_sizes": np.bincount(self.groups).tolist()}

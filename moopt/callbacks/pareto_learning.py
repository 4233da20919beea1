"""The Pareto-learning network of PreferRec (sections 4.2.1-4.2.3): a three-layer MLP
that learns, across users, which candidates Pareto-optimal lists contain under each
preference.

Training data (eqs. 9-10): each user's population is sorted by accuracy and split into
``n_clusters`` equal preference clusters. In cluster c an item's frequency is the share
of the cluster's lists holding it, and its soft label is the softmax of the frequencies
over the items present in the cluster (0 for absent candidates, of which as many are
sampled as there are present items). The network reads (eq. 11) an item representation,
the cluster index (one-hot) and a learned user embedding, and is trained with binary
cross-entropy on the soft labels (eq. 12).

Item representation (eq. 8 and what re-ranking adds): the item's categories (multi-hot)
or, when ``inputs.extras["item_embeddings"]`` holds (items, d) text embeddings, those;
normalised log popularity; its novelty; its *diversity contribution*, the share of its
categories that the user's top-K-by-score list does not cover; and the user's relevance
of it (min-max normalised score and rank). The paper's inputs hold no relevance signal,
but without one the network cannot know which lists are accurate for a user, so we add
it and say so here.

Proposals (section 4.2.4): for every user and cluster the network scores all candidates
and the top-K by score, in that order, is the cluster's knowledge list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numba import njit
from torch import nn

from .._topk import top_k_rows
from .._torch import deterministic, resolve_device
from ..objectives import RerankInputs, item_novelty


@dataclass(frozen=True)
class ParetoLearnerConfig:
    """Settings of the Pareto-learning network (validated on construction).

    PreferRec's settings where it gives them (3-layer MLP, Adam 1e-3, BCE, 5 preference
    clusters from its grid {2, 5, 10}); batch 1024 and 3 epochs per transfer (the model
    stays warm between transfers) instead of batch 256 and 10 epochs, which keeps a CPU
    transfer for 943 users near 1.5 s. Larger batches train faster and transfer less
    (measured on 943 synthetic users: HV 8.445 at these settings, 8.424 at batch 2048 and
    2 epochs with lr 3e-3, 8.349 without transfer).

    Parameters
    ----------
    n_clusters : int, default 5
        Preference clusters C each population is split into (>= 1).
    hidden : int, default 64
        Width of the two hidden layers (>= 1).
    user_dim : int, default 16
        Size of the learned user embedding (>= 1).
    lr : float, default 1e-3
        Adam learning rate (> 0).
    batch_size : int, default 1024
        Training batch size (>= 1).
    epochs : int, default 3
        Epochs per transfer (>= 1).
    negative_ratio : float, default 1.0
        Absent candidates sampled per present one, per user and cluster (>= 0).
    max_samples : int, optional
        Cap on the training occurrences per transfer (a random subset, >= 1), bounding a
        transfer's cost; None: no cap.
    accuracy_objective : str, default "accuracy"
        Objective the populations are sorted by into clusters (the first objective when
        the run has none of that name).
    embedding_key : str, default "item_embeddings"
        Key of ``inputs.extras`` holding (items, d) item embeddings used instead of the
        categories, when present.
    device : str, default "auto"
        Torch device: ``"auto"`` (CUDA when available, else the CPU), ``"cpu"``,
        ``"cuda:0"``, ...
    seed : int, default 0
        Seed of the initialisation, the sampling and the batch order.
    """

    n_clusters: int = 5
    hidden: int = 64
    user_dim: int = 16
    lr: float = 1e-3
    batch_size: int = 1024
    epochs: int = 3
    negative_ratio: float = 1.0
    max_samples: int | None = None
    accuracy_objective: str = "accuracy"
    embedding_key: str = "item_embeddings"
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_clusters", "hidden", "user_dim", "batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.negative_ratio < 0:
            raise ValueError("lr must be > 0 and negative_ratio >= 0")
        if self.max_samples is not None and self.max_samples < 1:
            raise ValueError(f"max_samples must be >= 1 or None, got {self.max_samples}")


class ParetoMLP(nn.Module):
    """The network: three linear layers over [item features, one-hot cluster, user embedding].

    Parameters
    ----------
    n_features : int
        Item features F per candidate (see ``item_features``).
    n_clusters : int
        Preference clusters C (the one-hot width).
    n_users : int
        Rows of the user embedding (``grow_users`` adds more).
    cfg : ParetoLearnerConfig
        Supplies ``hidden`` and ``user_dim``.
    """

    def __init__(self, n_features: int, n_clusters: int, n_users: int, cfg: ParetoLearnerConfig):
        super().__init__()
        self.n_clusters = n_clusters
        self.user = nn.Embedding(n_users, cfg.user_dim)
        nn.init.normal_(self.user.weight, std=0.1)
        self.mlp = nn.Sequential(
            nn.Linear(n_features + n_clusters + cfg.user_dim, cfg.hidden), nn.ReLU(),
            nn.Linear(cfg.hidden, cfg.hidden), nn.ReLU(),
            nn.Linear(cfg.hidden, 1),
        )  # fmt: skip

    def grow_users(self, n_users: int) -> None:
        """Make room for more users, keeping the learned embeddings (new rows ~ N(0, 0.1^2)).

        Parameters
        ----------
        n_users : int
            Rows wanted; nothing changes when the embedding already has as many.
        """
        old = self.user.weight.data
        if n_users <= old.shape[0]:
            return
        fresh = torch.randn(n_users - old.shape[0], old.shape[1], device=old.device) * 0.1
        self.user = nn.Embedding.from_pretrained(torch.cat([old, fresh]), freeze=False)

    def forward(self, feats: torch.Tensor, cluster: torch.Tensor, user: torch.Tensor):
        """Score candidates under one cluster each.

        Parameters
        ----------
        feats : torch.Tensor, shape (..., F)
            Item features.
        cluster : torch.Tensor, shape (...)
            Cluster index of each row, in ``0 .. C - 1``.
        user : torch.Tensor, shape (...)
            User embedding row of each row.

        Returns
        -------
        torch.Tensor, shape (...)
            Logits of inclusion in the cluster's Pareto-optimal lists (sigmoid: probability).
        """
        onehot = nn.functional.one_hot(cluster, self.n_clusters).to(feats.dtype)
        return self.mlp(self._input(feats, onehot, user)).squeeze(-1)

    def _input(self, feats, onehot, user):
        """The network's input: [item features, one-hot cluster, user embedding]."""
        return torch.cat([feats, onehot, self.user(user)], dim=-1)

    def all_clusters(self, feats: torch.Tensor, user: torch.Tensor) -> torch.Tensor:
        """Run ``forward`` under every cluster at once.

        The input is concatenated once; only its one-hot block changes between clusters.

        Parameters
        ----------
        feats : torch.Tensor, shape (U, N, F)
            Item features of every user's candidates.
        user : torch.Tensor, shape (U, N)
            User embedding row of each candidate.

        Returns
        -------
        torch.Tensor, shape (U, C, N)
            Logits of every candidate under every cluster.
        """
        u, n, f = feats.shape
        c_n = self.n_clusters
        x = self._input(feats, feats.new_zeros((u, n, c_n)), user)
        out = feats.new_empty((u, c_n, n))
        for c in range(c_n):
            x[..., f : f + c_n] = 0
            x[..., f + c] = 1
            out[:, c] = self.mlp(x).squeeze(-1)
        return out


def item_features(inputs: RerankInputs, embedding_key: str = "item_embeddings") -> np.ndarray:
    """Return the features of every (user, candidate); see the module docstring.

    Parameters
    ----------
    inputs : RerankInputs
        Validated inputs.
    embedding_key : str, default "item_embeddings"
        Key of ``inputs.extras`` holding (items, d) embeddings used instead of the item's
        categories, when present.

    Returns
    -------
    numpy.ndarray, shape (U, N, d + 5), float32
        The categories (or embedding), normalised log popularity, novelty, diversity
        contribution, min-max normalised score and normalised rank (1 = best).

    Raises
    ------
    ValueError
        If the embeddings are not (items, d) over the catalogue.
    """
    cands = inputs.candidates
    u, n = cands.shape
    emb = inputs.extras.get(embedding_key)
    if emb is not None:
        emb = np.asarray(emb, dtype=np.float64)
        if emb.ndim != 2 or emb.shape[0] != inputs.item_popularity.shape[0]:
            raise ValueError(
                f"extras[{embedding_key!r}] must be (items, d) over the catalogue, got {emb.shape}"
            )
        semantic = emb.astype(np.float32)  # gathered per candidate below
    else:
        semantic = inputs.item_genres
    d = semantic.shape[1]
    # Written into one float32 array (each value rounded once, as a float64 build then
    # cast would): building it in float64 and casting costs more than all the rest.
    out = np.empty((u, n, d + 5), dtype=np.float32)
    genres = inputs.item_genres[cands]  # (U, N, G), gathered once
    out[..., :d] = genres if emb is None else semantic[cands]
    pop = inputs.item_popularity
    logpop = np.log1p(pop) / max(np.log1p(pop.max()), 1e-12)
    out[..., d] = logpop[cands]
    out[..., d + 1] = item_novelty(pop)[cands]
    # Diversity contribution: share of the item's categories the top-K list lacks.
    order = np.argsort(-inputs.scores, axis=1, kind="stable")
    if inputs.item_genres.shape[1]:
        g = genres
        covered = np.take_along_axis(g, order[:, : inputs.k, None], axis=1).any(axis=1)
        n_cat = np.count_nonzero(g, axis=2)
        new = np.count_nonzero(g & ~covered[:, None, :], axis=2)
        out[..., d + 2] = np.divide(new, n_cat, out=np.zeros((u, n)), where=n_cat > 0)
    else:
        out[..., d + 2] = 0.0
    s = inputs.scores
    span = s.max(axis=1, keepdims=True) - s.min(axis=1, keepdims=True)
    out[..., d + 3] = np.divide(s - s.min(axis=1, keepdims=True), span, out=np.zeros_like(s),
                                where=span > 0)  # fmt: skip
    rank = np.empty((u, n))
    np.put_along_axis(rank, order, np.arange(n) / max(n - 1, 1), axis=1)
    out[..., d + 4] = 1.0 - rank
    return out


@njit(cache=True)
def _cluster_counts(positions, cluster, n_clusters, n_candidates):
    """counts (U, C, N): the lists of cluster c holding candidate n (a list repeating a
    candidate counts it once); sizes (U, C): the lists in each cluster."""
    u, p, k = positions.shape
    counts = np.zeros((u, n_clusters, n_candidates))
    sizes = np.zeros((u, n_clusters))
    seen = np.full(n_candidates, -1, dtype=np.int64)
    stamp = 0
    for a in range(u):
        for b in range(p):
            c = cluster[a, b]
            sizes[a, c] += 1.0
            for j in range(k):
                n = positions[a, b, j]
                if seen[n] != stamp:
                    seen[n] = stamp
                    counts[a, c, n] += 1.0
            stamp += 1
    return counts, sizes


def soft_labels(
    positions: np.ndarray, accuracy: np.ndarray, n_candidates: int, n_clusters: int
) -> tuple[np.ndarray, np.ndarray]:
    """Soft labels of eqs. 9-10 for every (user, cluster, candidate).

    Parameters
    ----------
    positions : numpy.ndarray, shape (U, P, K)
        The populations' lists, candidate positions in [0, N).
    accuracy : numpy.ndarray, shape (U, P)
        The value the lists are sorted by (descending) into clusters.
    n_candidates : int
        N.
    n_clusters : int
        C, the number of equal-sized clusters.

    Returns
    -------
    labels : numpy.ndarray, shape (U, C, N)
        Softmax of the in-cluster frequencies over the present candidates (0 elsewhere).
    present : numpy.ndarray, shape (U, C, N), bool
        Whether a list of the cluster holds the candidate.

    Raises
    ------
    ValueError
        If a position lies outside [0, N).
    """
    u, p, _ = positions.shape
    if positions.size and (positions.min() < 0 or positions.max() >= n_candidates):
        raise ValueError(f"positions must lie in [0, {n_candidates}) (n_candidates), got "
                         f"{positions.min()}..{positions.max()}")  # fmt: skip
    order = np.argsort(-accuracy, axis=1, kind="stable")
    cluster = np.empty((u, p), dtype=np.int64)
    for c, chunk in enumerate(np.array_split(np.arange(p), n_clusters)):
        np.put_along_axis(cluster, order[:, chunk], c, axis=1)
    counts, sizes = _cluster_counts(np.ascontiguousarray(positions, dtype=np.int64), cluster,
                                    n_clusters, n_candidates)  # fmt: skip
    sizes = sizes[..., None]  # (U, C, 1)
    freq = np.divide(counts, sizes, out=np.zeros_like(counts), where=sizes > 0)
    present = counts > 0
    expf = np.where(present, np.exp(freq), 0.0)
    total = expf.sum(axis=2, keepdims=True)
    labels = np.divide(expf, total, out=np.zeros_like(expf), where=total > 0)
    return labels, present


class ParetoLearner:
    """Trains the Pareto-learning network on populations and proposes knowledge lists.

    User rows are addressed by ``users`` (global indices), so one learner can be fed by
    the batch engine (all users at once) or by pymoo runs one user at a time. ``losses``
    holds the loss of every training.

    Parameters
    ----------
    config : ParetoLearnerConfig, optional
        Settings (default ``ParetoLearnerConfig()``).
    **overrides
        ``ParetoLearnerConfig`` fields to change (e.g. ``epochs=1``).
    """

    def __init__(self, config: ParetoLearnerConfig | None = None, **overrides) -> None:
        from dataclasses import replace

        cfg = config or ParetoLearnerConfig()
        self.config = replace(cfg, **overrides)
        self.device = resolve_device(self.config.device)
        self.model: ParetoMLP | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.rng = np.random.default_rng(self.config.seed)
        self.gen = torch.Generator().manual_seed(self.config.seed)
        self.losses: list[float] = []
        self._features_cache: tuple[int, np.ndarray] | None = None

    def features(self, inputs: RerankInputs) -> np.ndarray:
        """Return ``item_features`` of ``inputs``, cached for the same inputs object.

        Parameters
        ----------
        inputs : RerankInputs
            Validated inputs.

        Returns
        -------
        numpy.ndarray, shape (U, N, F), float32
            The features.
        """
        if self._features_cache is None or self._features_cache[0] != id(inputs):
            self._features_cache = (id(inputs), item_features(inputs, self.config.embedding_key))
        return self._features_cache[1]

    def _ensure_model(self, n_features: int, n_users: int) -> None:
        if self.model is None:
            torch.manual_seed(self.config.seed)
            self.model = ParetoMLP(n_features, self.config.n_clusters, n_users, self.config)
            self.model.to(self.device)
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config.lr)
        elif n_users > self.model.user.num_embeddings:
            self.model.grow_users(n_users)
            self.model.to(self.device)
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config.lr)

    def fit(
        self,
        inputs: RerankInputs,
        positions: np.ndarray,
        F: np.ndarray,
        objective_names: Sequence[str],
        users: np.ndarray,
    ) -> float:
        """Train once (one transfer) on populations.

        Parameters
        ----------
        inputs : RerankInputs
            The inputs the populations index.
        positions : numpy.ndarray, shape (U, P, K)
            Candidate positions of the lists.
        F : numpy.ndarray, shape (U, P, M)
            Their maximised objective values.
        objective_names : sequence of str
            Names of the M objectives (to find ``accuracy_objective``).
        users : numpy.ndarray, shape (U,)
            Global user index of every row (the embedding rows; grown as needed).

        Returns
        -------
        float
            Mean binary cross-entropy of the last epoch.

        Raises
        ------
        FloatingPointError
            If the loss becomes non-finite (lower ``lr``).
        """
        cfg = self.config
        feats = self.features(inputs)
        users = np.asarray(users, dtype=np.int64)
        self._ensure_model(feats.shape[2], int(users.max()) + 1)
        name = cfg.accuracy_objective
        acc_col = list(objective_names).index(name) if name in objective_names else 0
        labels, present = soft_labels(positions, F[..., acc_col], inputs.n_candidates,
                                      cfg.n_clusters)  # fmt: skip
        # As many absent candidates as present ones (times negative_ratio), at random.
        keys = self.rng.random(present.shape)
        keys[present] = np.inf
        n_neg = np.round(present.sum(axis=2, keepdims=True) * cfg.negative_ratio)
        # The n_neg smallest keys: those whose place in the keys' order is below n_neg.
        first = np.empty(present.shape, dtype=bool)
        np.put_along_axis(first, np.argsort(keys, axis=2),
                          np.arange(present.shape[2]) < n_neg, axis=2)  # fmt: skip
        chosen = present | first
        ui, ci, ni = np.nonzero(chosen)
        if cfg.max_samples is not None and ui.size > cfg.max_samples:
            # A random subset of the (user, cluster, candidate) occurrences per transfer:
            # the cost of a transfer then no longer grows with the number of users.
            keep = np.sort(self.rng.choice(ui.size, cfg.max_samples, replace=False))
            ui, ci, ni = ui[keep], ci[keep], ni[keep]
        y = torch.as_tensor(labels[ui, ci, ni], dtype=torch.float32, device=self.device)
        f = torch.as_tensor(feats[ui, ni], device=self.device)
        c = torch.as_tensor(ci, device=self.device)
        usr = torch.as_tensor(users[ui], device=self.device)
        with deterministic():
            loss_value = self._train(f, c, usr, y)
        if not np.isfinite(loss_value):
            raise FloatingPointError("the Pareto-learning loss became non-finite; lower lr")
        self.losses.append(loss_value)
        return loss_value

    def _train(self, f, c, usr, y) -> float:
        cfg = self.config
        model, opt = self.model, self.optimizer
        model.train()
        loss_value = float("nan")
        for _ in range(cfg.epochs):
            perm = torch.randperm(y.shape[0], generator=self.gen).to(self.device)
            total, count = 0.0, 0
            for start in range(0, y.shape[0], cfg.batch_size):
                idx = perm[start : start + cfg.batch_size]
                logits = model(f[idx], c[idx], usr[idx])
                loss = nn.functional.binary_cross_entropy_with_logits(logits, y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * idx.shape[0]
                count += idx.shape[0]
            loss_value = total / max(count, 1)
        return loss_value

    @torch.no_grad()
    def scores(self, inputs: RerankInputs, users: np.ndarray) -> np.ndarray:
        """Predict every candidate's inclusion logits under every cluster.

        Parameters
        ----------
        inputs : RerankInputs
            Validated inputs.
        users : numpy.ndarray, shape (U,)
            Global user index of every row.

        Returns
        -------
        numpy.ndarray, shape (U, C, N)
            Logits (higher: more likely in the cluster's Pareto-optimal lists).

        Raises
        ------
        RuntimeError
            If the learner has not been trained yet.
        """
        if self.model is None:
            raise RuntimeError("the Pareto learner has not been trained yet")
        feats = torch.as_tensor(self.features(inputs), device=self.device)  # (U, N, F)
        u, n, _ = feats.shape
        users_t = torch.as_tensor(np.ascontiguousarray(users, dtype=np.int64), device=self.device)
        self.model.eval()
        return self.model.all_clusters(feats, users_t[:, None].expand(u, n)).cpu().numpy()

    def propose(self, inputs: RerankInputs, users: np.ndarray) -> np.ndarray:
        """Propose knowledge lists: each cluster's top-K candidates by predicted score.

        Parameters
        ----------
        inputs : RerankInputs
            Validated inputs.
        users : numpy.ndarray, shape (U,)
            Global user index of every row.

        Returns
        -------
        numpy.ndarray, shape (U, C, K)
            Candidate positions, best first.
        """
        s = self.scores(inputs, users)
        u, c, n = s.shape
        return top_k_rows(s.reshape(u * c, n), inputs.k).reshape(u, c, inputs.k)

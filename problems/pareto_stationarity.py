"""PMORS's pre-ranking with a forgetting curve, as a gradient problem and a training job.

The gradient problem is a pymoo ``Problem`` with ``out["dF"]``; the job trains in torch.

PMORS (Pareto-based Multi-Objective Recommender System with Forgetting Curve) trains a
pre-ranking model with two losses and lets MGDA (min-norm, Frank-Wolfe) set their weights
every step, driving training towards Pareto stationarity:

* **consistency** (eq. 3): learning to rank against a frozen ranking model. Each
  impression has C candidates scored by the ranking model; the loss is ListNet's
  cross-entropy between the ranking model's and the pre-ranker's top-one distributions
  (eq. 3 is missing from the extracted text; ListNet, Cao et al. 2007, is the standard
  listwise form).
* **recency** (eqs. 4-6): for every candidate, its negative-feedback rate in each window
  {10 min, 3 h, 1 day, 7 days} before the impression, weighted by the Ebbinghaus
  retention R_w = exp(-t_w / S) (S = one day by default); the penalty is the pre-ranker's
  top-one probability of the candidate (softmax over the impression) times
  sum_w R_w rate_w (``recommenders.losses.forgetting_penalty``), so highly ranked
  candidates with recent negative feedback cost most.

On MovieLens, **ratings <= 2 stand in for explicit negative feedback**: a proxy for
PMORS's fast-slips on KuaiRec, where a user swipes a video away within seconds. Rates are
gathered per item over all users (PMORS's "global gathering", section 5), from training
interactions only.

Setup: the ranking model is a BPR-MF fitted on the training stage of a leave-one-out
split and then frozen. Training impressions are training interactions (the interacted
item plus C - 1 distinct other items drawn uniformly, C = 10), test impressions each
user's test interaction with 100 candidates (the test item plus 99 items the user never
rated). Metrics on the test impressions:

* NDCG@10: of the held-out item in the pre-ranker's top 10 of the 100 candidates (ties
  counted against it, so a constant pre-ranker scores 0);
* Recall@10_1 (PMORS eq. 9): share of impressions whose ranking-model top-1 among the 100
  candidates is in the pre-ranker's top 10;
* NegExposure@10: share of the pre-ranker's top-10 items that received a rating <= 2 in
  the 7 days before the impression (the exposure rate of negatively rated items).

``PMORSTask.train`` trains with MGDA weights every step or with a fixed alpha
(loss = alpha L_cons + (1 - alpha) L_forget, PMORS Table 2);
``ParetoStationarityProblem`` exposes the two losses and their gradients over the
flattened parameters, so ``moopt.algorithms.MGDA`` can solve it through
``pymoo.optimize.minimize``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from pymoo.core.problem import Problem
from torch import nn
from tqdm.auto import tqdm

from moopt.gradient import MGDA
from recommenders import metrics as M
from recommenders.data import Dataset, leave_one_out
from recommenders.data.split import sample_negatives
from recommenders.losses import forgetting_penalty, forgetting_weights
from recommenders.models import BPRMF, Ranker
from recommenders.models.base import resolve_device

WINDOWS = (600.0, 3 * 3600.0, 86400.0, 7 * 86400.0)


@dataclass(frozen=True)
class PMORSConfig:
    """PMORS's settings where given (windows, embedding 16, three-layer net, Adam 1e-3).

    Parameters
    ----------
    windows : tuple of float, default (600, 10800, 86400, 604800)
        Lengths in seconds of the negative-feedback windows before an impression
        (10 min, 3 h, 1 day, 7 days); non-empty.
    strength : float, default 86400.0
        Memory strength S in seconds of the retention R_w = exp(-t_w / S); positive.
    negative_threshold : float, default 2.0
        Ratings at or below it count as negative feedback.
    n_train_candidates : int, default 10
        Candidates C per training impression (the item plus C - 1 others); at least 2.
    n_test_candidates : int, default 100
        Candidates per test impression (the test item plus never-rated items); above 10.
    max_impressions : int, default 30000
        Most training interactions sampled as training impressions.
    emb_dim : int, default 16
        User and item embedding size of the pre-ranker.
    hidden : tuple of int, default (64, 32)
        Sizes of the pre-ranker's two hidden layers.
    lr : float, default 1e-3
        Adam learning rate of the pre-ranker.
    batch_size : int, default 256
        Impressions per training step.
    epochs : int, default 5
        Training epochs of the pre-ranker.
    ranker_epochs : int, default 40
        Training epochs of the BPR-MF ranking model (when ``PMORSTask`` fits it).
    mgda_normalization : str, default "none"
        Gradient normalisation of MGDA: ``"none"``, ``"l2"``, ``"loss"`` or ``"loss+"``.
    seed : int, default 0
        Seed of the impressions, the ranking model, the pre-ranker and its batches.

    Raises
    ------
    ValueError
        For fewer than 2 training or 11 test candidates, a non-positive ``strength`` or
        no windows.
    """

    windows: tuple[float, ...] = WINDOWS
    strength: float = 86400.0
    negative_threshold: float = 2.0
    n_train_candidates: int = 10
    n_test_candidates: int = 100
    max_impressions: int = 30000
    emb_dim: int = 16
    hidden: tuple[int, int] = (64, 32)
    lr: float = 1e-3
    batch_size: int = 256
    epochs: int = 5
    ranker_epochs: int = 40
    mgda_normalization: str = "none"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_train_candidates < 2 or self.n_test_candidates < 11:
            raise ValueError("need >= 2 training candidates and > 10 test candidates")
        if self.strength <= 0 or not self.windows:
            raise ValueError("strength must be positive and windows non-empty")


class PreRanker(nn.Module):
    """Three-layer MLP over [user embedding, item embedding, their product].

    Parameters
    ----------
    n_users, n_items : int
        Sizes of the id spaces.
    cfg : PMORSConfig
        Supplies ``emb_dim`` and ``hidden``.
    """

    def __init__(self, n_users: int, n_items: int, cfg: PMORSConfig) -> None:
        super().__init__()
        d = cfg.emb_dim
        self.user = nn.Embedding(n_users, d)
        self.item = nn.Embedding(n_items, d)
        nn.init.normal_(self.user.weight, std=0.1)
        nn.init.normal_(self.item.weight, std=0.1)
        h1, h2 = cfg.hidden
        self.mlp = nn.Sequential(nn.Linear(3 * d, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU(),
                                 nn.Linear(h2, 1))  # fmt: skip

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Score every candidate of a batch of impressions.

        Parameters
        ----------
        users : torch.Tensor
            (B,) user ids.
        items : torch.Tensor
            (B, C) candidate item ids.

        Returns
        -------
        torch.Tensor
            (B, C) pre-ranking scores (logits).
        """
        u = self.user(users)[:, None, :].expand(-1, items.shape[1], -1)
        i = self.item(items)
        return self.mlp(torch.cat([u, i, u * i], dim=-1)).squeeze(-1)


def negative_rates(event_items, event_times, event_negative, items, times, windows) -> np.ndarray:
    """Per query (item, time): share of the item's ratings in (time - w, time) that were negative.

    Each (item, time) becomes one sortable key ``item * span + (time - base)``; ``base``
    and ``span`` cover the event times *and* every query time minus every window, so no
    key of one item reaches into another item's range.

    Parameters
    ----------
    event_items, event_times : array_like
        (E,) item ids and integer times (seconds) of the ratings.
    event_negative : array_like
        (E,) whether each rating was negative (bool or 0/1).
    items, times : array_like
        Query items and times, broadcast together to a shape (...).
    windows : sequence of float
        Positive window lengths w in seconds.

    Returns
    -------
    numpy.ndarray
        (..., W) negative share per query and window, 0 where the item had no rating in
        the window (the interval is open at both ends).

    Raises
    ------
    ValueError
        For no or non-positive windows, or event arrays of different shapes.

    Examples
    --------
    >>> from problems.pareto_stationarity import negative_rates
    >>> # item 0: a negative rating at t=100, a positive one at t=200
    >>> negative_rates([0, 0], [100, 200], [1, 0], items=[0, 1], times=[250, 250],
    ...                windows=(60, 1000))
    array([[0. , 0.5],
           [0. , 0. ]])
    """
    event_items = np.asarray(event_items, dtype=np.int64)
    event_times = np.asarray(event_times, dtype=np.int64)
    event_negative = np.asarray(event_negative)
    q_items = np.asarray(items, dtype=np.int64)
    q_times = np.asarray(times, dtype=np.int64)
    q_items, q_times = np.broadcast_arrays(q_items, q_times)
    if not len(windows) or min(windows) <= 0:
        raise ValueError(f"windows must be positive lengths in seconds, got {windows!r}")
    if event_items.shape != event_times.shape or event_items.shape != event_negative.shape:
        raise ValueError("event_items, event_times and event_negative must have the same shape")
    if q_items.size == 0 or event_items.size == 0:
        return np.zeros((*q_items.shape, len(windows)))
    lo = min(int(event_times.min()), int(q_times.min()))
    hi = max(int(event_times.max()), int(q_times.max()))
    base = np.int64(lo) - np.int64(max(windows)) - 1
    span = np.int64(hi - base + 2)
    order = np.lexsort((event_times, event_items))
    keys = event_items[order] * span + (event_times[order] - base)
    neg_cum = np.concatenate([[0], np.cumsum(event_negative[order])])
    end = np.searchsorted(keys, q_items * span + (q_times - base), side="left")
    out = np.zeros((*q_items.shape, len(windows)))
    for w, win in enumerate(windows):
        start = np.searchsorted(keys, q_items * span + (q_times - np.int64(win) - base),
                                side="right")  # fmt: skip
        total = end - start
        neg = neg_cum[end] - neg_cum[start]
        out[..., w] = np.divide(neg, total, out=np.zeros(total.shape), where=total > 0)
    return out


def impression_candidates(positives, n_items: int, n_others: int,
                          rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Candidate sets of training impressions: the positive, then distinct other items.

    Rows with a repeated item are redrawn whole (a few rounds; rare unless ``n_others`` is
    a large share of the catalogue), the rest with ``rng.choice`` one row at a time.

    Parameters
    ----------
    positives : array_like
        (P,) item ids in [0, n_items), one per impression.
    n_items : int
        Catalogue size.
    n_others : int
        Other items per impression, 1 to ``n_items - 1``, drawn uniformly without
        replacement from the items other than the positive.
    rng : numpy.random.Generator
        Source of the draws.

    Returns
    -------
    numpy.ndarray
        (P, 1 + n_others) int64 candidates, the positive in column 0.

    Raises
    ------
    ValueError
        For non-1-D or out-of-range positives, or ``n_others`` outside [1, n_items - 1].

    Examples
    --------
    >>> import numpy as np
    >>> from problems.pareto_stationarity import impression_candidates
    >>> cands = impression_candidates([3, 5], n_items=10, n_others=4,
    ...                               rng=np.random.default_rng(0))
    >>> cands.shape, cands[:, 0].tolist()
    ((2, 5), [3, 5])
    >>> all(len(set(row)) == 5 for row in cands.tolist())  # distinct in every row
    True
    """
    pos = np.asarray(positives, dtype=np.int64)
    if pos.ndim != 1:
        raise ValueError(f"positives must be 1-D, got shape {pos.shape}")
    if isinstance(n_others, bool) or not isinstance(n_others, (int, np.integer)) or n_others < 1:
        raise ValueError(f"n_others must be a positive integer, got {n_others!r}")
    if n_others > n_items - 1:
        raise ValueError(f"n_others={n_others} exceeds the {n_items - 1} items other than the "
                         "positive; lower n_train_candidates")  # fmt: skip
    if pos.size and (pos.min() < 0 or pos.max() >= n_items):
        raise ValueError(f"positives must lie in [0, n_items={n_items})")
    # Draw from 0..n_items-2 and skip over the positive: uniform over the other items.
    others = rng.integers(0, n_items - 1, size=(pos.size, n_others))
    for _ in range(10):
        srt = np.sort(others, axis=1)
        bad = np.flatnonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1))
        if bad.size == 0:
            break
        others[bad] = rng.integers(0, n_items - 1, size=(bad.size, n_others))
    else:
        srt = np.sort(others, axis=1)
        for r in np.flatnonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1)):
            others[r] = rng.choice(n_items - 1, size=n_others, replace=False)
    others += others >= pos[:, None]
    return np.concatenate([pos[:, None], others], axis=1)


class PMORSTask:
    """Data, frozen ranking model and training of the PMORS pre-ranker (module docstring).

    Builds the leave-one-out split, the training impressions (with the ranking model's
    scores and the candidates' negative-feedback rates) and the test impressions.

    Parameters
    ----------
    dataset : recommenders.data.Dataset
        Interactions with ratings and timestamps.
    config : PMORSConfig or None, default None
        Settings; None means ``PMORSConfig()``.
    ranker : recommenders.models.Ranker or None, default None
        The frozen ranking model, fitted on the same ids; None fits a BPR-MF on the
        training stage for ``config.ranker_epochs`` epochs.
    device : str, default "cpu"
        Torch device of the pre-ranker (``"cpu"``, ``"cuda"`` or ``"auto"``).
    """

    def __init__(
        self,
        dataset: Dataset,
        config: PMORSConfig | None = None,
        ranker: Ranker | None = None,
        device: str = "cpu",
    ) -> None:
        self.config = cfg = config or PMORSConfig()
        self.dataset = dataset
        self.device = resolve_device(device)
        self.split = split = leave_one_out(dataset.interactions)
        rng = np.random.default_rng(cfg.seed)
        if ranker is None:
            ranker = BPRMF(seed=cfg.seed, epochs=cfg.ranker_epochs, patience=cfg.ranker_epochs,
                           lr=5e-3).fit(split.train, split.valid)  # fmt: skip
        ranker.set_history(split.history("test"))
        self.ranker = ranker
        train = split.train
        ev_neg = (train.ratings <= cfg.negative_threshold).astype(np.int64)
        self._events = (train.items, train.timestamps, ev_neg)
        self.retention = torch.as_tensor(forgetting_weights(cfg.windows, cfg.strength),
                                         dtype=torch.float32)  # fmt: skip

        # Training impressions: an interaction plus distinct other items, scored by the ranker.
        rows = rng.choice(len(train), size=min(cfg.max_impressions, len(train)), replace=False)
        users, pos, times = train.users[rows], train.items[rows], train.timestamps[rows]
        cands = impression_candidates(pos, dataset.n_items, cfg.n_train_candidates - 1, rng)
        self.train_imp = self._impressions(users, cands, times)

        # Test impressions: each user's test item with 99 never-rated items.
        test = split.test
        all_inter = train.concat(split.valid).concat(test)
        cands = sample_negatives(all_inter, test.users, test.items,
                                 cfg.n_test_candidates - 1, seed=cfg.seed)  # fmt: skip
        self.test_imp = self._impressions(test.users, cands, test.timestamps)
        # A negative rating of the candidate within 7 days before the impression.
        seven = negative_rates(*self._events, cands, test.timestamps[:, None], (7 * 86400.0,))
        self.test_negative_recent = seven[..., 0] > 0

    def _impressions(self, users, cands, times) -> dict[str, torch.Tensor]:
        rates = negative_rates(*self._events, cands, times[:, None], self.config.windows)
        scores = self.ranker.score(users, cands)
        return {
            "users": torch.as_tensor(users, device=self.device),
            "items": torch.as_tensor(cands, device=self.device),
            "rank_scores": torch.as_tensor(scores, dtype=torch.float32, device=self.device),
            "rates": torch.as_tensor(rates, dtype=torch.float32, device=self.device),
        }

    # ------------------------------------------------------------------ losses

    def losses(self, net: PreRanker, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(consistency, forgetting) losses of ``net`` on a batch of impressions.

        Parameters
        ----------
        net : PreRanker
            The pre-ranker.
        batch : dict of str to torch.Tensor
            ``users`` (B,), ``items`` (B, C), ``rank_scores`` (B, C) and ``rates``
            (B, C, W), as in ``train_imp``.

        Returns
        -------
        consistency : torch.Tensor
            Scalar ListNet cross-entropy against the ranking model (eq. 3), >= 0.
        forgetting : torch.Tensor
            Scalar mean recency penalty (eq. 6), in [0, sum_w R_w].
        """
        pre = net(batch["users"], batch["items"])
        target = F.softmax(batch["rank_scores"], dim=1)
        consistency = -(target * F.log_softmax(pre, dim=1)).sum(dim=1).mean()
        forget = forgetting_penalty(pre, batch["rates"], self.retention.to(pre.device)).mean()
        return consistency, forget

    def new_net(self) -> PreRanker:
        """A freshly initialised pre-ranker (seeded by ``config.seed``) on the device.

        Returns
        -------
        PreRanker
            The untrained net.
        """
        torch.manual_seed(self.config.seed)
        return PreRanker(self.dataset.n_users, self.dataset.n_items, self.config).to(self.device)

    def _batches(self, gen: torch.Generator):
        imp = self.train_imp
        n = imp["users"].shape[0]
        perm = torch.randperm(n, generator=gen).to(self.device)
        for start in range(0, n, self.config.batch_size):
            idx = perm[start : start + self.config.batch_size]
            yield {k: v[idx] for k, v in imp.items()}

    def train(self, weights: str | float = "mgda", epochs: int | None = None,
              verbose: bool = False) -> tuple[PreRanker, pd.DataFrame]:  # fmt: skip
        """Train a pre-ranker with MGDA weights every step or with a fixed alpha.

        Parameters
        ----------
        weights : str or float, default "mgda"
            ``"mgda"`` or a float alpha in [0, 1]: loss = alpha L_cons + (1 - alpha)
            L_forget.
        epochs : int or None, default None
            Epochs; None means ``config.epochs``.
        verbose : bool, default False
            Show a progress bar.

        Returns
        -------
        net : PreRanker
            The trained pre-ranker.
        log : pandas.DataFrame
            Per epoch: ``epoch``, mean ``consistency`` and ``forgetting`` losses, mean
            consistency weight ``alpha`` and ``grad_norm``, the norm of the min-norm
            point MGDA solved at each step (after the configured normalisation), averaged
            over the epoch; NaN with a fixed alpha.

        Raises
        ------
        ValueError
            If ``weights`` is neither ``"mgda"`` nor a float in [0, 1].
        """
        if weights != "mgda" and not (isinstance(weights, float) and 0.0 <= weights <= 1.0):
            raise ValueError(f"weights must be 'mgda' or an alpha in [0, 1], got {weights!r}")
        cfg = self.config
        net = self.new_net()
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        gen = torch.Generator().manual_seed(cfg.seed)
        shared = [p for p in net.parameters()]
        solver = MGDA(normalization=cfg.mgda_normalization)
        log = []
        for epoch in tqdm(range(epochs or cfg.epochs), desc=f"pmors {weights}",
                          disable=not verbose, leave=False):  # fmt: skip
            sums = np.zeros(4)
            count = 0
            for batch in self._batches(gen):
                cons, forget = self.losses(net, batch)
                if weights == "mgda":
                    w, total = solver.step([cons, forget], shared_params=shared)
                    alpha, norm = float(w[0]), float(solver.last_norm)
                else:
                    alpha, norm = float(weights), float("nan")
                    total = alpha * cons + (1 - alpha) * forget
                opt.zero_grad(set_to_none=True)
                total.backward()
                opt.step()
                sums += [float(cons.detach()), float(forget.detach()), alpha, norm]
                count += 1
            log.append({"epoch": epoch + 1, "consistency": sums[0] / count,
                        "forgetting": sums[1] / count, "alpha": sums[2] / count,
                        "grad_norm": sums[3] / count})  # fmt: skip
        return net, pd.DataFrame(log)

    @torch.no_grad()
    def metrics(self, net: PreRanker) -> dict[str, float]:
        """NDCG@10, Recall@10_1 and NegExposure@10 on the test impressions.

        Ties are broken against the item being looked for, as in
        ``recommenders.metrics.rank_candidates``: the held-out item (column 0) ranks
        behind every candidate scored higher *or equal*, and so does the ranking model's
        top-1 for Recall@10_1, so a constant pre-ranker earns no credit. NegExposure@10
        reads the top 10 with ties in a random order (seeded by ``config.seed``), not in
        column order.

        Parameters
        ----------
        net : PreRanker
            The pre-ranker to score.

        Returns
        -------
        dict of str to float
            ``NDCG@10``, ``Recall@10_1`` and ``NegExposure@10``, each in [0, 1].
        """
        imp = self.test_imp
        pre = np.asarray(net(imp["users"], imp["items"]).cpu().numpy(), dtype=np.float64)
        n, c = pre.shape
        hit = M.rank_candidates(pre, positive_column=0)
        ndcg = float(M.ndcg(hit, np.ones(n), 10).mean())
        rank_top1 = imp["rank_scores"].cpu().numpy().argmax(axis=1)
        top1_score = pre[np.arange(n), rank_top1][:, None]
        top1_rank = (pre >= top1_score).sum(axis=1) - 1  # ties counted ahead of it
        recall_10_1 = float((top1_rank < 10).mean())
        rng = np.random.default_rng(self.config.seed)
        perm = rng.permuted(np.tile(np.arange(c), (n, 1)), axis=1)
        order = np.argsort(-np.take_along_axis(pre, perm, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(perm, order[:, :10], axis=1)
        neg = np.take_along_axis(self.test_negative_recent, top, axis=1)
        return {"NDCG@10": ndcg, "Recall@10_1": recall_10_1, "NegExposure@10": float(neg.mean())}

    def compare(
        self,
        alphas=(0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
        normalizations=("none", "l2", "loss"),
        verbose=False,
    ) -> pd.DataFrame:
        """PMORS Table 2: MGDA with each gradient normalisation against fixed alphas.

        Parameters
        ----------
        alphas : sequence of float, default (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
            Fixed consistency weights, each in [0, 1].
        normalizations : sequence of str, default ("none", "l2", "loss")
            MGDA's gradient normalisations (Sener and Koltun), one run each.
        verbose : bool, default False
            Show progress bars.

        Returns
        -------
        pandas.DataFrame
            One row per run: ``weights`` (label), the ``metrics``, ``alpha (last
            epoch)`` (mean consistency weight) and the training ``seconds``.
        """
        from dataclasses import replace

        rows = []
        runs = [("mgda", n) for n in normalizations] + [(float(a), None) for a in alphas]
        base = self.config
        for weights, norm in runs:
            if norm is not None:
                self.config = replace(base, mgda_normalization=norm)
            t0 = time.perf_counter()
            try:
                net, log = self.train(weights, verbose=verbose)
            finally:
                self.config = base
            label = f"MGDA ({norm})" if weights == "mgda" else f"alpha={weights:.1f}"
            rows.append({"weights": label, **self.metrics(net),
                         "alpha (last epoch)": float(log["alpha"].iloc[-1]),
                         "seconds": time.perf_counter() - t0})  # fmt: skip
        return pd.DataFrame(rows)


class ParetoStationarityProblem(Problem):
    """The two PMORS losses over a pre-ranker's flattened parameters, with gradients.

    ``x`` is the parameter vector; ``F`` = (consistency, forgetting) on a fixed sample of
    ``n_eval`` training impressions and ``dF`` their gradients, so gradient solvers
    (``moopt.algorithms.MGDA``) drive it to Pareto stationarity. Bounds are a wide
    box (+-10) that the parameters never approach in practice.

    Decision variables: every parameter of a ``PreRanker``, flattened (``n_var`` reals in
    [-10, 10]; ``initial_x`` gives the fresh initialisation). Objectives (both minimised):
    the consistency loss (>= 0) and the forgetting penalty (in [0, sum_w R_w]).

    Parameters
    ----------
    task : PMORSTask
        Supplies the impressions, the losses and the net's architecture.
    n_eval : int, default 4096
        Training impressions in the fixed evaluation sample (at most all of them).
    seed : int, default 0
        Seed of that sample.
    """

    def __init__(self, task: PMORSTask, n_eval: int = 4096, seed: int = 0) -> None:
        self.task = task
        self.net = task.new_net()
        self._params = [p for p in self.net.parameters()]
        self._shapes = [p.shape for p in self._params]
        n = sum(p.numel() for p in self._params)
        rng = np.random.default_rng(seed)
        m = task.train_imp["users"].shape[0]
        idx = torch.as_tensor(rng.choice(m, size=min(n_eval, m), replace=False))
        self.batch = {k: v[idx] for k, v in task.train_imp.items()}
        super().__init__(n_var=n, n_obj=2, xl=-10.0, xu=10.0)

    def initial_x(self) -> np.ndarray:
        """The freshly initialised parameters as a decision vector.

        Returns
        -------
        numpy.ndarray
            (n_var,) float64 parameters of the net ``task.new_net()`` built.
        """
        return torch.cat([p.detach().reshape(-1) for p in self._params]).double().numpy()

    def _load(self, x: np.ndarray) -> None:
        flat = torch.as_tensor(x, dtype=torch.float32)
        offset = 0
        with torch.no_grad():
            for p, shape in zip(self._params, self._shapes, strict=True):
                size = int(np.prod(shape))
                p.copy_(flat[offset : offset + size].reshape(shape))
                offset += size

    def _evaluate(self, X, out, *args, **kwargs):
        X = np.atleast_2d(X)
        Fs, dFs = [], []
        want_grad = "dF" in out  # pymoo pre-fills the keys it was asked for
        for x in X:
            self._load(x)
            cons, forget = self.task.losses(self.net, self.batch)
            Fs.append([float(cons.detach()), float(forget.detach())])
            if want_grad:
                rows = []
                for loss in (cons, forget):
                    grads = torch.autograd.grad(loss, self._params, retain_graph=True,
                                                allow_unused=True)  # fmt: skip
                    rows.append(torch.cat([
                        (g if g is not None else torch.zeros_like(p)).reshape(-1)
                        for g, p in zip(grads, self._params, strict=True)
                    ]).double().numpy())  # fmt: skip
                dFs.append(np.stack(rows))
        out["F"] = np.array(Fs)
        if want_grad:
            out["dF"] = np.array(dFs)

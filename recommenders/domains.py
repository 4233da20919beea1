"""Per-domain loss weights from domain sparsity (the Dynamic Weighted Loss seed).

Source: "Adaptive Weighted Loss for Sequential Recommendations on Sparse Domains",
section III (Dynamic Weighted Loss Modeling) and its Algorithms 1 and 2. A domain is a
genre on MovieLens; an item of several genres belongs to each.

* ``domain_stats``: per domain the interaction share f_d = |I_d| / |I| (an interaction
  with a multi-genre item counts once in each of its genres, so the shares can sum to
  more than 1), the users U_d with an interaction in d, and the entropy H_d (natural log)
  of the interaction distribution over d's items.
* ``sparsity``: Algorithm 1's score s_d = a log(1/f_d) + b log(|U|/|U_d|) + c H_d.
* ``weights_from_sparsity``: Algorithm 1's normalisation. Read literally,
  w_d = clip((s_d - s_min)/(s_max - s_min), w_min, w_max) never exceeds 1, so the paper's
  bounds [0.2, 5.0] could only act from below and every domain would be weighted *down*
  relative to the generic loss; the min-max step also jumps: scores a hair apart get
  w_min and 1 where equal scores get 1 each. ``mapping="mean"`` (the default) is
  w_d = clip(exp(s_d - c), w_min, w_max), with the offset c solved so that the
  share-weighted mean of the *clipped* weights is exactly 1 (see the function). Since
  s_d is a sum of logarithms, exp(s_d) is the product (1/f_d) (|U|/|U_d|) exp(H_d) of
  the three sparsity ratios, and c only sets the common scale. ``mapping="paper"`` is
  the literal form.
* Variants: ``generic_weights`` (all 1), ``fixed_weights`` (the predecessor
  PinnerFormerLite's h_d: listed sparse domains 2, others 1) and ``DynamicWeights``
  (Algorithm 2: recomputed every ``every`` epochs and smoothed by an exponential moving
  average with ``mu``).
* ``item_weights``: the weight of a training example is its target item's, the
  maximum (default) or mean of its genres' weights.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAPPINGS = ("mean", "paper")
RULES = ("max", "mean")


def _genres(item_genres, n_items: int | None = None) -> np.ndarray:
    g = np.asarray(item_genres)
    if g.ndim != 2 or g.shape[1] == 0:
        raise ValueError(f"item_genres must be (n_items, n_domains) with n_domains >= 1, "
                         f"got shape {g.shape}")  # fmt: skip
    if n_items is not None and g.shape[0] != n_items:
        raise ValueError(f"item_genres has {g.shape[0]} rows but there are {n_items} items")
    return g.astype(bool)


@dataclass(frozen=True)
class DomainStats:
    """The per-domain quantities of Algorithm 1 (arrays in the order of ``names``).

    Parameters
    ----------
    names : tuple of str
        The D domain names.
    interactions : numpy.ndarray
        ``(D,)`` int |I_d|, interactions with an item of domain d.
    share : numpy.ndarray
        ``(D,)`` float f_d = |I_d| / |I| (may sum to more than 1).
    users : numpy.ndarray
        ``(D,)`` int |U_d|, users with an interaction in d.
    n_users : int
        |U|, users with any interaction.
    entropy : numpy.ndarray
        ``(D,)`` float H_d (nats) of the interaction distribution over d's items.
    """

    names: tuple[str, ...]
    interactions: np.ndarray  # |I_d|
    share: np.ndarray  # f_d
    users: np.ndarray  # |U_d|
    n_users: int  # |U|
    entropy: np.ndarray  # H_d


def _stats_from_pairs(users, items, genres, names, empty_ok: bool) -> DomainStats:
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    if users.size == 0:
        raise ValueError("no interactions to compute domain statistics from")
    member = genres[items]  # (n, D)
    counts = member.sum(axis=0).astype(np.int64)
    empty = [names[d] for d in np.flatnonzero(counts == 0)]
    if empty and not empty_ok:
        raise ValueError(f"domain(s) {empty} have no interactions: drop them from item_genres "
                         "(and names) or use more data")  # fmt: skip
    n_users = int(np.unique(users).size)
    user_counts = np.array([np.unique(users[member[:, d]]).size for d in range(len(names))])
    entropy = np.zeros(len(names))
    per_item = np.bincount(items, minlength=genres.shape[0]).astype(np.float64)
    for d in range(len(names)):
        item_counts = per_item[genres[:, d]]
        total = item_counts.sum()
        if total > 0:
            p = item_counts[item_counts > 0] / total
            entropy[d] = float(-(p * np.log(p)).sum())
    return DomainStats(tuple(names), counts, counts / users.size, user_counts, n_users, entropy)


def domain_stats(interactions, item_genres, names: Sequence[str]) -> DomainStats:
    """Algorithm 1's per-domain statistics of an interaction log.

    Parameters
    ----------
    interactions : Interactions
        The log (e.g. the training split), non-empty.
    item_genres : numpy.ndarray
        ``(n_items, D)`` bool domain membership, ``D >= 1``.
    names : sequence of str
        The D domain names.

    Returns
    -------
    DomainStats
        The statistics.

    Raises
    ------
    ValueError
        Shapes disagree, the log is empty, or a domain has no interactions (its
        log(1/f_d) would be infinite).

    Examples
    --------
    >>> from recommenders.data import Interactions
    >>> log = Interactions([0, 0, 1], [0, 1, 0], [1, 2, 1], [1.0] * 3, 2, 2)
    >>> st = domain_stats(log, np.array([[1, 0], [1, 1]]), ["A", "B"])
    >>> st.share.tolist(), st.users.tolist(), st.entropy.round(4).tolist()
    ([1.0, 0.3333], [2, 1], [0.6365, 0.0])
    """
    genres = _genres(item_genres, interactions.n_items)
    if len(names) != genres.shape[1]:
        raise ValueError(f"names has {len(names)} entries but item_genres has "
                         f"{genres.shape[1]} columns")  # fmt: skip
    return _stats_from_pairs(interactions.users, interactions.items, genres, list(names), False)


def sparsity(stats: DomainStats, a: float = 1.0, b: float = 1.0, c: float = 1.0) -> np.ndarray:
    """Sparsity score s_d = a log(1/f_d) + b log(|U|/|U_d|) + c H_d (Algorithm 1).

    Parameters
    ----------
    stats : DomainStats
        Per-domain statistics, every share and user count positive.
    a, b, c : float, default 1.0
        Finite coefficients of the three terms.

    Returns
    -------
    numpy.ndarray
        ``(D,)`` float64 scores.

    Raises
    ------
    ValueError
        A non-finite coefficient, or a domain without interactions or users.
    """
    for name, v in (("a", a), ("b", b), ("c", c)):
        if not np.isfinite(v):
            raise ValueError(f"{name} must be finite, got {v}")
    if np.any(stats.share <= 0) or np.any(stats.users <= 0):
        raise ValueError("every domain needs interactions and users to have a sparsity score")
    return (a * np.log(1.0 / stats.share) + b * np.log(stats.n_users / stats.users)
            + c * stats.entropy)  # fmt: skip


def weights_from_sparsity(s, w_min: float = 0.2, w_max: float = 5.0, mapping: str = "mean",
                          shares=None) -> np.ndarray:  # fmt: skip
    """Domain weights from sparsity scores.

    Parameters
    ----------
    s : numpy.ndarray
        ``(D,)`` finite sparsity scores (``sparsity``), ``D >= 1``.
    w_min, w_max : float, default 0.2 and 5.0
        The clipping bounds, 0 < w_min < w_max. ``mapping="mean"`` needs
        w_min <= 1 <= w_max (otherwise no clipped weights can average 1).
    mapping : {"mean", "paper"}, default "mean"
        ``"mean"``: w_d = clip(exp(s_d - c), w_min, w_max) with c chosen so that
        the share-weighted mean sum_d f_d w_d / sum_d f_d of the clipped weights is 1.
        ``"paper"``: Algorithm 1 literally, clip((s_d - s_min) / (s_max - s_min)), which
        never exceeds 1 and jumps between w_min and 1 as two scores cross.
    shares : numpy.ndarray, optional
        ``(D,)`` non-negative interaction shares f_d weighting the mean of ``"mean"``, not
        all zero; None weighs the domains equally. A domain of share 0 does not move
        c but still gets its weight.

    Returns
    -------
    numpy.ndarray
        (D,) weights in [w_min, w_max]. Equal scores give 1 each (both mappings).

    Raises
    ------
    ValueError
        Empty or non-finite ``s``, bad bounds (for ``"mean"``: not w_min <= 1 <= w_max),
        an unknown ``mapping``, or bad ``shares``.

    Notes
    -----
    ``"mean"`` is continuous in the scores: if every score moves by at most e, c moves
    by at most e and every weight by at most w_max (exp(2 e) - 1). It depends only on
    score differences (adding a constant to every score changes nothing), like the
    paper's min-max step, but it keeps the scores' scale: they are sums of logarithms
    in nats, so doubling (a, b, c) spreads the weights further. The mean is exactly 1
    (to rounding) whenever w_min <= 1 <= w_max: the mean of the clipped weights rises
    continuously from w_min to w_max as c falls, so c is the root of a monotone,
    piecewise smooth equation, solved in closed form on the piece that holds it. The
    only exception is scores more than about 745 apart, where exp(s_d - s_max)
    underflows to 0 and those domains sit at w_min whatever c is; if such domains hold
    more than (w_max - 1) / (w_max - w_min) of the share, the others all get w_max and
    the mean stays below 1. The share-weighted mean is over domains: with multi-genre
    items, ``item_weights`` gives the average training example a different weight.

    Examples
    --------
    Scores ln 4 apart under equal shares: weights 4 u and u with mean 1, so u = 0.4.

    >>> weights_from_sparsity(np.array([np.log(4.0), 0.0]))
    array([1.6, 0.4])
    """
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"s must be a non-empty 1-D array of scores, got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("sparsity scores must be finite")
    if not (np.isfinite(w_min) and np.isfinite(w_max) and 0 < w_min < w_max):
        raise ValueError(f"need 0 < w_min < w_max (finite), got w_min={w_min}, w_max={w_max}")
    if mapping not in MAPPINGS:
        raise ValueError(f"mapping must be one of {MAPPINGS}, got {mapping!r}")
    if mapping == "paper":
        spread = s.max() - s.min()
        if spread == 0:
            return np.ones_like(s)
        return np.clip((s - s.min()) / spread, w_min, w_max)
    if not w_min <= 1.0 <= w_max:
        raise ValueError(f"mapping='mean' keeps the mean weight at 1 and needs w_min <= 1 <= "
                         f"w_max, got w_min={w_min}, w_max={w_max}; use mapping='paper' "
                         "for other bounds")  # fmt: skip
    share = np.ones_like(s) if shares is None else np.asarray(shares, dtype=np.float64)
    if share.shape != s.shape or not np.all(np.isfinite(share)) or np.any(share < 0):
        raise ValueError(f"shares must be finite and non-negative, one per domain "
                         f"({s.size}), got {share!r}")  # fmt: skip
    if share.sum() <= 0:
        raise ValueError("shares are all zero: give the domains' interaction shares")
    return _unit_mean_scale(np.exp(s - s.max()), share / share.sum(), w_min, w_max)


#: Rounding tolerated when the clipped mean is compared with 1.
ROUNDING = 1e-12


def _unit_mean_scale(v: np.ndarray, f: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """clip(u v, lo, hi) for the smallest u > 0 with f . clip(u v, lo, hi) = 1.

    ``v`` >= 0 with max 1, ``f`` sums to 1, lo <= 1 <= hi. The mean g(u) is continuous,
    non-decreasing and linear between the breakpoints lo / v_d and hi / v_d, where a
    domain leaves lo or reaches hi: g is evaluated at every breakpoint and the root is
    interpolated on the piece where g crosses 1, exactly since g is linear there."""
    pos = v > 0
    if lo == 1.0 or not pos.any():
        return np.full_like(v, lo)
    b = np.unique(np.concatenate([lo / v[pos], hi / v[pos]]))
    w = np.clip(b[:, None] * v[None, :], lo, hi)
    # At its own breakpoints a domain sits exactly at lo or hi; b * v may round a hair
    # away, and a hair below hi would leave g below 1 along a flat piece, moving the root
    # to that piece's far end.
    d = np.flatnonzero(pos)
    w[np.searchsorted(b, lo / v[d]), d] = lo
    w[np.searchsorted(b, hi / v[d]), d] = hi
    g = w @ f
    # At b[0] = lo / max(v) = lo every weight is lo, so g[0] is exactly lo < 1; the
    # rounded dot product can reach 1 when lo is within rounding of 1 (k would then
    # wrap to b[-1]).
    g[0] = lo
    # The shares sum to 1 only to rounding, so a mean that is 1 exactly (every domain of
    # positive share at hi = 1, say) may come out a hair below it: within ROUNDING
    # counts as reached. The search starts after g[0] = lo, itself within rounding of 1
    # when lo is.
    k = 1 + int(np.argmax(g[1:] >= 1.0 - ROUNDING))
    if g[k] < 1.0 - ROUNDING:  # only with underflowed domains (see weights_from_sparsity)
        return np.clip(b[-1] * v, lo, hi)
    if g[k] <= g[k - 1]:  # lo within rounding of 1 and g still at lo: the root is b[k]
        return np.clip(b[k] * v, lo, hi)
    u = b[k - 1] + (1.0 - g[k - 1]) * (b[k] - b[k - 1]) / (g[k] - g[k - 1])
    return np.clip(u * v, lo, hi)


def generic_weights(n_domains: int) -> np.ndarray:
    """The generic model: every domain weight 1.

    Parameters
    ----------
    n_domains : int
        Number of domains, ``>= 1``.

    Returns
    -------
    numpy.ndarray
        ``(n_domains,)`` ones.

    Raises
    ------
    ValueError
        ``n_domains < 1``.
    """
    if n_domains < 1:
        raise ValueError(f"n_domains must be at least 1, got {n_domains}")
    return np.ones(int(n_domains))


def fixed_weights(names: Sequence[str], sparse: Sequence[str], value: float = 2.0) -> np.ndarray:
    """PinnerFormerLite's fixed h_d: ``value`` for the listed sparse domains, 1 elsewhere.

    Parameters
    ----------
    names : sequence of str
        All domain names, in weight order.
    sparse : sequence of str
        The sparse domains, each among ``names``.
    value : float, default 2.0
        Their weight, positive and finite.

    Returns
    -------
    numpy.ndarray
        ``(len(names),)`` float weights.

    Raises
    ------
    ValueError
        An unknown sparse domain or a bad ``value``.

    Examples
    --------
    >>> fixed_weights(["Drama", "War", "Film-Noir"], ["Film-Noir"])
    array([1., 1., 2.])
    """
    unknown = [d for d in sparse if d not in names]
    if unknown:
        raise ValueError(f"unknown domain(s) {unknown}; known: {list(names)}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"value must be a positive number, got {value}")
    return np.array([value if d in sparse else 1.0 for d in names])


def item_weights(domain_weights, item_genres, rule: str = "max") -> np.ndarray:
    """Per-item weights from the domain weights of its genres.

    Parameters
    ----------
    domain_weights : numpy.ndarray
        ``(D,)`` finite non-negative domain weights.
    item_genres : numpy.ndarray
        ``(n_items, D)`` bool domain membership.
    rule : {"max", "mean"}, default "max"
        ``"max"``: a film of a sparse and a dense genre takes the sparse genre's weight,
        since it is the sparse genre whose signal the generic loss dilutes and the
        per-domain evaluation counts the film as a target of every genre it has.
        ``"mean"``: the average over its genres.

    Returns
    -------
    numpy.ndarray
        ``(n_items,)`` float64 weights; an item without a genre gets 1.

    Raises
    ------
    ValueError
        Shapes disagree, negative or non-finite weights, or an unknown ``rule``.

    Examples
    --------
    >>> g = np.array([[1, 0], [1, 1], [0, 0]], dtype=bool)
    >>> item_weights(np.array([0.5, 3.0]), g), item_weights(np.array([0.5, 3.0]), g, "mean")
    (array([0.5, 3. , 1. ]), array([0.5 , 1.75, 1.  ]))
    """
    w = np.asarray(domain_weights, dtype=np.float64)
    genres = _genres(item_genres)
    if w.shape != (genres.shape[1],):
        raise ValueError(f"domain_weights must have one entry per domain ({genres.shape[1]}), "
                         f"got shape {w.shape}")  # fmt: skip
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("domain_weights must be finite and non-negative")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    has = genres.any(axis=1)
    out = np.ones(genres.shape[0])
    masked = np.where(genres, w[None, :], np.nan)
    if rule == "max":
        out[has] = np.nanmax(masked[has], axis=1)
    else:
        out[has] = np.nanmean(masked[has], axis=1)
    return out


class DynamicWeights:
    """Algorithm 2: domain weights recomputed every ``every`` epochs, EMA-smoothed.

    The paper recomputes the sparsity scores during training; on fixed training data they
    would not change, so here they are recomputed from the model's recent behaviour: each
    update takes the model's top-``k`` lists for ``users`` and treats every recommended
    slot as an interaction of that user, so f_d, U_d and H_d describe how much of domain d
    the model currently serves. A domain the model under-serves becomes sparser and gains
    weight. A domain absent from every list gets the largest score of the update (the
    most under-served), not an error. The new weights are mapped like the initial ones
    and blended: w <- mu * w + (1 - mu) * w_computed.

    ``weights`` starts at Algorithm 1 on the training data; ``history`` holds
    ``(epoch, weights)`` after every update and ``seconds_`` the time spent in updates
    (including the top-k lists), so the trainer can report the overhead.

    Parameters
    ----------
    stats : DomainStats
        Statistics of the training data (``domain_stats``), for the initial weights.
    item_genres : numpy.ndarray
        ``(n_items, D)`` bool domain membership.
    a, b, c : float, default 1.0
        Sparsity coefficients (``sparsity``).
    w_min, w_max, mapping : float, float, str, default 0.2, 5.0, "mean"
        As for ``weights_from_sparsity``.
    every : int, default 2
        Update every ``every`` epochs, ``>= 1``.
    mu : float, default 0.9
        EMA factor in (0, 1): the weight kept of the previous weights.
    k : int, default 10
        Length of the top-k lists the updates read.

    Raises
    ------
    ValueError
        Bad ``every`` or ``mu``, or what ``sparsity`` and ``weights_from_sparsity`` raise.
    """

    def __init__(self, stats: DomainStats, item_genres, a: float = 1.0, b: float = 1.0,
                 c: float = 1.0, w_min: float = 0.2, w_max: float = 5.0, mapping: str = "mean",
                 every: int = 2, mu: float = 0.9, k: int = 10) -> None:  # fmt: skip
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        if not 0 < mu < 1:
            raise ValueError(f"mu must lie in (0, 1), got {mu}")
        self.genres = _genres(item_genres)
        self.names = stats.names
        self.params = dict(a=a, b=b, c=c)
        self.bounds = dict(w_min=w_min, w_max=w_max, mapping=mapping)
        self.every, self.mu, self.k = int(every), float(mu), int(k)
        self.weights = weights_from_sparsity(sparsity(stats, **self.params), shares=stats.share,
                                             **self.bounds)  # fmt: skip
        self.history: list[tuple[int, np.ndarray]] = [(0, self.weights.copy())]
        self.seconds_ = 0.0

    def computed(self, lists: np.ndarray, users: np.ndarray) -> np.ndarray:
        """Weights from top-k lists, unsmoothed.

        Parameters
        ----------
        lists : numpy.ndarray
            ``(R, k)`` int item ids, row r the list of ``users[r]``.
        users : numpy.ndarray
            ``(R,)`` int user of each row.

        Returns
        -------
        numpy.ndarray
            ``(D,)`` weights; unserved domains get the largest score of the update.
        """
        lists = np.asarray(lists, dtype=np.int64)
        flat_users = np.repeat(np.asarray(users, dtype=np.int64), lists.shape[1])
        st = _stats_from_pairs(flat_users, lists.ravel(), self.genres, list(self.names), True)
        served = st.interactions > 0
        s = np.zeros(len(self.names))
        if served.any():
            part = DomainStats(st.names, st.interactions[served], st.share[served],
                               st.users[served], st.n_users, st.entropy[served])  # fmt: skip
            s[served] = sparsity(part, **self.params)
            s[~served] = s[served].max()
        return weights_from_sparsity(s, shares=st.share, **self.bounds)

    def update(self, epoch: int, lists: np.ndarray, users: np.ndarray) -> bool:
        """EMA step with the weights of these lists when ``epoch`` is a multiple of ``every``.

        Parameters
        ----------
        epoch : int
            The current epoch.
        lists, users : numpy.ndarray
            Top-k lists and their users, as for ``computed``.

        Returns
        -------
        bool
            Whether it updated (``weights`` and ``history`` then change).
        """
        if epoch % self.every:
            return False
        t0 = time.perf_counter()
        new = self.computed(lists, users)
        self.weights = self.mu * self.weights + (1.0 - self.mu) * new
        self.history.append((int(epoch), self.weights.copy()))
        self.seconds_ += time.perf_counter() - t0
        return True

    def hook(self, users: np.ndarray, rule: str = "max"):
        """An epoch hook for a ranker (``model.epoch_hooks.append(dw.hook(users))``).

        Every ``every`` epochs it takes the top-k lists of ``users`` (seen items masked),
        updates the weights and sets the model's per-item loss weights. The lists of users
        the model ranked for this epoch's validation (``model.valid_topk_``: same model
        state, same history, same masking) are reused; only the other users are ranked
        here. With leave-one-out validation every epoch, that is no one, and an update
        costs the statistics alone. ``rankings_`` counts the users ranked by the hook.

        Parameters
        ----------
        users : numpy.ndarray
            Int user indices whose lists drive the updates.
        rule : {"max", "mean"}, default "max"
            How ``item_weights`` combines an item's domain weights.

        Returns
        -------
        callable
            ``hook(model, epoch) -> None``.
        """
        users = np.asarray(users, dtype=np.int64)
        self.rankings_ = 0

        def _hook(model, epoch: int) -> None:
            if epoch % self.every:
                return
            t0 = time.perf_counter()
            lists = np.empty((len(users), self.k), dtype=np.int64)
            todo = np.ones(len(users), dtype=bool)
            cached = getattr(model, "valid_topk_", None)
            if cached is not None and cached[1].shape[1] >= self.k:
                vu, vl = cached  # vu is sorted (np.unique)
                rows = np.minimum(np.searchsorted(vu, users), len(vu) - 1)
                todo = vu[rows] != users
                lists[~todo] = vl[rows[~todo], : self.k]
            if todo.any():
                was_training = model.net.training
                model.net.eval()
                lists[todo], _ = model.topk(users[todo], self.k, exclude_seen=True)
                if was_training:
                    model.net.train()
                self.rankings_ += int(todo.sum())
            self.seconds_ += time.perf_counter() - t0
            self.update(epoch, lists, users)
            t1 = time.perf_counter()
            model.set_item_loss_weights(item_weights(self.weights, self.genres, rule))
            self.seconds_ += time.perf_counter() - t1

        return _hook

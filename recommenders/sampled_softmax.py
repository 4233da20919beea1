"""Sampled softmax for next-item models, with the log-Q correction and mixed negatives.

The full softmax over I items costs O(I d) per example. The sampled softmax scores each
example's positive against a small candidate set instead: the other examples' targets in
the batch (*in-batch negatives*) and ``n_negatives`` items drawn, with replacement, from
a fixed proposal q (uniform or by popularity) and shared by the batch (together, *mixed
negatives*, as in Yang et al., "Mixed negative sampling for learning two-tower neural
networks in recommendations", WWW 2020).

Candidates do not appear uniformly: a batch's targets are drawn from the target
distribution p (``target_probs``: how often each item is a target among the epoch's
training examples; not the training popularity, since the item that opens a sequence is
never a target), so popular items show up as negatives far more often and a plain
softmax over the candidates punishes them for it. The log-Q correction (Bengio and Senecal
2008; Yi et al., "Sampling-bias-corrected neural modeling for large corpus item
recommendations", RecSys 2019) subtracts from every candidate's logit the log of its
expected number of appearances in the candidate set,

    z'_j = z_j - log Q_j,   Q_j = B p_j [in-batch] + K q_j [sampled],

with B the batch size and K = ``n_negatives`` (an item that can come from both sources
gets the sum). The positive's own logit is corrected too, as in the standard estimator,
so the loss is the cross-entropy of the positive over the corrected candidate logits,

    L_i = -z'_{i,t} + log( exp(z'_{i,t}) + sum over the negative candidates j of exp(z'_{i,j}) ).

Without the correction the negatives' part of the gradient follows the proposal times the
softmax rather than the softmax itself, so popular items are pushed down far more than
the full softmax would push them. With it, as the candidate set grows, the gradient on
the negatives approaches the full softmax's, restricted to the items other than the
positive (the positive's own mass leaves the normaliser because sampled copies of it are
masked; the test checks both statements on a case where the full softmax is known).

In-batch negatives alone are the known pitfall. They follow the target popularity, so
without the correction the head items are over-penalised, and with it the estimate rests
on the few tail items that happen to be in the batch: tail items are almost never seen as
negatives, their scores are left unconstrained and can drift up and crowd the ranking
(the collapse of in-batch training on long-tailed catalogues). Mixed negatives add items
drawn from a second proposal (uniform by default) that reaches the tail, and the log-Q
correction of the combined expected count keeps the estimator pointed at the full
softmax; that is why mixed negatives with log-Q are the default here.

Logits, corrections and the log-sum-exp are computed in float64: the corrections of rare
items (log Q of 1e-7 and below) are large against the logits. A negative candidate equal
to the row's positive (an *accidental hit*: a repeated target in the batch, or a sampled
copy of it) is masked out so that the positive is never its own negative; other repeated
negatives are kept, since the expected-count correction already accounts for repeats.
"""

from __future__ import annotations

import numpy as np
import torch

SAMPLERS = ("uniform", "popularity")


class NegativeSampler:
    """Draws negatives with replacement from a fixed distribution over the items.

    ``kind="uniform"``: q_j = 1 / I (``counts`` and ``alpha`` are ignored).
    ``kind="popularity"``: q_j proportional to ``max(counts[j], 1) ** alpha``, with
    ``counts`` the training interaction counts. The floor of one count keeps every
    q_j > 0, since log q_j enters the correction. ``alpha`` defaults to 1 (raw
    popularity, the distribution of in-batch negatives); ``alpha`` < 1 flattens it toward
    uniform (0.75 is the word2vec choice), ``alpha`` = 0 is uniform. With the log-Q
    correction any ``alpha`` gives a consistent estimator; it only moves the variance
    between head and tail items, so the neutral value is the default.
    ``probs`` holds q as float64 on ``device``.

    Parameters
    ----------
    n_items : int
        Catalogue size I, ``>= 1``.
    kind : {"uniform", "popularity"}, default "uniform"
        The proposal.
    counts : array-like, optional
        ``(I,)`` finite non-negative training counts, not all zero; needed for
        ``"popularity"``.
    alpha : float, default 1.0
        Non-negative popularity exponent.
    device : str or torch.device, default "cpu"
        Where ``probs`` lives.

    Raises
    ------
    ValueError
        A bad ``n_items``, ``kind``, ``counts`` or ``alpha``.

    Examples
    --------
    >>> NegativeSampler(3, "popularity", counts=[0, 1, 3]).probs
    tensor([0.2000, 0.2000, 0.6000], dtype=torch.float64)
    """

    def __init__(self, n_items: int, kind: str = "uniform", counts=None, alpha: float = 1.0,
                 device: str | torch.device = "cpu") -> None:  # fmt: skip
        if isinstance(n_items, bool) or not isinstance(n_items, (int, np.integer)) or n_items < 1:
            raise ValueError(f"n_items must be a positive integer, got {n_items!r}")
        if kind not in SAMPLERS:
            raise ValueError(f"kind must be one of {SAMPLERS}, got {kind!r}")
        if kind == "uniform":
            probs = np.full(int(n_items), 1.0 / n_items)
        else:
            if counts is None:
                raise ValueError("kind='popularity' needs counts (training count per item)")
            c = np.asarray(counts, dtype=np.float64)
            if c.shape != (n_items,):
                raise ValueError(f"counts must have shape ({n_items},), got {c.shape}")
            if not np.all(np.isfinite(c)) or np.any(c < 0):
                raise ValueError("counts must be finite and non-negative")
            if not np.any(c > 0):
                raise ValueError("counts are all zero: no popularity to sample from")
            ok = not isinstance(alpha, bool) and isinstance(alpha, (int, float, np.number))
            if not ok or not np.isfinite(alpha) or alpha < 0:
                raise ValueError(f"alpha must be a non-negative number, got {alpha}")
            w = np.maximum(c, 1.0) ** float(alpha)
            probs = w / w.sum()
        self.kind, self.n_items = kind, int(n_items)
        self.probs = torch.as_tensor(probs, dtype=torch.float64, device=device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Item ids drawn with replacement from q.

        Parameters
        ----------
        n : int
            How many, ``>= 0``.
        generator : torch.Generator, optional
            Source of randomness (a seeded one gives the same draw).

        Returns
        -------
        torch.Tensor
            ``(n,)`` int64 on ``probs``' device.

        Raises
        ------
        ValueError
            A negative or non-integer ``n``.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        n = int(n)
        if n == 0:
            return torch.zeros(0, dtype=torch.int64, device=self.probs.device)
        if self.kind == "uniform":
            idx = torch.randint(0, self.n_items, (n,), generator=generator)
        else:
            idx = torch.multinomial(self.probs.cpu(), n, replacement=True, generator=generator)
        return idx.to(self.probs.device)


def target_probs(targets, n_items: int, device: str | torch.device = "cpu") -> torch.Tensor:
    """The distribution in-batch negatives come from: item frequencies among ``targets``.

    Parameters
    ----------
    targets : array-like or torch.Tensor
        Non-empty 1-D integer item ids in ``[0, I)`` that are training targets in an
        epoch, one per example, repeats included (a next-item model: every item of a
        sequence but the first).
    n_items : int
        Catalogue size I, ``>= 1``.
    device : str or torch.device, default "cpu"
        Where the result lives.

    Returns
    -------
    torch.Tensor
        (I,) float64 probabilities, 0 for items that are never a target.

    Raises
    ------
    ValueError
        A bad ``n_items``, or ``targets`` empty, not 1-D integer or out of range.

    Examples
    --------
    >>> target_probs(np.array([0, 2, 2, 2]), 4)
    tensor([0.2500, 0.0000, 0.7500, 0.0000], dtype=torch.float64)
    """
    if isinstance(n_items, bool) or not isinstance(n_items, (int, np.integer)) or n_items < 1:
        raise ValueError(f"n_items must be a positive integer, got {n_items!r}")
    t = targets.detach().cpu().numpy() if isinstance(targets, torch.Tensor) else targets
    t = np.asarray(t)
    if t.ndim != 1 or t.size == 0 or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"targets must be a non-empty 1-D integer array of item ids, "
                         f"got dtype {t.dtype} and shape {t.shape}")  # fmt: skip
    if t.min() < 0 or t.max() >= n_items:
        raise ValueError(f"targets must lie in [0, {n_items}): drop padding before counting")
    counts = np.bincount(t, minlength=int(n_items)).astype(np.float64)
    return torch.as_tensor(counts / counts.sum(), dtype=torch.float64, device=device)


def _check(hidden, item_weights, targets, weights, n_negatives):
    for name, value in (("hidden", hidden), ("item_weights", item_weights),
                        ("targets", targets)):  # fmt: skip
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch tensor, got {type(value).__name__}")
    if weights is not None and not isinstance(weights, torch.Tensor):
        raise TypeError(f"weights must be a torch tensor or None, got {type(weights).__name__}")
    if hidden.ndim != 2 or item_weights.ndim != 2 or hidden.shape[1] != item_weights.shape[1]:
        raise ValueError(f"hidden must be (N, d) and item_weights (I, d) with the same d; got "
                         f"{tuple(hidden.shape)} and {tuple(item_weights.shape)}")  # fmt: skip
    if hidden.shape[0] == 0:
        raise ValueError("hidden has no rows: the loss of an empty batch is undefined")
    if targets.ndim != 1 or targets.shape[0] != hidden.shape[0]:
        raise ValueError(f"targets must be (N,) = ({hidden.shape[0]},), got {tuple(targets.shape)}")
    if targets.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"targets must be an integer tensor, got {targets.dtype}")
    n_items = item_weights.shape[0]
    if int(targets.min()) < 0 or int(targets.max()) >= n_items:
        raise ValueError(f"targets must lie in [0, {n_items})")
    if not torch.isfinite(hidden).all():
        raise ValueError("hidden holds NaN or infinite values")
    if not torch.isfinite(item_weights).all():
        raise ValueError("item_weights holds NaN or infinite values")
    if weights is not None:
        if weights.shape != targets.shape:
            raise ValueError(f"weights must be (N,) = ({targets.shape[0]},), "
                             f"got {tuple(weights.shape)}")  # fmt: skip
        if not torch.isfinite(weights).all() or bool((weights < 0).any()):
            raise ValueError("weights must be finite and non-negative")
    if (isinstance(n_negatives, bool) or not isinstance(n_negatives, (int, np.integer))
            or n_negatives < 0):  # fmt: skip
        raise ValueError(f"n_negatives must be a non-negative integer, got {n_negatives!r}")


def sampled_softmax_loss(
    hidden: torch.Tensor,
    item_weights: torch.Tensor,
    targets: torch.Tensor,
    *,
    sampler: NegativeSampler | None,
    n_negatives: int = 256,
    in_batch: bool = True,
    batch_probs: torch.Tensor | None = None,
    logq: bool = True,
    weights: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    reduction: str = "mean",
    max_in_batch: int = 512,
) -> torch.Tensor:
    """Sampled-softmax cross-entropy of each example's positive (see the module docstring).

    Parameters
    ----------
    hidden, item_weights, targets : torch.Tensor
        Finite user states (N, d), N >= 1; finite output item embeddings (I, d); and
        integer positive items (N,) in ``[0, I)``.
    sampler : NegativeSampler or None
        Proposal of the shared sampled negatives over the I items; None uses in-batch
        negatives only.
    n_negatives : int, default 256
        Sampled negatives shared by the batch, ``>= 0`` (0: in-batch only).
    in_batch : bool, default True
        Use the rows' targets as shared negatives.
    batch_probs : torch.Tensor, optional
        (I,) probability that a row's target is each item, the distribution the rows were
        drawn from (``target_probs`` of the epoch's targets): needed for the log-Q
        correction of in-batch candidates.
    logq : bool, default True
        Apply the log-Q correction.
    weights : torch.Tensor, optional
        (N,) finite non-negative per-example weights: the loss is ``mean(w_i * l_i)`` (the
        weighted loss sum_i w_i L_i / N). It is not renormalised by the sum of the weights:
        the weights are meant to scale the gradient of some examples (a sparse domain's)
        against the others', and renormalising would undo that whenever all weights move
        together.
    generator : torch.Generator, optional
        Source of randomness of the sample and of the in-batch row subset.
    reduction : {"mean", "none"}, default "mean"
        The mean, or the per-example losses (weighted).
    max_in_batch : int, default 512
        With more rows than this, the in-batch negatives are the targets of
        ``max_in_batch`` rows drawn without replacement (a next-item batch has a row per
        sequence position, thousands of them, and all-pairs logits would cost O(N^2)).
        B in the correction is the number of rows used.

    Returns
    -------
    torch.Tensor
        A scalar (``"mean"``) or ``(N,)`` losses, in ``hidden``'s dtype.

    Raises
    ------
    TypeError
        Non-tensor inputs or non-integer ``targets``.
    ValueError
        Shapes or values out of range, no negatives at all, a sampler over another
        catalogue, a missing or bad ``batch_probs`` with log-Q and in-batch negatives, or
        a candidate of expected count 0.
    """
    _check(hidden, item_weights, targets, weights, n_negatives)
    if isinstance(max_in_batch, bool) or not isinstance(max_in_batch, int) or max_in_batch < 1:
        raise ValueError(f"max_in_batch must be a positive integer, got {max_in_batch!r}")
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    use_sampled = sampler is not None and n_negatives > 0
    if not in_batch and not use_sampled:
        raise ValueError("no negatives: set in_batch=True or give a sampler and n_negatives > 0")
    if sampler is not None and sampler.n_items != item_weights.shape[0]:
        raise ValueError(f"sampler covers {sampler.n_items} items but item_weights has "
                         f"{item_weights.shape[0]}")  # fmt: skip
    if logq and in_batch:
        if batch_probs is None:
            raise ValueError("logq with in-batch negatives needs batch_probs (target popularity)")
        if not isinstance(batch_probs, torch.Tensor):
            raise TypeError("batch_probs must be a torch tensor")
        if (batch_probs.shape != (item_weights.shape[0],) or not torch.isfinite(batch_probs).all()
                or bool((batch_probs < 0).any())):  # fmt: skip
            raise ValueError("batch_probs must be (I,) finite non-negative probabilities")
    n_negatives = int(n_negatives)
    n = targets.shape[0]
    device = hidden.device
    targets = targets.to(torch.int64)
    h = hidden.double()
    pos_logit = (h * item_weights[targets].double()).sum(dim=1)  # (N,)
    # Shared negative columns: the targets of (up to max_in_batch) rows, then the sample.
    shared, n_batch = [], 0
    if in_batch:
        rows = (torch.arange(n, device=device) if n <= max_in_batch else
                torch.randperm(n, generator=generator)[:max_in_batch].to(device))  # fmt: skip
        shared.append(targets[rows])
        n_batch = rows.numel()
    if use_sampled:
        shared.append(sampler.sample(n_negatives, generator).to(device))
    shared = torch.cat(shared)
    logits = h @ item_weights[shared].double().T  # (N, C)
    if logq:

        def log_expected(items):
            q = torch.zeros(items.shape[0], dtype=torch.float64, device=device)
            if in_batch:
                q += n_batch * batch_probs.to(device=device, dtype=torch.float64)[items]
            if use_sampled:
                q += n_negatives * sampler.probs.to(device)[items]
            if not bool((q > 0).all()):
                raise ValueError("log-Q correction: a candidate has expected count 0 (batch_probs "
                                 "is 0 at a target item and no sampler covers it)")  # fmt: skip
            return torch.log(q)

        logits = logits - log_expected(shared)[None, :]
        pos_logit = pos_logit - log_expected(targets)
    # Accidental hits: a shared column holding the row's own target is not its negative.
    logits = logits.masked_fill(shared[None, :] == targets[:, None], float("-inf"))
    per_example = torch.logsumexp(torch.cat([pos_logit[:, None], logits], dim=1), dim=1) - pos_logit
    per_example = per_example.to(hidden.dtype)
    if weights is not None:
        per_example = per_example * weights.to(per_example.dtype)
    return per_example.mean() if reduction == "mean" else per_example

"""Diversity re-ranking of a base ranker's candidates, vectorised over users.

Conventions
-----------
* One user's input is ``scores``, an ``(N,)`` float array: the base ranker's relevance of
  ``N`` candidate items. A re-ranker returns the selected candidate *positions* (indices
  ``0..N-1`` into the candidate array, not item ids) as an ``(k,)`` int64 array in selection
  order, so ``candidates[result]`` is the re-ranked list.
* The ``*_batch`` forms take ``(U, N)`` scores (and ``(U, N, N)`` similarities or
  ``(U, N, d)`` embeddings) and return ``(U, k)``. They loop in Python over the ``k``
  selection steps only, never over users. Each single-user function is the batch form with
  ``U = 1``, so the two can never disagree.
* Ties are broken towards the lowest candidate position (``np.argmax``); when candidates
  arrive sorted by the base score, that is the most relevant of the tied items.
* ``normalize=True`` (the default of MMR, DPP and SSD) min-max scales each user's scores to
  ``[0, 1]`` before re-ranking: ``s' = (s - min s) / (max s - min s)``, and a user whose
  scores are all equal gets ``s' = 0``. The trade-off parameters (``lam``, ``theta``,
  ``gamma``) weigh relevance against similarities that live in ``[0, 1]``; without the
  scaling their meaning would depend on the base ranker's score range (BPR logits, softmax
  probabilities, ...). With ``normalize=False`` scores are used exactly as given.

Every function validates its input and raises ``ValueError`` / ``TypeError`` rather than
returning NaN.
"""

from __future__ import annotations

import numpy as np

# Marginal DPP gains (squared Cholesky pivots of a unit-diagonal similarity) at or below
# this are treated as zero: the item lies in the span of those already selected.
DPP_EPS = 1e-10

# A Gram-Schmidt residual shorter than this fraction of the vector's own norm counts as
# linearly dependent on the window (rounding leaves ~1e-16, never exactly zero).
_GS_TOL = 1e-10

# ----------------------------------------------------------------- input validation


def _check_scores(scores, ndim: int, batch_name: str | None = None) -> np.ndarray:
    arr = np.asarray(scores)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"scores must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        if ndim == 1:
            hint = f"; use {batch_name} for a (U, N) batch" if batch_name else ""
            raise ValueError(f"scores must be 1-D (N,) for one user, got shape {arr.shape}{hint}")
        raise ValueError(f"scores must be 2-D (U, N), got shape {arr.shape}")
    if arr.shape[-1] == 0:
        raise ValueError("scores hold no candidates (N = 0); re-ranking needs N >= 1")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("scores contain NaN or infinite values; clean the base ranker output")
    return arr


def _check_k(k, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an integer, got {type(k).__name__} {k!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if k > n:
        raise ValueError(
            f"k={k} is larger than the candidate set (N={n}); retrieve more candidates "
            "or ask for a shorter list"
        )
    return int(k)


def _check_param(
    value, name: str, low: float, high: float | None, high_open: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    ok = np.isfinite(value) and value >= low
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        if high is None:
            interval = f"[{low:g}, inf)"
        else:
            interval = f"[{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return value


def _check_similarity(similarity, shape: tuple[int, ...]) -> np.ndarray:
    sim = np.asarray(similarity)
    if sim.dtype == object or not (
        np.issubdtype(sim.dtype, np.number) or np.issubdtype(sim.dtype, np.bool_)
    ):
        raise TypeError(f"similarity must be a numeric array, got dtype {sim.dtype}")
    if sim.shape != shape:
        raise ValueError(
            f"similarity must have shape {shape} to match scores, got {sim.shape}; "
            "build it with candidate_similarity(candidates, ...)"
        )
    sim = sim.astype(np.float64)
    if not np.all(np.isfinite(sim)):
        raise ValueError("similarity contains NaN or infinite values")
    return sim


def _check_embeddings(embeddings, shape: tuple[int, ...]) -> np.ndarray:
    emb = np.asarray(embeddings)
    if emb.dtype == object or not np.issubdtype(emb.dtype, np.number):
        raise TypeError(f"embeddings must be a numeric array, got dtype {emb.dtype}")
    want = "(" + ", ".join(str(s) for s in shape) + ", d)"
    if emb.ndim != len(shape) + 1 or emb.shape[:-1] != shape or emb.shape[-1] == 0:
        raise ValueError(
            f"embeddings must have shape {want} (one d-vector per candidate, d >= 1) "
            f"to match scores, got {emb.shape}"
        )
    emb = emb.astype(np.float64)
    if not np.all(np.isfinite(emb)):
        raise ValueError("embeddings contain NaN or infinite values")
    return emb


def _check_window(window) -> int:
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)):
        raise TypeError(f"window must be an integer, got {type(window).__name__} {window!r}")
    if window < 1:
        raise ValueError(
            f"window must be at least 1 (items kept in the sliding window), got {window}"
        )
    return int(window)


def _one_user(array, name: str, shape: tuple[int, ...], batch_name: str) -> np.ndarray:
    """Add the user axis to a single-user ``similarity`` / ``embeddings`` argument.

    Checking the shape here keeps the error in the caller's terms ((N, N), not (1, N, N)).
    """
    arr = np.asarray(array)
    if arr.shape[: len(shape)] != shape or arr.ndim != len(shape) + (name == "embeddings"):
        want = "(" + ", ".join(str(s) for s in shape) + (", d)" if name == "embeddings" else ")")
        raise ValueError(
            f"{name} must have shape {want} to match scores, got {arr.shape}; "
            f"use {batch_name} for a batch of users"
        )
    return arr[None]


def _minmax(scores: np.ndarray) -> np.ndarray:
    low = scores.min(axis=1, keepdims=True)
    span = scores.max(axis=1, keepdims=True) - low
    # A constant row carries no ranking information; mapping it to 0 (not 0/0) leaves the
    # decision to the diversity term and never produces NaN.
    return np.divide(scores - low, span, out=np.zeros_like(scores), where=span > 0)


# ----------------------------------------------------------------- similarity


def candidate_similarity(
    candidates: np.ndarray,
    item_genres: np.ndarray | None = None,
    item_embeddings: np.ndarray | None = None,
    metric: str = "jaccard",
) -> np.ndarray:
    """Pairwise similarity of each user's candidate items.

    * ``metric="jaccard"`` uses ``item_genres``, a bool ``(n_items, n_genres)`` matrix:
      sim(a, b) = |G_a & G_b| / |G_a | G_b|. Two items that *both* have no genre get
      similarity 1 (they are indistinguishable by genre); an item without genres is at
      similarity 0 to any item with genres. This matches ``recommenders.metrics.ild``,
      which puts two genre-less items at distance 0, so re-ranking optimises the quantity
      that ILD measures.
    * ``metric="cosine"`` uses ``item_embeddings``, a float ``(n_items, d)`` matrix:
      sim(a, b) = <e_a, e_b> / (||e_a|| ||e_b||), clipped to [-1, 1]. A zero vector has
      similarity 0 to every other item, as in ``recommenders.metrics.ild_embedding``.

    Under both metrics an item is at similarity exactly 1 to itself (the diagonal, and any
    pair of positions holding the same item id).

    Parameters
    ----------
    candidates : numpy.ndarray
        ``(U, N)`` int item ids (or ``(N,)`` for one user), in ``[0, n_items)``.
    item_genres : numpy.ndarray, optional
        ``(n_items, n_genres)`` bool (or 0/1); required by ``"jaccard"`` only.
    item_embeddings : numpy.ndarray, optional
        ``(n_items, d)`` finite floats; required by ``"cosine"`` only.
    metric : {"jaccard", "cosine"}, default "jaccard"
        The similarity.

    Returns
    -------
    numpy.ndarray
        ``(U, N, N)`` (or ``(N, N)``) float64, ``sim[u, i, j]`` the similarity of items
        ``candidates[u, i]`` and ``candidates[u, j]``.

    Raises
    ------
    TypeError
        Non-integer ``candidates``.
    ValueError
        An unknown metric, the wrong or an extra item matrix, bad shapes or values, or
        candidates outside the item matrix.

    Examples
    --------
    >>> g = np.array([[1, 0], [1, 0], [0, 1]], dtype=bool)
    >>> candidate_similarity(np.array([0, 1, 2]), item_genres=g)
    array([[1., 1., 0.],
           [1., 1., 0.],
           [0., 0., 1.]])
    """
    if metric not in ("jaccard", "cosine"):
        raise ValueError(f"metric must be 'jaccard' or 'cosine', got {metric!r}")
    cand = np.asarray(candidates)
    if cand.dtype == object or not np.issubdtype(cand.dtype, np.integer):
        raise TypeError(f"candidates must hold integer item ids, got dtype {cand.dtype}")
    if cand.ndim not in (1, 2):
        raise ValueError(f"candidates must be (U, N) or (N,) item ids, got shape {cand.shape}")
    single = cand.ndim == 1
    cand = np.atleast_2d(cand).astype(np.int64)

    if metric == "jaccard":
        if item_genres is None:
            raise ValueError("metric='jaccard' needs item_genres (n_items, n_genres)")
        if item_embeddings is not None:
            raise ValueError("metric='jaccard' uses item_genres only; drop item_embeddings")
        genres = np.asarray(item_genres)
        if genres.ndim != 2:
            raise ValueError(
                f"item_genres must be a (n_items, n_genres) matrix, got shape {genres.shape}"
            )
        if genres.dtype != bool:
            if not np.all((genres == 0) | (genres == 1)):
                raise ValueError("item_genres must hold booleans (or 0/1)")
            genres = genres.astype(bool)
        n_items = genres.shape[0]
    else:
        if item_embeddings is None:
            raise ValueError("metric='cosine' needs item_embeddings (n_items, d)")
        if item_genres is not None:
            raise ValueError("metric='cosine' uses item_embeddings only; drop item_genres")
        emb = np.asarray(item_embeddings)
        if emb.ndim != 2 or not np.issubdtype(emb.dtype, np.number):
            raise ValueError(
                f"item_embeddings must be a numeric (n_items, d) matrix, got shape {emb.shape}"
            )
        emb = emb.astype(np.float64)
        if not np.all(np.isfinite(emb)):
            raise ValueError("item_embeddings contain NaN or infinite values")
        n_items = emb.shape[0]

    if cand.size and (cand.min() < 0 or cand.max() >= n_items):
        raise ValueError(
            f"candidates hold item ids outside [0, {n_items}); the item matrix must cover "
            "every candidate item"
        )

    same = cand[:, :, None] == cand[:, None, :]
    if metric == "jaccard":
        g = genres[cand].astype(np.float64)  # (U, N, G)
        inter = g @ g.transpose(0, 2, 1)
        sizes = g.sum(axis=2)
        union = sizes[:, :, None] + sizes[:, None, :] - inter
        sim = np.divide(inter, union, out=np.ones_like(inter), where=union > 0)
    else:
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        unit = np.divide(emb, norms, out=np.zeros_like(emb), where=norms > 0)
        e = unit[cand]  # (U, N, d)
        sim = np.clip(e @ e.transpose(0, 2, 1), -1.0, 1.0)
    sim[same] = 1.0
    return sim[0] if single else sim


# ----------------------------------------------------------------- MMR


def mmr_batch(
    scores: np.ndarray,
    similarity: np.ndarray,
    k: int,
    lam: float = 0.7,
    normalize: bool = True,
) -> np.ndarray:
    """Maximal Marginal Relevance for a batch of users; see ``mmr``.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite scores.
    similarity : numpy.ndarray
        ``(U, N, N)`` finite similarities.
    k, lam, normalize : int, float, bool
        As for ``mmr``.

    Returns
    -------
    numpy.ndarray
        ``(U, k)`` int64 candidate positions in selection order.
    """
    s = _check_scores(scores, 2)
    n_users, n = s.shape
    sim = _check_similarity(similarity, (n_users, n, n))
    k = _check_k(k, n)
    lam = _check_param(lam, "lam", 0.0, 1.0)
    if normalize:
        s = _minmax(s)

    rows = np.arange(n_users)
    out = np.empty((n_users, k), dtype=np.int64)
    taken = np.zeros((n_users, n), dtype=bool)
    # The first pick is the most relevant item: with S empty the max-similarity term is
    # undefined, and treating it as 0 would make lam=0 pick position 0 regardless of score.
    pick = np.argmax(s, axis=1)
    # -inf, not 0: similarities may be negative (cosine) and max over S must see them.
    max_sim = np.full((n_users, n), -np.inf)
    for t in range(k):
        if t > 0:
            gain = lam * s - (1.0 - lam) * max_sim
            pick = np.argmax(np.where(taken, -np.inf, gain), axis=1)
        out[:, t] = pick
        taken[rows, pick] = True
        # sim[u, i, j] with i a remaining candidate and j the item just selected.
        max_sim = np.maximum(max_sim, sim[rows, :, pick])
    return out


def mmr(
    scores: np.ndarray,
    similarity: np.ndarray,
    k: int,
    lam: float = 0.7,
    normalize: bool = True,
) -> np.ndarray:
    """Maximal Marginal Relevance re-ranking of one user's candidates.

    Carbonell & Goldstein, "The Use of MMR, Diversity-Based Reranking for Reordering
    Documents and Producing Summaries", SIGIR 1998. Greedy: the first pick is
    argmax_i s_i; every later pick is

        argmax_{i not in S}  lam * s_i - (1 - lam) * max_{j in S} sim(i, j)

    where S holds the items selected so far. ``lam = 1`` is the base ranking's top-k,
    ``lam = 0`` pure dissimilarity to the selected items.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(N,)`` finite relevance of the candidates.
    similarity : numpy.ndarray
        ``(N, N)``, ``similarity[i, j]`` the similarity of candidate ``i`` to the selected
        candidate ``j`` (e.g. from ``candidate_similarity``).
    k : int
        List length, ``1 <= k <= N``.
    lam : float, default 0.7
        Relevance weight in [0, 1].
    normalize : bool, default True
        Min-max scale the scores to [0, 1] first (module docstring).

    Returns
    -------
    numpy.ndarray
        ``(k,)`` int64 candidate positions in selection order.

    Raises
    ------
    TypeError
        Non-numeric arrays, or ``k``/``lam`` of the wrong type.
    ValueError
        Shapes that do not match, non-finite values, ``k`` or ``lam`` out of range.

    Examples
    --------
    Candidates 0 and 1 share their genre: at ``lam=0.5`` the second pick is 2
    (gain 0.5 * 0 - 0.5 * 0 = 0 against 0.5 * 0.8 - 0.5 * 1 = -0.1 for candidate 1):

    >>> g = np.array([[1, 0], [1, 0], [0, 1]], dtype=bool)
    >>> sim = candidate_similarity(np.array([0, 1, 2]), item_genres=g)
    >>> s = np.array([1.0, 0.9, 0.5])
    >>> mmr(s, sim, k=2, lam=0.5), mmr(s, sim, k=2, lam=1.0)
    (array([0, 2]), array([0, 1]))
    """
    s = _check_scores(scores, 1, "mmr_batch")
    return mmr_batch(
        s[None],
        _one_user(similarity, "similarity", (s.size, s.size), "mmr_batch"),
        k,
        lam,
        normalize,
    )[0]


# ----------------------------------------------------------------- DPP


def dpp_batch(
    scores: np.ndarray,
    similarity: np.ndarray,
    k: int,
    theta: float = 0.7,
    normalize: bool = True,
) -> np.ndarray:
    """Fast greedy DPP MAP re-ranking for a batch of users; see ``dpp``.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite scores.
    similarity : numpy.ndarray
        ``(U, N, N)`` finite and symmetric.
    k, theta, normalize : int, float, bool
        As for ``dpp``.

    Returns
    -------
    numpy.ndarray
        ``(U, k)`` int64 candidate positions in selection order.
    """
    s = _check_scores(scores, 2)
    n_users, n = s.shape
    sim = _check_similarity(similarity, (n_users, n, n))
    if not np.allclose(sim, sim.transpose(0, 2, 1), rtol=0.0, atol=1e-8):
        raise ValueError(
            "similarity must be symmetric for a DPP kernel; symmetrise it with (S + S^T) / 2"
        )
    k = _check_k(k, n)
    theta = _check_param(theta, "theta", 0.0, 1.0, high_open=True)
    r = _minmax(s) if normalize else s
    # log q_i^2 = 2 * alpha * r_i = theta / (1 - theta) * r_i.
    log_q2 = (theta / (1.0 - theta)) * r

    rows = np.arange(n_users)
    out = np.empty((n_users, k), dtype=np.int64)
    taken = np.zeros((n_users, n), dtype=bool)
    # c[u, i, :t] is row i of the Cholesky factor of S restricted to the selected items
    # and i; d2[u, i] the squared pivot, i.e. det(S_{Y+i}) / det(S_Y).
    c = np.zeros((n_users, n, max(k - 1, 1)))
    d2 = np.einsum("uii->ui", sim).copy()
    exhausted = np.zeros(n_users, dtype=bool)
    for t in range(k):
        alive = (d2 > DPP_EPS) & ~taken
        gain = np.where(alive, np.log(np.maximum(d2, DPP_EPS)) + log_q2, -np.inf)
        pick = np.argmax(gain, axis=1)
        # No remaining item has a positive marginal gain (S is rank-deficient on the
        # candidates, or not PSD as Jaccard matrices may be): the paper stops here, but
        # callers need exactly k items, so the rest are filled by relevance. For PSD S gains
        # never grow as Y grows, and for non-PSD S the recursion means nothing past this
        # point, so once a user is exhausted it stays exhausted (and its factor is frozen).
        exhausted |= ~alive.any(axis=1)
        by_relevance = np.argmax(np.where(taken, -np.inf, r), axis=1)
        pick = np.where(exhausted, by_relevance, pick)
        out[:, t] = pick
        taken[rows, pick] = True
        if t == k - 1:
            break
        # Incremental Cholesky step of Chen et al. (2018), Algorithm 1, run on S:
        # e_i = (S_ji - <c_j, c_i>) / d_j,  c_i <- [c_i, e_i],  d_i^2 <- d_i^2 - e_i^2.
        c_j = c[rows, pick, :t]  # (U, t)
        d_j = np.sqrt(np.where(exhausted, 1.0, d2[rows, pick]))
        e = (sim[rows, pick, :] - np.einsum("uit,ut->ui", c[:, :, :t], c_j)) / d_j[:, None]
        e[exhausted] = 0.0
        c[:, :, t] = e
        d2 = d2 - e * e
    return out


def dpp(
    scores: np.ndarray,
    similarity: np.ndarray,
    k: int,
    theta: float = 0.7,
    normalize: bool = True,
) -> np.ndarray:
    """Greedy MAP inference of a DPP for one user, with incremental Cholesky updates.

    Chen, Zhang & Zhou, "Fast Greedy MAP Inference for Determinantal Point Process to
    Improve Recommendation Diversity", NeurIPS 2018, Algorithm 1. The kernel is

        L = Diag(q) S Diag(q),   q_i = exp(alpha * r_i),   alpha = theta / (2 (1 - theta))

    (section 4.1), with ``S = similarity`` (symmetric, ideally PSD with unit diagonal) and
    ``r`` the scores (min-max scaled to [0, 1] when ``normalize``). Each step adds the item
    maximising log det(L_{Y+i}), i.e. log d_i^2 of the incremental Cholesky factor, which
    is equivalent to maximising

        theta * sum_{i in Y} r_i + (1 - theta) * log det(S_Y),

    so ``theta = 0`` is pure diversity and ``theta -> 1`` the base ranking. Cost is
    O(N k^2) per user; no determinant is ever recomputed. Because
    log det(L_Y) = sum_{i in Y} log q_i^2 + log det(S_Y), the Cholesky recursion runs on S
    and adds 2 alpha r_i to the log-gain, which is exactly the paper's rule without
    overflowing exp(alpha r) for theta near 1.

    Fallback: an item whose marginal gain d_i^2 (a squared Cholesky pivot of S) is at most
    ``DPP_EPS`` adds no volume: it lies in the span of the selected items, or S is not PSD
    (Jaccard similarity need not be). Such items are skipped while any item with a positive
    gain remains. The paper stops when none remains; here the remaining slots are filled
    with the unselected items of highest ``r`` instead, so exactly ``k`` positions are
    always returned. The threshold applies to the pivots of S, not of L, so it does not
    depend on ``theta``.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(N,)`` finite relevance of the candidates.
    similarity : numpy.ndarray
        ``(N, N)`` finite, symmetric (within 1e-8).
    k : int
        List length, ``1 <= k <= N``.
    theta : float, default 0.7
        Relevance weight in [0, 1).
    normalize : bool, default True
        Min-max scale the scores to [0, 1] first.

    Returns
    -------
    numpy.ndarray
        ``(k,)`` int64 candidate positions in selection order.

    Raises
    ------
    TypeError
        Non-numeric arrays, or ``k``/``theta`` of the wrong type.
    ValueError
        Bad shapes, non-finite values, an asymmetric ``similarity``, ``k`` or ``theta``
        out of range.

    Examples
    --------
    >>> g = np.array([[1, 0], [1, 0], [0, 1]], dtype=bool)
    >>> dpp(np.array([1.0, 0.9, 0.5]), candidate_similarity(np.arange(3), item_genres=g), 2)
    array([0, 2])
    """
    s = _check_scores(scores, 1, "dpp_batch")
    return dpp_batch(
        s[None],
        _one_user(similarity, "similarity", (s.size, s.size), "dpp_batch"),
        k,
        theta,
        normalize,
    )[0]


# ----------------------------------------------------------------- SSD


def _orthonormal_rows(w: np.ndarray) -> np.ndarray:
    """Modified Gram-Schmidt over the rows of each ``(U, m, d)`` block.

    Rows that are (numerically) dependent on the earlier rows become zero, so projecting
    onto the result is projecting onto the span of the window.
    """
    q = np.zeros_like(w)
    for a in range(w.shape[1]):
        v = w[:, a, :].copy()
        scale = np.linalg.norm(v, axis=1)
        # Two passes ("twice is enough") keep the basis orthogonal for near-duplicates.
        for _ in range(2):
            for b in range(a):
                v -= np.sum(v * q[:, b, :], axis=1, keepdims=True) * q[:, b, :]
        norm = np.linalg.norm(v, axis=1)
        keep = norm > _GS_TOL * scale
        q[:, a, :] = np.divide(v, norm[:, None], out=np.zeros_like(v), where=keep[:, None])
    return q


def ssd_batch(
    scores: np.ndarray,
    embeddings: np.ndarray,
    k: int,
    gamma: float = 0.7,
    window: int = 5,
    normalize: bool = True,
) -> np.ndarray:
    """Sliding Spectrum Decomposition re-ranking for a batch of users; see ``ssd``.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite scores.
    embeddings : numpy.ndarray
        ``(U, N, d)`` finite candidate vectors.
    k, gamma, window, normalize : int, float, int, bool
        As for ``ssd``.

    Returns
    -------
    numpy.ndarray
        ``(U, k)`` int64 candidate positions in selection order.
    """
    s = _check_scores(scores, 2)
    n_users, n = s.shape
    emb = _check_embeddings(embeddings, (n_users, n))
    k = _check_k(k, n)
    gamma = _check_param(gamma, "gamma", 0.0, None)
    window = _check_window(window)
    r = _minmax(s) if normalize else s

    rows = np.arange(n_users)
    out = np.empty((n_users, k), dtype=np.int64)
    taken = np.zeros((n_users, n), dtype=bool)
    for t in range(k):
        if t == 0:
            residual = np.linalg.norm(emb, axis=2)
        else:
            recent = out[:, max(0, t - window) : t]  # (U, m), the sliding window
            basis = _orthonormal_rows(emb[rows[:, None], recent])  # (U, m, d)
            # Subtracting the projection (rather than ||v||^2 - ||Pv||^2) keeps an exact
            # duplicate of a window item at a residual of ~1e-16, not ~1e-8.
            proj = (emb @ basis.transpose(0, 2, 1)) @ basis
            residual = np.linalg.norm(emb - proj, axis=2)
        gain = np.where(taken, -np.inf, r + gamma * residual)
        pick = np.argmax(gain, axis=1)
        out[:, t] = pick
        taken[rows, pick] = True
    return out


def ssd(
    scores: np.ndarray,
    embeddings: np.ndarray,
    k: int,
    gamma: float = 0.7,
    window: int = 5,
    normalize: bool = True,
) -> np.ndarray:
    """Sliding Spectrum Decomposition re-ranking of one user's candidates.

    Huang et al., "Sliding Spectrum Decomposition for Diversified Recommendation",
    KDD 2021. Greedy: with W the last ``window`` selected items (fewer at the start), each
    step picks

        argmax_{i not selected}  r_i + gamma * || v_i - P_W v_i ||

    where P_W projects onto span{v_j : j in W}, computed by Gram-Schmidt over the window;
    the residual norm is the volume that v_i adds to the window's parallelepiped. The first
    pick (empty window) is argmax r_i + gamma * ||v_i||. Items leaving the window stop
    penalising their look-alikes, so a feed only has to stay diverse locally. ``gamma = 0``
    is the base ranking.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(N,)`` finite relevance of the candidates.
    embeddings : numpy.ndarray
        ``(N, d)`` finite candidate vectors, used as given: L2-normalise them first if only
        their direction should count.
    k : int
        List length, ``1 <= k <= N``.
    gamma : float, default 0.7
        Diversity weight, ``>= 0``.
    window : int, default 5
        Selected items kept in the sliding window, ``>= 1``.
    normalize : bool, default True
        Min-max scale the scores to [0, 1] first.

    Returns
    -------
    numpy.ndarray
        ``(k,)`` int64 candidate positions in selection order.

    Raises
    ------
    TypeError
        Non-numeric arrays, or ``k``/``gamma``/``window`` of the wrong type.
    ValueError
        Bad shapes, non-finite values, or ``k``, ``gamma``, ``window`` out of range.
    """
    s = _check_scores(scores, 1, "ssd_batch")
    return ssd_batch(
        s[None],
        _one_user(embeddings, "embeddings", (s.size,), "ssd_batch"),
        k,
        gamma,
        window,
        normalize,
    )[0]


# ----------------------------------------------------------------- epsilon-greedy


def epsilon_greedy_batch(
    scores: np.ndarray,
    k: int,
    epsilon: float = 0.1,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Epsilon-greedy list filling for a batch of users; see ``epsilon_greedy``.

    All users draw from one generator, so a user's list in a batch generally differs from
    a single-user call with the same seed; the batch as a whole is reproducible.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(U, N)`` finite scores.
    k, epsilon, seed : int, float, int or Generator or None
        As for ``epsilon_greedy``.

    Returns
    -------
    numpy.ndarray
        ``(U, k)`` int64 candidate positions in selection order.
    """
    s = _check_scores(scores, 2)
    n_users, n = s.shape
    k = _check_k(k, n)
    epsilon = _check_param(epsilon, "epsilon", 0.0, 1.0)
    if seed is not None and not isinstance(seed, (int, np.integer, np.random.Generator)):
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
    rng = np.random.default_rng(seed)

    rows = np.arange(n_users)
    out = np.empty((n_users, k), dtype=np.int64)
    taken = np.zeros((n_users, n), dtype=bool)
    for t in range(k):
        explore = rng.random(n_users) < epsilon
        # argmax of i.i.d. uniform keys over the remaining items is a uniform draw
        # among them, for every user at once.
        keys = np.where(taken, -1.0, rng.random((n_users, n)))
        greedy = np.argmax(np.where(taken, -np.inf, s), axis=1)
        pick = np.where(explore, np.argmax(keys, axis=1), greedy)
        out[:, t] = pick
        taken[rows, pick] = True
    return out


def epsilon_greedy(
    scores: np.ndarray,
    k: int,
    epsilon: float = 0.1,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Epsilon-greedy exploration list for one user.

    Each of the ``k`` slots is, with probability ``epsilon``, a uniformly random candidate
    not yet selected, and otherwise the highest-scoring candidate not yet selected
    (Sutton & Barto's epsilon-greedy rule applied per slot). ``epsilon = 0`` is the top-k
    by score; ``epsilon = 1`` a uniform random k-subset in random order. Draws come from
    ``np.random.default_rng(seed)``: the same seed gives the same list.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(N,)`` finite relevance of the candidates.
    k : int
        List length, ``1 <= k <= N``.
    epsilon : float, default 0.1
        Exploration probability per slot, in [0, 1].
    seed : int, numpy.random.Generator or None, default 0
        Source of randomness (None: fresh entropy).

    Returns
    -------
    numpy.ndarray
        ``(k,)`` int64 candidate positions in selection order.

    Raises
    ------
    TypeError
        Non-numeric ``scores``, or ``k``, ``epsilon``, ``seed`` of the wrong type.
    ValueError
        Bad shape, non-finite scores, ``k`` or ``epsilon`` out of range.

    Examples
    --------
    >>> epsilon_greedy(np.array([0.2, 0.9, 0.5]), k=2, epsilon=0.0)
    array([1, 2])
    """
    s = _check_scores(scores, 1, "epsilon_greedy_batch")
    return epsilon_greedy_batch(s[None], k, epsilon, seed)[0]

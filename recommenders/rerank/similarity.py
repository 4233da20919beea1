"""Candidate-candidate similarity of a user's candidate list, from item genres (Jaccard)
or item embeddings (cosine), the input of MMR and DPP.
"""

from __future__ import annotations

import numpy as np

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

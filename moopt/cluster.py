"""Seeded k-means (Lloyd's algorithm with k-means++ seeding; Arthur and Vassilvitskii,
SODA 2007), used to group users: PreferRec's guided initialisation clusters users by
interest, BOOML groups them by activity and taste."""

from __future__ import annotations

import numpy as np


def kmeans(
    X, n_clusters: int, seed: int = 0, n_init: int = 4, max_iter: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster the rows of ``X`` with seeded k-means.

    The best of ``n_init`` seeded restarts by within-cluster sum of squares; the same
    seed gives the same clustering.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Points to cluster, finite, at least one row.
    n_clusters : int
        Number of clusters ``k``, in [1, n].
    seed : int, default 0
        Seed of the k-means++ seeding.
    n_init : int, default 4
        Restarts; the one with the smallest within-cluster sum of squares is kept.
    max_iter : int, default 100
        Lloyd iterations per restart at most (stops earlier once centroids settle).

    Returns
    -------
    labels : numpy.ndarray, shape (n,)
        Cluster of each row, in ``0 .. k - 1``.
    centroids : numpy.ndarray, shape (k, d)
        Cluster centres.

    Raises
    ------
    ValueError
        If ``X`` is empty, not 2-D or non-finite, or ``n_clusters`` is outside [1, n].
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty (n, d) array, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinite values")
    if not 1 <= n_clusters <= X.shape[0]:
        raise ValueError(f"n_clusters must be in [1, {X.shape[0]}], got {n_clusters}")
    rng = np.random.default_rng(seed)
    best = (np.inf, None, None)
    for _ in range(n_init):
        centroids = _plus_plus(X, n_clusters, rng)
        for _ in range(max_iter):
            d2 = ((X[:, None, :] - centroids[None]) ** 2).sum(axis=2)
            labels = d2.argmin(axis=1)
            new = centroids.copy()
            for c in range(n_clusters):
                members = X[labels == c]
                if len(members):
                    new[c] = members.mean(axis=0)
                else:  # an empty cluster takes the point farthest from its centroid
                    new[c] = X[d2.min(axis=1).argmax()]
            if np.allclose(new, centroids):
                centroids = new
                break
            centroids = new
        d2 = ((X[:, None, :] - centroids[None]) ** 2).sum(axis=2)
        labels = d2.argmin(axis=1)
        inertia = d2[np.arange(len(X)), labels].sum()
        if inertia < best[0]:
            best = (inertia, labels, centroids)
    return best[1], best[2]


def _plus_plus(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centroids = [X[rng.integers(len(X))]]
    d2 = ((X - centroids[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = d2.sum()
        idx = rng.integers(len(X)) if total <= 0 else rng.choice(len(X), p=d2 / total)
        centroids.append(X[idx])
        d2 = np.minimum(d2, ((X - X[idx]) ** 2).sum(axis=1))
    return np.array(centroids)

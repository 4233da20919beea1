"""The arrays ``rerank_batch`` returns, a tidy DataFrame view, and final-list selection."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..decision import angular_index, knee_index


@dataclass
class RerankResult:
    """Final populations of a batched re-ranking run.

    ``positions`` (U, P, K) candidate positions, ``F`` (U, P, M) maximised objective
    values (in ``objectives`` order), ``rank`` (U, P) non-dominated front (0 = Pareto
    front of the final population), ``crowding`` (U, P), ``candidates`` (U, N) the item
    ids the positions index, ``n_evals`` (U,) lists evaluated per user, ``seconds`` the
    wall time, ``anchors`` (U, a, M) the knowledge-transfer anchors' objective values when
    a transfer callback ran.
    """

    positions: np.ndarray
    F: np.ndarray
    rank: np.ndarray
    crowding: np.ndarray
    candidates: np.ndarray
    objectives: tuple[str, ...]
    n_evals: np.ndarray
    seconds: float
    anchors: np.ndarray | None = None

    @property
    def X(self) -> np.ndarray:
        """Item ids of every list, (U, P, K)."""
        return np.take_along_axis(self.candidates[:, None, :], self.positions, axis=2)

    @property
    def n_users(self) -> int:
        return self.positions.shape[0]

    def front(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """``(item ids (n, K), F (n, M))`` of one user's non-dominated lists."""
        mask = self.rank[user] == 0
        return self.X[user][mask], self.F[user][mask]

    def select(self, method: str = "knee", anchors: np.ndarray | None = None) -> np.ndarray:
        """One population index per user: ``"knee"``, ``"angular"`` (needs anchors, given
        or from a transfer run) or an objective name (its best front member)."""
        if method == "angular":
            anchors = self.anchors if anchors is None else np.asarray(anchors, dtype=float)
            if anchors is None:
                raise ValueError("angular selection needs anchors (run with knowledge transfer)")
            if anchors.ndim != 3 or anchors.shape[0] != self.n_users:
                raise ValueError(f"anchors must be (users, a, n_obj), got {anchors.shape}")
        elif method != "knee" and method not in self.objectives:
            raise ValueError(
                f"method must be 'knee', 'angular' or an objective of {self.objectives}, "
                f"got {method!r}"
            )
        chosen = np.empty(self.n_users, dtype=np.int64)
        for u in range(self.n_users):
            idx = np.flatnonzero(self.rank[u] == 0)
            F = self.F[u, idx]
            if method == "knee":
                j = knee_index(F)
            elif method == "angular":
                j = angular_index(F, anchors[u])
            else:
                j = int(np.argmax(F[:, self.objectives.index(method)]))
            chosen[u] = idx[j]
        return chosen

    def chosen_lists(self, method: str = "knee", anchors: np.ndarray | None = None) -> np.ndarray:
        """The selected list of every user as item ids, (U, K)."""
        idx = self.select(method, anchors)
        return self.X[np.arange(self.n_users), idx]

    def to_frame(self, users: np.ndarray | None = None) -> pd.DataFrame:
        """One row per (user, solution): rank, crowding, each objective and the item ids."""
        u, p, k = self.positions.shape
        users = np.arange(u) if users is None else np.asarray(users)
        frame = pd.DataFrame(
            {
                "user": np.repeat(users, p),
                "solution": np.tile(np.arange(p), u),
                "rank": self.rank.ravel(),
                "crowding": self.crowding.ravel(),
            }
        )
        for j, name in enumerate(self.objectives):
            frame[name] = self.F[..., j].ravel()
        frame["items"] = [" ".join(map(str, row)) for row in self.X.reshape(u * p, k)]
        return frame

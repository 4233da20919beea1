"""The arrays ``rerank_batch`` returns, a tidy DataFrame view, and final-list selection."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..decision import angular_index, knee_index

ARCHIVE_FIELDS = (
    "archive_positions", "archive_F", "archive_size", "archive_overflow", "archive_seed",
)  # fmt: skip


@dataclass
class RerankResult:
    """Final populations of a batched re-ranking run.

    ``positions`` (U, P, K) candidate positions, ``F`` (U, P, M) maximised objective
    values (in ``objectives`` order), ``rank`` (U, P) non-dominated front (0 = Pareto
    front of the final population), ``crowding`` (U, P), ``candidates`` (U, N) the item
    ids the positions index, ``n_evals`` (U,) lists evaluated per user, ``seconds`` the
    wall time, ``anchors`` (U, a, M) the knowledge-transfer anchors' objective values when
    a transfer callback ran.

    The archive (:mod:`moopt.engine.archive`): ``archive_positions`` (U, A, K) and
    ``archive_F`` (U, A, M, maximised) hold every user's non-dominated lists found during
    the run in the first ``archive_size[u]`` rows (the rest hold -1 and NaN); A is the
    largest archive size any user reached (at most the capacity ``archive_size=``);
    ``archive_overflow`` (U,) counts prunings of a full archive and ``archive_seed`` (U, A)
    marks protected seed entries. Final choices (:meth:`select`, :meth:`choose`) come
    from the archive when there is one.

    :meth:`save` writes it to a folder and :meth:`load` reads it back equal; it pickles
    too.
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
    archive_positions: np.ndarray | None = None
    archive_F: np.ndarray | None = None
    archive_size: np.ndarray | None = None
    archive_overflow: np.ndarray | None = None
    archive_seed: np.ndarray | None = None

    def save(self, folder) -> list:
        """Write the result to ``folder`` (arrays to ``rerank_result.npz``, objective names
        and seconds to ``rerank_result.json``, each atomically); returns the paths
        written. :meth:`load` reads it back equal."""
        from ..persist import save_rerank_result

        return save_rerank_result(self, folder)

    @classmethod
    def load(cls, folder) -> RerankResult:
        """The result :meth:`save` wrote to ``folder``."""
        from ..persist import load_rerank_result

        return load_rerank_result(folder, cls)

    @property
    def X(self) -> np.ndarray:
        """Item ids of every list, (U, P, K)."""
        return np.take_along_axis(self.candidates[:, None, :], self.positions, axis=2)

    @property
    def has_archive(self) -> bool:
        return self.archive_positions is not None and self.archive_positions.shape[1] > 0

    @property
    def archive_X(self) -> np.ndarray:
        """Item ids of every archive row, (U, A, K) (rows past ``archive_size`` unused)."""
        self._need_archive()
        return np.take_along_axis(self.candidates[:, None, :], self.archive_positions, axis=2)

    def _need_archive(self) -> None:
        if not self.has_archive:
            raise ValueError("this result has no archive (run with archive_size > 0)")

    def archive_front(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """``(item ids (n, K), F (n, M))`` of one user's archive."""
        self._need_archive()
        n = int(self.archive_size[user])
        return self.archive_X[user, :n], self.archive_F[user, :n]

    def _source(self, source: str | None):
        """(positions (U, S, K), F (U, S, M), valid (U, S)) of the population's first front
        or of the archive; ``None``: the archive when there is one."""
        if source is None:
            source = "archive" if self.has_archive else "population"
        if source == "archive":
            self._need_archive()
            slots = np.arange(self.archive_positions.shape[1])
            valid = slots[None, :] < self.archive_size[:, None]
            return self.archive_positions, self.archive_F, valid
        if source == "population":
            return self.positions, self.F, self.rank == 0
        raise ValueError(f"source must be 'archive', 'population' or None, got {source!r}")

    @property
    def n_users(self) -> int:
        return self.positions.shape[0]

    def front(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """``(item ids (n, K), F (n, M))`` of one user's non-dominated lists."""
        mask = self.rank[user] == 0
        return self.X[user][mask], self.F[user][mask]

    def select(
        self,
        method: str = "knee",
        anchors: np.ndarray | None = None,
        *,
        region: int | None = None,
        source: str | None = None,
    ) -> np.ndarray:
        """One index per user into the archive (or ``source="population"``):

        * ``"knee"``: the knee of the user's front (:func:`moopt.decision.knee_index`);
        * ``"angular"``: PreferRec's eq. 14, the smallest mean angle to the anchors (given,
          or from a transfer run); with ``region=r`` the angle to anchor ``r`` only (one
          preference region, e.g. picked on validation);
        * an objective name: the best member on that objective.
        """
        positions, F, valid = self._source(source)
        if method == "angular":
            anchors = self.anchors if anchors is None else np.asarray(anchors, dtype=float)
            if anchors is None:
                raise ValueError("angular selection needs anchors (run with knowledge transfer)")
            if anchors.ndim != 3 or anchors.shape[0] != self.n_users:
                raise ValueError(f"anchors must be (users, a, n_obj), got {anchors.shape}")
            if region is not None:
                if not 0 <= region < anchors.shape[1]:
                    raise ValueError(
                        f"region must index one of the {anchors.shape[1]} anchors, got {region}"
                    )
                anchors = anchors[:, region : region + 1]
        elif method != "knee" and method not in self.objectives:
            raise ValueError(
                f"method must be 'knee', 'angular' or an objective of {self.objectives}, "
                f"got {method!r}"
            )
        chosen = np.empty(self.n_users, dtype=np.int64)
        for u in range(self.n_users):
            idx = np.flatnonzero(valid[u])
            Fu = F[u, idx]
            if method == "knee":
                j = knee_index(Fu)
            elif method == "angular":
                j = angular_index(Fu, anchors[u])
            else:
                j = int(np.argmax(Fu[:, self.objectives.index(method)]))
            chosen[u] = idx[j]
        return chosen

    def utility_index(
        self,
        utility: Mapping[str, float] | Callable[[np.ndarray], np.ndarray],
        *,
        source: str | None = None,
        dominating: np.ndarray | None = None,
    ) -> np.ndarray:
        """Per user, the index of the archive member (or population front member) that
        maximises ``utility``: a mapping ``{objective: weight}`` (a weighted sum of the
        maximised objectives; objectives left out weigh 0) or a callable taking ``F``
        (U, S, M) and returning (U, S) utilities. Ties go to the lower index.

        ``dominating`` (U, M): maximised objective values of a reference list per user
        (e.g. a greedy baseline's); the choice is then restricted to members that weakly
        dominate it, so the chosen list is at least as good on every objective. A user
        with no such member (possible only if the reference was never seeded) keeps the
        unrestricted choice; :attr:`n_unmatched_` counts them."""
        positions, F, valid = self._source(source)
        self.n_unmatched_ = 0
        if dominating is not None:
            ref = np.asarray(dominating, dtype=np.float64)
            if ref.shape != (self.n_users, F.shape[2]):
                raise ValueError(
                    f"dominating must be (users, n_obj) = {(self.n_users, F.shape[2])}, "
                    f"got {ref.shape}"
                )
            # A small tolerance: the reference was evaluated outside the engine, with
            # the same kernels but possibly another summation order.
            dom = valid & np.all(F >= ref[:, None, :] - 1e-12, axis=2)
            has = dom.any(axis=1)
            self.n_unmatched_ = int((~has).sum())
            valid = np.where(has[:, None], dom, valid)
        if callable(utility):
            values = np.asarray(utility(F), dtype=np.float64)
            if values.shape != F.shape[:2]:
                raise ValueError(
                    f"utility returned shape {values.shape}; expected {F.shape[:2]} "
                    "(one value per user and list)"
                )
        elif isinstance(utility, Mapping):
            unknown = set(utility) - set(self.objectives)
            if unknown:
                raise ValueError(
                    f"utility names unknown objectives {sorted(unknown)}; "
                    f"objectives: {self.objectives}"
                )
            w = np.array([float(utility.get(name, 0.0)) for name in self.objectives])
            if not np.all(np.isfinite(w)):
                raise ValueError("utility weights must be finite")
            values = F @ w
        else:
            raise TypeError(
                "utility must be a mapping {objective: weight} or a callable F -> values, "
                f"got {type(utility).__name__}"
            )
        values = np.where(valid, values, -np.inf)
        if np.any(np.isnan(values)):
            raise ValueError("utility produced NaN for a valid list")
        return np.argmax(values, axis=1)

    def choose(
        self,
        utility: Mapping[str, float] | Callable[[np.ndarray], np.ndarray] | str = "knee",
        *,
        anchors: np.ndarray | None = None,
        region: int | None = None,
        source: str | None = None,
        dominating: np.ndarray | None = None,
        positions: bool = False,
    ) -> np.ndarray:
        """One list per user, (U, K) item ids (or candidate positions with
        ``positions=True``): the archive member maximising ``utility`` (see
        :meth:`utility_index`, also for ``dominating``), or picked by a rule name (see
        :meth:`select`)."""
        if isinstance(utility, str):
            if dominating is not None:
                raise ValueError("dominating applies to utilities, not to named rules")
            idx = self.select(utility, anchors, region=region, source=source)
        else:
            idx = self.utility_index(utility, source=source, dominating=dominating)
        pos, _, _ = self._source(source)
        chosen = pos[np.arange(self.n_users), idx]
        if positions:
            return chosen
        return np.take_along_axis(self.candidates, chosen, axis=1)

    def chosen_lists(self, method: str = "knee", anchors: np.ndarray | None = None) -> np.ndarray:
        """The list picked by ``method`` (see :meth:`select`) for every user, (U, K) item ids."""
        return self.choose(method, anchors=anchors)

    def to_frame(self, users: np.ndarray | None = None) -> pd.DataFrame:
        """One row per (user, solution): rank, crowding, each objective and the item ids.

        Parameters
        ----------
        users:
            The ids written in the ``user`` column: a sequence of U values, one per user row
            of the result, in the order of the inputs' rows (e.g. your own user ids, or the
            ``users`` array of a candidates file); ``None`` writes the row numbers 0..U-1.
        """
        u, p, k = self.positions.shape
        users = np.arange(u) if users is None else np.asarray(users)
        if users.ndim != 1 or len(users) != u:
            raise ValueError(
                f"users must hold one id per user row of the result ({u}), got shape "
                f"{users.shape}; pass the ids of the rows re-ranked, in their order"
            )
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

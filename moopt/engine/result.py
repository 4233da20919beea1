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

    U users, P lists per population, K items per list, N candidates per user, M
    objectives. The archive (``moopt.engine.archive``) holds every user's non-dominated
    lists found during the run; final choices (``select``, ``choose``) come from the
    archive when there is one. ``save`` writes the result to a folder and ``load`` reads
    it back equal; it pickles too.

    Parameters
    ----------
    positions : numpy.ndarray, shape (U, P, K)
        Candidate positions (indices into ``candidates``) of every final list.
    F : numpy.ndarray, shape (U, P, M)
        Maximised objective values of every list, in ``objectives`` order.
    rank : numpy.ndarray, shape (U, P)
        Non-dominated front of every list (0 = Pareto front of the final population).
    crowding : numpy.ndarray, shape (U, P)
        Crowding distance of every list within its front.
    candidates : numpy.ndarray, shape (U, N)
        Item ids the positions index.
    objectives : tuple of str
        Objective names, one per column of ``F``.
    n_evals : numpy.ndarray, shape (U,)
        Lists evaluated per user.
    seconds : float
        Wall time of the run.
    anchors : numpy.ndarray, shape (U, a, M), optional
        The knowledge-transfer anchors' objective values, when a transfer callback ran.
    archive_positions : numpy.ndarray, shape (U, A, K), optional
        Archive lists in the first ``archive_size[u]`` rows (the rest hold -1); A is the
        largest archive size any user reached (at most the capacity ``archive_size=`` of
        the run).
    archive_F : numpy.ndarray, shape (U, A, M), optional
        Maximised objective values of the archive rows (NaN past ``archive_size[u]``).
    archive_size : numpy.ndarray, shape (U,), optional
        Used archive rows per user.
    archive_overflow : numpy.ndarray, shape (U,), optional
        Prunings of a full archive per user.
    archive_seed : numpy.ndarray, shape (U, A), optional
        True for protected seed entries (e.g. the top-k list).

    Examples
    --------
    A hand-made result of one user with three lists of two items:

    >>> import numpy as np
    >>> from moopt.engine import RerankResult
    >>> r = RerankResult(
    ...     positions=np.array([[[0, 1], [0, 2], [2, 3]]]),
    ...     F=np.array([[[0.9, 0.1], [0.7, 0.6], [0.2, 0.8]]]),
    ...     rank=np.zeros((1, 3), dtype=int), crowding=np.zeros((1, 3)),
    ...     candidates=np.array([[10, 11, 12, 13]]), objectives=("accuracy", "diversity"),
    ...     n_evals=np.array([3]), seconds=0.0)
    >>> r.X[0]
    array([[10, 11],
           [10, 12],
           [12, 13]])
    >>> r.choose("knee"), r.choose("diversity"), r.choose({"accuracy": 1.0})
    (array([[10, 12]]), array([[12, 13]]), array([[10, 11]]))
    >>> r.to_frame(users=["alice"])[["user", "accuracy", "items"]]
        user  accuracy  items
    0  alice       0.9  10 11
    1  alice       0.7  10 12
    2  alice       0.2  12 13
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
        """Write the result to ``folder``; ``load`` reads it back equal.

        Arrays go to ``rerank_result.npz``, objective names and seconds to
        ``rerank_result.json``, each atomically.

        Parameters
        ----------
        folder : str or os.PathLike
            Destination folder, created if missing.

        Returns
        -------
        list of pathlib.Path
            The files written.
        """
        from ..persist import save_rerank_result

        return save_rerank_result(self, folder)

    @classmethod
    def load(cls, folder) -> RerankResult:
        """Load the result ``save`` wrote to ``folder``.

        Parameters
        ----------
        folder : str or os.PathLike
            Folder holding ``rerank_result.json`` and ``rerank_result.npz``.

        Returns
        -------
        RerankResult
            Equal to the saved one.
        """
        from ..persist import load_rerank_result

        return load_rerank_result(folder, cls)

    @property
    def X(self) -> np.ndarray:
        """Item ids of every list, (U, P, K)."""
        return np.take_along_axis(self.candidates[:, None, :], self.positions, axis=2)

    @property
    def has_archive(self) -> bool:
        """Whether the result holds an archive with at least one row."""
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
        """Return one user's archive.

        Parameters
        ----------
        user : int
            Row of the user in the result, in ``0 .. U - 1``.

        Returns
        -------
        X : numpy.ndarray, shape (n, K)
            Item ids of the user's ``n = archive_size[user]`` archive lists.
        F : numpy.ndarray, shape (n, M)
            Their maximised objective values.

        Raises
        ------
        ValueError
            If the result has no archive.
        """
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
        """Number of users U."""
        return self.positions.shape[0]

    def front(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """Return one user's non-dominated lists of the final population.

        Parameters
        ----------
        user : int
            Row of the user in the result, in ``0 .. U - 1``.

        Returns
        -------
        X : numpy.ndarray, shape (n, K)
            Item ids of the lists of rank 0.
        F : numpy.ndarray, shape (n, M)
            Their maximised objective values.
        """
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
        """Pick one list per user by a named rule.

        Parameters
        ----------
        method : str, default "knee"
            ``"knee"``: the knee of the user's front (``moopt.decision.knee_index``);
            ``"angular"``: PreferRec's eq. 14, the smallest mean angle to the anchors;
            an objective name: the best member on that objective.
        anchors : numpy.ndarray, shape (U, a, M), optional
            Anchors for ``"angular"`` (default: the result's own ``anchors``).
        region : int, optional
            With ``"angular"``, use anchor ``region`` only (one preference region, e.g.
            picked on validation), in ``0 .. a - 1``.
        source : {"archive", "population"}, optional
            Where to choose from: the archive or the final population's first front;
            None: the archive when there is one.

        Returns
        -------
        numpy.ndarray, shape (U,)
            Per user, the row index into the chosen source.

        Raises
        ------
        ValueError
            If ``method`` is unknown, ``"angular"`` has no anchors or wrongly shaped
            ones, ``region`` is out of range, or ``source`` is invalid.
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
        """Per user, the index of the archive (or population front) member maximising ``utility``.

        Ties go to the lower index. After the call ``n_unmatched_`` counts the users with
        no member dominating the reference (0 without ``dominating``).

        Parameters
        ----------
        utility : Mapping of str to float, or callable
            A mapping ``{objective: weight}`` (a weighted sum of the maximised objectives;
            objectives left out weigh 0), or a callable taking ``F`` (U, S, M) and
            returning (U, S) utilities.
        source : {"archive", "population"}, optional
            Where to choose from; None: the archive when there is one.
        dominating : numpy.ndarray, shape (U, M), optional
            Maximised objective values of a reference list per user (e.g. a greedy
            baseline's); the choice is then restricted to members that weakly dominate it,
            so the chosen list is at least as good on every objective. A user with no such
            member (possible only if the reference was never seeded) keeps the
            unrestricted choice.

        Returns
        -------
        numpy.ndarray, shape (U,)
            Per user, the row index into the chosen source.

        Raises
        ------
        ValueError
            If a weight names an unknown objective or is not finite, the callable returns
            the wrong shape, a utility is NaN, or ``dominating`` has the wrong shape.
        TypeError
            If ``utility`` is neither a mapping nor callable.
        """
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
        """Choose one list per user, by a utility or a named rule.

        Parameters
        ----------
        utility : Mapping of str to float, callable or str, default "knee"
            A utility (see ``utility_index``) or a rule name (see ``select``).
        anchors : numpy.ndarray, shape (U, a, M), optional
            Anchors of the ``"angular"`` rule (see ``select``).
        region : int, optional
            Anchor of the ``"angular"`` rule (see ``select``).
        source : {"archive", "population"}, optional
            Where to choose from; None: the archive when there is one.
        dominating : numpy.ndarray, shape (U, M), optional
            Reference values the choice must weakly dominate (utilities only; see
            ``utility_index``).
        positions : bool, default False
            Return candidate positions instead of item ids.

        Returns
        -------
        numpy.ndarray, shape (U, K)
            The chosen list of every user: item ids, or candidate positions.

        Raises
        ------
        ValueError
            If ``dominating`` is given with a rule name, or as in ``select`` and
            ``utility_index``.
        """
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
        """Return the list picked by a named rule for every user.

        Parameters
        ----------
        method : str, default "knee"
            Rule name (see ``select``).
        anchors : numpy.ndarray, shape (U, a, M), optional
            Anchors of the ``"angular"`` rule.

        Returns
        -------
        numpy.ndarray, shape (U, K)
            Item ids of the chosen lists.
        """
        return self.choose(method, anchors=anchors)

    def to_frame(self, users: np.ndarray | None = None) -> pd.DataFrame:
        """Return one row per (user, solution) of the final population.

        Parameters
        ----------
        users : array_like, shape (U,), optional
            The ids written in the ``user`` column, one per user row of the result, in the
            order of the inputs' rows (e.g. your own user ids, or the ``users`` array of a
            candidates file); None writes the row numbers 0..U-1.

        Returns
        -------
        pandas.DataFrame
            Columns ``user, solution, rank, crowding``, one per objective, and ``items``
            (the item ids joined by spaces).

        Raises
        ------
        ValueError
            If ``users`` is not 1-D with one id per user row.
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

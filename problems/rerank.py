"""List re-ranking of one user's candidates as a pymoo ``Problem`` (PreferRec section 3.1).

Decision variables: K distinct candidate positions, in order (``n_var = K`` integers in
``[0, N - 1]``). Objectives: registered list objectives (default accuracy, diversity and
novelty, see ``moopt.objectives.builtin``), all maximised, so ``F`` holds their
negatives for pymoo. Use it with ``moopt.operators`` in pymoo's ``NSGA2``; for many
users at once use ``moopt.rerank_batch``, which runs the same search in one Numba
program.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pymoo.core.problem import Problem

from moopt.engine import DEFAULT_OBJECTIVES, evaluate_lists, topk_positions
from moopt.objectives import ListObjective, make_inputs, pack_objectives


class ListReRankingProblem(Problem):
    """Choose and order K of one user's N candidates.

    Decision variables: a list of K distinct candidate positions, best first (``n_var =
    K`` integers in [0, N - 1]; ``positions`` validates them). Objectives: the chosen
    list objectives, all maximised (the built-in ones lie in [0, 1]); ``F`` holds their
    negatives, since pymoo minimises. ``objective_names`` names them in order.

    Parameters
    ----------
    scores : array_like
        (N,) finite base-ranker scores of the user's candidates.
    candidates : array_like
        (N,) distinct integer item ids of the candidates, indexing the catalogue arrays.
    item_genres : array_like or None, default None
        (I, G) bool categories over the catalogue ids; None means no categories.
    item_popularity : array_like or None, default None
        (I,) non-negative popularity over the catalogue ids; None means all zero.
    k : int, default 10
        List length K, 1 <= K <= N.
    objectives : sequence of str or ListObjective, default ("accuracy", "diversity", "novelty")
        Names of registered list objectives or ``ListObjective`` instances (maximised); a
        single name or instance is accepted.
    extras : mapping of str to numpy.ndarray or None, default None
        Further arrays custom objectives read in their ``prepare``.

    Raises
    ------
    ValueError
        If ``scores`` or ``candidates`` is not one-dimensional (use
        ``moopt.rerank_batch`` for many users), or the inputs fail
        ``moopt.objectives.make_inputs``'s checks (NaN scores, K > N, repeated
        candidates, ids outside the catalogue arrays, negative popularity).
    TypeError
        If the scores are not real numbers or the candidates not integers.
    """

    def __init__(
        self,
        scores,
        candidates,
        item_genres=None,
        item_popularity=None,
        k: int = 10,
        objectives: Sequence[str | ListObjective] = DEFAULT_OBJECTIVES,
        extras: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        scores, candidates = np.asarray(scores), np.asarray(candidates)
        if scores.ndim != 1 or candidates.ndim != 1:
            raise ValueError(
                "ListReRankingProblem is for one user: scores and candidates must be (N,) "
                "arrays; use moopt.rerank_batch for (users, N)"
            )
        self.inputs = make_inputs(scores, candidates, item_genres, item_popularity, k, extras)
        if isinstance(objectives, (str, ListObjective)):
            objectives = (objectives,)
        self.packed = pack_objectives(objectives, self.inputs)
        self.n_candidates = self.inputs.n_candidates
        super().__init__(
            n_var=k, n_obj=self.packed.n_obj, xl=0, xu=self.n_candidates - 1, vtype=int
        )

    @property
    def objective_names(self) -> tuple[str, ...]:
        """Names of the objectives, in the order of ``F``'s columns."""
        return self.packed.names

    def topk_positions(self) -> np.ndarray:
        """The K best candidates by score, best first (the base ranker's list).

        Returns
        -------
        numpy.ndarray
            (K,) int64 candidate positions; ties go to the lower position.
        """
        return topk_positions(self.inputs.scores, self.inputs.k)[0]

    def positions(self, X) -> np.ndarray:
        """Validate a population of lists: integers in [0, N), distinct within each row.

        Parameters
        ----------
        X : array_like
            (n, K) or (K,) candidate positions, integers or integral floats.

        Returns
        -------
        numpy.ndarray
            (n, K) C-contiguous int64 positions.

        Raises
        ------
        ValueError
            If ``X`` has the wrong shape, non-integral values, positions outside [0, N)
            or a repeated position within a list.
        """
        X = np.atleast_2d(np.asarray(X))
        if X.ndim != 2 or X.shape[1] != self.n_var:
            raise ValueError(f"X must be (n, K={self.n_var}) candidate positions, got {X.shape}")
        if not np.issubdtype(X.dtype, np.integer):
            if not np.all(np.isfinite(X)) or np.any(X != np.round(X)):
                raise ValueError("X must hold integer candidate positions")
        X = X.astype(np.int64)
        if X.min() < 0 or X.max() >= self.n_candidates:
            raise ValueError(f"X holds positions outside [0, {self.n_candidates})")
        srt = np.sort(X, axis=1)
        if np.any(srt[:, 1:] == srt[:, :-1]):
            raise ValueError("X holds a list with a repeated candidate; lists must be distinct")
        return np.ascontiguousarray(X)

    def objective_values(self, X) -> np.ndarray:
        """Maximised objective values of lists.

        Parameters
        ----------
        X : array_like
            (n, K) candidate positions, checked by ``positions``.

        Returns
        -------
        numpy.ndarray
            (n, n_obj) objective values, higher is better (``F`` is their negative).
        """
        return evaluate_lists(self.positions(X)[None], self.packed)[0]

    def items(self, X) -> np.ndarray:
        """Item ids of lists of positions.

        Parameters
        ----------
        X : array_like
            (n, K) candidate positions, checked by ``positions``.

        Returns
        -------
        numpy.ndarray
            (n, K) item ids of those candidates.
        """
        return self.inputs.candidates[0][self.positions(X)]

    def _evaluate(self, X, out, *args, **kwargs):
        out["F"] = -self.objective_values(X)

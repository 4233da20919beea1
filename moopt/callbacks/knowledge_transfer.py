"""PreferRec's knowledge transfer (sections 4.1-4.3, Algorithms 1-2) as callbacks.

* ``KnowledgeTransfer`` plugs into ``moopt.rerank_batch``: every ``every``
  generations it trains the Pareto-learning network on all users' populations and
  merges each user's knowledge lists (one per preference cluster) into the population
  (eq. 13); it seeds the initial populations by guided initialisation, and at the end
  keeps the knowledge lists' objective values as anchors for angular final selection
  (eq. 14, ``result.select("angular")``).
* ``KnowledgeTransferCallback`` is the same mechanism as a pymoo ``Callback`` for a
  single ``ListReRankingProblem``-like problem (one exposing ``inputs``
  and ``packed``). Reuse one instance across users' ``minimize`` runs and the network
  carries what it learned from earlier users to later ones.

Guided initialisation (section 4.1): users are clustered by interest (the score-weighted
category profile and novelty of their candidates) with k-means; each cluster's most
central user is optimised first without transfer, and its final non-dominated lists,
mapped onto every member's own candidates (items a member lacks are replaced by its
best-scored unused candidates), seed the members' initial populations. PreferRec seeds
with AGE-MOEA solutions; we use this engine's NSGA-II.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from pymoo.core.callback import Callback
from pymoo.core.population import Population

from ..cluster import kmeans
from ..engine.rerank import BatchState, RerankConfig, check_lists, evaluate_lists, run_engine
from ..objectives import PackedObjectives, RerankInputs, item_novelty
from .pareto_learning import ParetoLearner, ParetoLearnerConfig


@dataclass(frozen=True)
class TransferConfig:
    """Settings of knowledge transfer (validated on construction).

    Parameters
    ----------
    every : int, default 3
        Transfer every ``every`` generations (>= 1); never after the last generation.
    guided_init : bool, default True
        Seed the initial populations by user clusters (guided initialisation).
    n_user_clusters : int, default 8
        Clusters of users for guided initialisation (>= 1; at most the number of users).
    n_guided : int, default 5
        Seed lists per user from its cluster's central user (>= 0; 0 turns seeding off).
    """

    every: int = 3
    guided_init: bool = True
    n_user_clusters: int = 8
    n_guided: int = 5

    def __post_init__(self) -> None:
        if self.every < 1 or self.n_user_clusters < 1 or self.n_guided < 0:
            raise ValueError("every and n_user_clusters must be >= 1, n_guided >= 0")


def interest_profiles(inputs: RerankInputs) -> np.ndarray:
    """Per-user interest: softmax(score)-weighted category shares and novelty.

    Parameters
    ----------
    inputs : RerankInputs
        Validated re-ranking inputs.

    Returns
    -------
    numpy.ndarray, shape (U, G + 1)
        Per user, the softmax-of-scores weighted mean of the candidates' category
        indicators (G columns) and of their ``item_novelty`` (last column).
    """
    s = inputs.scores - inputs.scores.max(axis=1, keepdims=True)
    w = np.exp(s)
    w /= w.sum(axis=1, keepdims=True)
    g = inputs.item_genres[inputs.candidates].astype(np.float64)  # (U, N, G)
    nov = item_novelty(inputs.item_popularity)[inputs.candidates]
    return np.concatenate([np.einsum("un,ung->ug", w, g), (w * nov).sum(1, keepdims=True)], 1)


def map_lists(items: np.ndarray, inputs: RerankInputs, users: np.ndarray) -> np.ndarray:
    """Map item-id lists onto each user's candidate positions.

    Items the user lacks are replaced by the user's best-scored candidates not in the
    list, so every result is K distinct valid positions.

    Parameters
    ----------
    items : numpy.ndarray, shape (U, m, K)
        Item ids of ``m`` lists per user row.
    inputs : RerankInputs
        Validated inputs holding the users' candidates and scores.
    users : numpy.ndarray, shape (U,)
        Rows of ``inputs`` the rows of ``items`` belong to.

    Returns
    -------
    numpy.ndarray, shape (U, m, K)
        int64 candidate positions.
    """
    cands = inputs.candidates[users]
    scores = inputs.scores[users]
    u, m, k = items.shape
    n = cands.shape[1]
    out = np.empty((u, m, k), dtype=np.int64)
    by_score = np.argsort(-scores, axis=1, kind="stable")
    for row in range(u):
        pos_of = {int(item): p for p, item in enumerate(cands[row])}
        for j in range(m):
            lst = [pos_of.get(int(item), -1) for item in items[row, j]]
            taken = set(p for p in lst if p >= 0)
            fill = (p for p in by_score[row] if p not in taken)
            for t in range(k):
                if lst[t] < 0 or lst.index(lst[t]) != t:
                    lst[t] = next(fill)
                    taken.add(lst[t])
            out[row, j] = lst
    if n < k:  # pragma: no cover - make_inputs guarantees k <= n
        raise ValueError("k exceeds the candidate set")
    return out


class _TransferCore:
    """State shared by the batch and pymoo callbacks."""

    def __init__(self, learner, learner_config, transfer_config) -> None:
        self.learner = learner if learner is not None else ParetoLearner(learner_config)
        self.transfer = transfer_config or TransferConfig()
        self.history: list[dict] = []
        self._proposal: tuple | None = None  # (what it depends on, the knowledge lists)

    def _transfer(self, inputs, positions, F, names, users, gen) -> np.ndarray:
        """Train on the populations and return the knowledge lists (U, C, K)."""
        loss = self.learner.fit(inputs, positions, F, names, users)
        self.history.append({"gen": gen, "loss": loss})
        lists = check_lists(self.learner.propose(inputs, users), inputs, "knowledge lists")
        self._proposal = (self._learner_state(inputs, users), lists)
        return lists

    def _learner_state(self, inputs, users) -> tuple:
        """What a proposal depends on: the network as trained (its object and the number of
        trainings), the inputs and the users."""
        users = np.asarray(users)
        return (id(self.learner.model), len(self.learner.losses), id(inputs), users.shape,
                users.tobytes())  # fmt: skip

    def _propose(self, inputs, users) -> np.ndarray:
        """The knowledge lists of the network as last trained. A proposal is a function of
        the network, the inputs and the users, so the one made after the last training is
        reused when none of them changed (anchors at the end of a run whose last transfer
        came after the last training: PreferRec's and the light settings)."""
        if self._proposal is not None and self._proposal[0] == self._learner_state(inputs, users):
            return self._proposal[1]
        return check_lists(self.learner.propose(inputs, users), inputs, "knowledge lists")


# Named settings: PreferRec's, and "light", whose overhead stays below the plain engine's
# own time for 943 users on 2 CPU cores (benchmarks/knowledge_transfer.py measures both).
PRESETS: dict[str, tuple[dict, dict]] = {
    "paper": ({}, {}),
    "light": ({"guided_init": False, "every": 5},
              {"max_samples": 1000, "epochs": 1, "hidden": 16, "n_clusters": 3}),
}  # fmt: skip


class KnowledgeTransfer(_TransferCore):
    """PreferRec knowledge transfer for ``moopt.rerank_batch`` (``callback=``).

    ``KnowledgeTransfer.preset("light")`` gives the cheap setting (see ``PRESETS``).
    After a run, ``anchors_`` (U, C, M) holds the knowledge lists' objective values (the
    anchors of ``result.select("angular")``), ``history`` the training losses and
    ``extra_evals_`` (U,) the evaluations the engine did not count itself.

    Parameters
    ----------
    learner : ParetoLearner, optional
        The Pareto-learning network to train (default: a new one from ``learner_config``).
    learner_config : ParetoLearnerConfig, optional
        Settings of a new learner (ignored when ``learner`` is given).
    transfer_config : TransferConfig, optional
        Transfer settings (default ``TransferConfig()``).
    **transfer_overrides
        ``TransferConfig`` fields to change (e.g. ``every=5``).
    """

    @classmethod
    def preset(cls, name: str, seed: int = 0) -> KnowledgeTransfer:
        """Return a transfer with the named settings of ``PRESETS``.

        Parameters
        ----------
        name : {"paper", "light"}
            ``"paper"``: PreferRec's settings; ``"light"``: no guided initialisation, transfer
            every 5 generations, a smaller and shorter-trained network.
        seed : int, default 0
            Seed of the learner.

        Returns
        -------
        KnowledgeTransfer
            The configured callback.

        Raises
        ------
        ValueError
            For an unknown preset name.
        """
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
        transfer, learner = PRESETS[name]
        return cls(learner_config=ParetoLearnerConfig(seed=seed, **learner), **transfer)

    def __init__(
        self,
        learner: ParetoLearner | None = None,
        *,
        learner_config: ParetoLearnerConfig | None = None,
        transfer_config: TransferConfig | None = None,
        **transfer_overrides,
    ) -> None:
        transfer = replace(transfer_config or TransferConfig(), **transfer_overrides)
        super().__init__(learner, learner_config, transfer)
        self.anchors_: np.ndarray | None = None
        self.extra_evals_: np.ndarray | None = None

    def setup(self, inputs: RerankInputs, packed: PackedObjectives, config: RerankConfig,
              seed: int, stream_ids: np.ndarray) -> None:  # fmt: skip
        """Prepare for a run (the engine calls this before the initial population).

        Parameters
        ----------
        inputs : RerankInputs
            The run's validated inputs.
        packed : PackedObjectives
            The objectives and their data.
        config : RerankConfig
            The run's settings.
        seed : int
            The run's seed.
        stream_ids : numpy.ndarray, shape (U,)
            Each user row's global index (the network's user embedding rows).
        """
        self._packed, self._config, self._seed = packed, config, seed
        self._users = np.asarray(stream_ids, dtype=np.int64)
        self.anchors_ = None
        # Evaluations the engine does not see: guided initialisation's runs (charged to
        # the central users they ran for) and the anchors' evaluation.
        self.extra_evals_ = np.zeros(inputs.n_users, dtype=np.int64)

    def initial_lists(self, inputs: RerankInputs) -> np.ndarray | None:
        """Guided initialisation: seed lists for every user from its cluster's central user.

        Users are clustered by ``interest_profiles``; each cluster's most central user is
        optimised without transfer and its spread-out front members, mapped onto every member's
        candidates (``map_lists``), are the seeds.

        Parameters
        ----------
        inputs : RerankInputs
            The run's validated inputs.

        Returns
        -------
        numpy.ndarray or None
            Seed positions (U, n_guided, K), or None when guided initialisation is off,
            ``n_guided`` is 0 or there is a single user.
        """
        t = self.transfer
        if not t.guided_init or t.n_guided == 0 or inputs.n_users < 2:
            return None
        n_cl = min(t.n_user_clusters, inputs.n_users)
        prof = interest_profiles(inputs)
        labels, centroids = kmeans(prof, n_cl, seed=self._seed)
        centres = np.array([
            np.flatnonzero(labels == c)[
                np.argmin(((prof[labels == c] - centroids[c]) ** 2).sum(1))
            ] if np.any(labels == c) else 0
            for c in range(n_cl)
        ])  # fmt: skip
        # Optimise the central users without transfer (their own streams, another seed).
        res = run_engine(
            inputs.select(centres), self._packed.select(centres), self._config,
            self._seed + 104729, self._users[centres],
        )  # fmt: skip
        np.add.at(self.extra_evals_, centres, res.n_evals)
        seeds = np.empty((n_cl, t.n_guided, inputs.k), dtype=np.int64)
        for c in range(n_cl):
            front = np.flatnonzero(res.rank[c] == 0)
            front = front[np.argsort(-res.crowding[c, front], kind="stable")]
            pick = np.resize(front, t.n_guided)  # spread-out front members first
            seeds[c] = res.X[c, pick]
        return map_lists(seeds[labels], inputs, np.arange(inputs.n_users))

    def __call__(self, state: BatchState) -> np.ndarray | None:
        if state.gen % self.transfer.every != 0 or state.gen == state.n_gen:
            return None
        return self._transfer(state.inputs, state.positions, state.F, state.objective_names,
                              self._users, state.gen)  # fmt: skip

    def on_finish(self, state: BatchState) -> None:
        """Keep the anchors: objective values (U, C, M) of the knowledge lists the network, as
        last trained, proposes (angular selection, eq. 14).

        Parameters
        ----------
        state : BatchState
            The final populations.
        """
        if self.learner.model is None:  # no transfer happened (n_gen <= every)
            lists = self._transfer(state.inputs, state.positions, state.F,
                                   state.objective_names, self._users, state.gen)  # fmt: skip
        else:
            lists = self._propose(state.inputs, self._users)
        self.anchors_ = evaluate_lists(lists, state.packed)
        self.extra_evals_ += lists.shape[1]


class KnowledgeTransferCallback(_TransferCore, Callback):
    """Knowledge transfer as a pymoo ``Callback`` for list problems solved one at a time.

    Every ``every`` generations the network trains on the current population and the
    proposed knowledge lists are evaluated, merged into ``algorithm.pop`` and cut back to
    the population size by the algorithm's own survival. ``anchors_[user]`` keeps the
    last knowledge lists' objective values for ``moopt.decision.angular_index``.

    Parameters
    ----------
    learner : ParetoLearner, optional
        The Pareto-learning network (default: a new one from ``learner_config``); reuse
        one instance across users' ``minimize`` runs to carry what it learned.
    learner_config : ParetoLearnerConfig, optional
        Settings of a new learner.
    every : int, default 3
        Transfer every ``every`` generations (>= 1).
    """

    def __init__(
        self,
        learner: ParetoLearner | None = None,
        *,
        learner_config: ParetoLearnerConfig | None = None,
        every: int = 3,
    ) -> None:
        Callback.__init__(self)
        _TransferCore.__init__(self, learner, learner_config,
                               TransferConfig(every=every, guided_init=False))  # fmt: skip
        self._user_of: dict[int, int] = {}
        self.anchors_: dict[int, np.ndarray] = {}

    def user_index(self, problem) -> int:
        """Return a stable row of the network's user embedding for a problem.

        Parameters
        ----------
        problem : pymoo.core.problem.Problem
            A list problem; each distinct object gets its own row.

        Returns
        -------
        int
            The row: 0 for the first problem seen, then 1, 2, ...
        """
        return self._user_of.setdefault(id(problem), len(self._user_of))

    def notify(self, algorithm) -> None:
        """Transfer knowledge into ``algorithm.pop`` every ``every`` generations (pymoo hook).

        Parameters
        ----------
        algorithm : pymoo.core.algorithm.Algorithm
            The running algorithm; its problem must expose ``inputs`` and ``packed`` (e.g.
            ``problems.ListReRankingProblem``), else ``TypeError``.
        """
        problem = algorithm.problem
        if not (hasattr(problem, "inputs") and hasattr(problem, "packed")):
            raise TypeError(
                "KnowledgeTransferCallback needs a list problem exposing `inputs` and "
                "`packed` (e.g. problems.ListReRankingProblem)"
            )
        if algorithm.n_gen % self.transfer.every != 0:
            return
        user = self.user_index(problem)
        pop = algorithm.pop
        positions = np.round(pop.get("X")).astype(np.int64)[None]
        F = -pop.get("F")[None]
        lists = self._transfer(problem.inputs, positions, F, problem.packed.names,
                               np.array([user]), algorithm.n_gen)  # fmt: skip
        values = evaluate_lists(lists, problem.packed)
        self.anchors_[user] = values[0]
        off = Population.new("X", lists[0])
        algorithm.evaluator.eval(problem, off, algorithm=algorithm)
        merged = Population.merge(pop, off)
        algorithm.pop = algorithm.survival.do(
            problem, merged, n_survive=len(pop), algorithm=algorithm,
            random_state=algorithm.random_state,
        )  # fmt: skip

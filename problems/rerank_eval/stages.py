"""The re-ranking comparison's settings, stages, list metrics and per-stage ``Context``.

A stage is one protocol's arrays on validation or test; ``Context`` runs every method on
one stage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from moopt import rerank_batch
from moopt.callbacks import KnowledgeTransfer
from moopt.engine import evaluate_lists
from moopt.objectives import make_inputs, pack_objectives, portable_round
from recommenders import metrics as M
from recommenders import rerank as R

from .greedy_kernels import greedy_seeds_batch

GREEDY = ("mmr", "dpp", "ssd")
NSGA = ("nsga2", "nsga2_seeded", "nsga2_kt")
METHODS = ("base", *GREEDY, *NSGA)
LABELS = {
    "base": "base ranker", "mmr": "MMR", "dpp": "DPP", "ssd": "SSD",
    "nsga2": "NSGA-II (unseeded)", "nsga2_seeded": "NSGA-II seeded with greedy lists",
    "nsga2_kt": "NSGA-II + transfer (unseeded)",
}  # fmt: skip
PARAM = {"mmr": "lambda", "dpp": "theta", "ssd": "gamma"}
DEFAULT_GRID = tuple(round(0.1 * i, 1) for i in range(1, 10))
DEFAULT_W = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0, 20.0, 100.0)


@dataclass(frozen=True)
class RerankEvalConfig:
    """Settings of the re-ranking comparison.

    PreferRec's where it gives them: K = 10, trade-off 0.7, population 50, 10
    generations, crossover 0.9, mutation 0.2.

    Parameters
    ----------
    k : int, default 10
        List length K.
    ks : tuple of int, default (5, 10)
        Cut-offs of the metrics, each at most ``k``; the largest is the key cut-off
        (``key_k``) the choices and tests use.
    paper_param : float, default 0.7
        The greedy baselines' published trade-off, reported beside the tuned one.
    grid : tuple of float, default (0.1, 0.2, ..., 0.9)
        The greedy baselines' parameter path tuned on validation, each in [0, 1].
    w_grid : tuple of float, default (0, 0.1, ..., 100)
        Non-negative utility weights ``w`` of accuracy tried on validation.
    window : int, default 5
        SSD's sliding window.
    pop_size, n_gen : int, default 50 and 10
        NSGA-II's population size and generations.
    p_cx, p_mut : float, default 0.9 and 0.2
        NSGA-II's crossover and mutation probabilities.
    seeds : tuple of int, default (0, 1, 2, 3, 4)
        Distinct NSGA-II seeds, run on validation and scored on test.
    accuracy : str, default "expected_hits"
        The accuracy objective: ``"expected_hits"`` (needs probabilities) or PreferRec's
        DCG ``"accuracy"``.
    score_transform : str, default "calibrated"
        Scores every method sees: ``"calibrated"`` hit probabilities, ``"softmax"`` over
        the candidates or ``"none"`` (raw logits).
    shuffle_seed : int, default 0
        Seed of the sampled protocol's column shuffle.
    methods : tuple of str, default every method
        Methods to run, among ``METHODS`` (``"base"``, the greedy ``"mmr"``, ``"dpp"``,
        ``"ssd"`` and the NSGA-II variants ``"nsga2"``, ``"nsga2_seeded"``,
        ``"nsga2_kt"``).
    transfer : str, default "light"
        Knowledge-transfer preset of ``"nsga2_kt"``
        (``moopt.callbacks.knowledge_transfer.PRESETS``: ``"paper"`` or ``"light"``).
    n_resamples : int, default 10000
        Bootstrap resamples and sign-flip patterns of the headline tests over users
        (at least 100).
    stats_seed : int, default 0
        Seed of those resamples.

    Raises
    ------
    ValueError
        For unknown methods, cut-offs above ``k``, an unknown transform or accuracy,
        ``"expected_hits"`` on raw scores, repeated or no seeds, a grid outside [0, 1],
        fewer than 100 resamples or negative utility weights.
    """

    k: int = 10
    ks: tuple[int, ...] = (5, 10)
    paper_param: float = 0.7
    grid: tuple[float, ...] = DEFAULT_GRID
    w_grid: tuple[float, ...] = DEFAULT_W
    window: int = 5
    pop_size: int = 50
    n_gen: int = 10
    p_cx: float = 0.9
    p_mut: float = 0.2
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    accuracy: str = "expected_hits"
    score_transform: str = "calibrated"
    shuffle_seed: int = 0
    methods: tuple[str, ...] = METHODS
    transfer: str = "light"
    n_resamples: int = 10000
    stats_seed: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.methods) - set(METHODS)
        if unknown:
            raise ValueError(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
        if max(self.ks) > self.k:
            raise ValueError(f"ks {self.ks} exceed the list length k={self.k}")
        if self.score_transform not in ("calibrated", "softmax", "none"):
            raise ValueError(
                "score_transform must be 'calibrated', 'softmax' or 'none', got "
                f"{self.score_transform!r}"
            )
        if self.accuracy not in ("expected_hits", "accuracy"):
            raise ValueError(
                f"accuracy must be 'expected_hits' or 'accuracy', got {self.accuracy!r}"
            )
        if self.accuracy == "expected_hits" and self.score_transform == "none":
            raise ValueError(
                "expected_hits needs probabilities; use score_transform='calibrated' or "
                "'softmax', or accuracy='accuracy' for raw scores"
            )
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and non-empty, got {self.seeds}")
        if not self.grid or not all(0.0 <= g <= 1.0 for g in self.grid):
            raise ValueError(f"grid must hold trade-offs in [0, 1], got {self.grid}")
        if isinstance(self.n_resamples, bool) or not isinstance(self.n_resamples, int) or (
            self.n_resamples < 100
        ):
            raise ValueError(f"n_resamples must be an integer >= 100, got {self.n_resamples!r}")
        if not self.w_grid or min(self.w_grid) < 0:
            raise ValueError(f"w_grid must hold non-negative weights, got {self.w_grid}")

    @property
    def objectives(self) -> tuple[str, str, str]:
        """The NSGA-II objectives: (``accuracy``, ``"diversity"``, ``"novelty"``)."""
        return (self.accuracy, "diversity", "novelty")

    @property
    def key_k(self) -> int:
        """The cut-off the choices and tests use: the largest of ``ks``."""
        return max(self.ks)


# ------------------------------------------------------------------------------ stages


@dataclass
class Stage:
    """One protocol's arrays on one stage.

    Parameters
    ----------
    name : str
        ``"valid"`` or ``"test"``.
    protocol : str
        ``"full"`` or ``"sampled"``.
    q : numpy.ndarray
        (U, N) the scores every method sees.
    items : numpy.ndarray
        (U, N) candidate item ids.
    target : numpy.ndarray
        (U,) the held-out item of each user.
    """

    name: str
    protocol: str
    q: np.ndarray
    items: np.ndarray
    target: np.ndarray


def transform_scores(scores: np.ndarray, how: str) -> np.ndarray:
    """Per-user softmax over the candidates, or the scores as given.

    Parameters
    ----------
    scores : numpy.ndarray
        (U, N) raw scores.
    how : str
        ``"softmax"`` (rounded to float32 precision, as calibrated scores are) or
        ``"none"``.

    Returns
    -------
    numpy.ndarray
        (U, N) transformed scores; each row sums to 1 with ``"softmax"``.

    Raises
    ------
    ValueError
        For another ``how``.

    Examples
    --------
    >>> import numpy as np
    >>> from problems.rerank_eval.stages import transform_scores
    >>> transform_scores(np.array([[0.0, np.log(3.0)]]), "softmax")
    array([[0.25, 0.75]])
    """
    if how == "none":
        return scores
    if how != "softmax":
        raise ValueError(f"how must be 'softmax' or 'none', got {how!r}")
    z = np.exp(scores - scores.max(axis=1, keepdims=True))
    return portable_round(z / z.sum(axis=1, keepdims=True))


def protocol_arrays(cands: dict, protocol: str, seed: int = 0, transform: str = "none"):
    """Scores, candidates and targets of a candidates file under one protocol.

    Parameters
    ----------
    cands : dict of str to numpy.ndarray
        A candidates file's arrays (``items``, ``scores``, ``target`` and, for the
        sampled protocol, ``sampled_items`` and ``sampled_scores``).
    protocol : str
        ``"full"`` (the unseen catalogue's top candidates) or ``"sampled"`` (the
        positive and its sampled negatives, columns shuffled per user).
    seed : int, default 0
        Seed of the sampled protocol's column shuffle.
    transform : str, default "none"
        ``"calibrated"`` (needs a file written by ``moopt train``), ``"softmax"`` or
        ``"none"``.

    Returns
    -------
    scores : numpy.ndarray
        (U, N) transformed scores.
    candidates : numpy.ndarray
        (U, N) candidate item ids, aligned with ``scores``.
    target : numpy.ndarray
        (U,) each user's held-out item.

    Raises
    ------
    ValueError
        For an unknown protocol or transform, or a file that cannot serve ``protocol``.
    """
    if protocol == "full":
        items, target = cands["items"], cands["target"]
        raw = cands["scores"].astype(np.float64)
    elif protocol == "sampled":
        from recommenders.evaluate import check_protocol

        check_protocol(cands, protocol)
        items, target = cands["sampled_items"], cands["sampled_items"][:, 0]
        raw = cands["sampled_scores"].astype(np.float64)
    else:
        raise ValueError(f"protocol must be 'full' or 'sampled', got {protocol!r}")
    if transform == "calibrated":
        from recommenders.evaluate import calibrated_scores

        scores = calibrated_scores(cands, protocol)
    else:
        scores = transform_scores(raw, transform)
    if protocol == "sampled":
        perm = np.argsort(np.random.default_rng(seed).random(items.shape), axis=1)
        items, scores = np.take_along_axis(items, perm, 1), np.take_along_axis(scores, perm, 1)
    return scores, items, target


def make_stage(cands: dict, name: str, protocol: str, cfg: RerankEvalConfig) -> Stage:
    """A ``Stage`` of a candidates file, as ``cfg`` transforms and shuffles it.

    Parameters
    ----------
    cands : dict of str to numpy.ndarray
        A candidates file's arrays (``protocol_arrays``).
    name : str
        The stage's name, ``"valid"`` or ``"test"``.
    protocol : str
        ``"full"`` or ``"sampled"``.
    cfg : RerankEvalConfig
        Supplies ``score_transform`` and ``shuffle_seed``.

    Returns
    -------
    Stage
        The stage's scores, candidates and targets.
    """
    q, items, target = protocol_arrays(cands, protocol, cfg.shuffle_seed, cfg.score_transform)
    return Stage(name, protocol, q, items, target)


# ------------------------------------------------------------------------------ metrics


def list_metrics(lists, target, item_genres, popularity, ks) -> dict[str, float]:
    """HR, NDCG, Div, Nov, ILD, F1 and F2 at every k for lists (U, K) and one target each.

    Parameters
    ----------
    lists : numpy.ndarray
        (U, K) item ids, best first.
    target : array_like
        (U,) each user's held-out item.
    item_genres : numpy.ndarray
        (I, G) bool genres (Div@k is the share of genres a list covers).
    popularity : numpy.ndarray
        (I,) training popularity (Nov@k is the normalised self-information).
    ks : sequence of int
        Cut-offs, each at most K.

    Returns
    -------
    dict of str to float
        ``HR@k``, ``NDCG@k``, ``Div@k``, ``Nov@k``, ``ILD@k``, ``F1@k`` and ``F2@k``
        (F-beta of HR@k against (Div@k + Nov@k) / 2 on the means) for every k.

    Examples
    --------
    >>> import numpy as np
    >>> from problems.rerank_eval.stages import list_metrics
    >>> genres = np.array([[1, 0], [0, 1], [1, 0], [1, 0]], dtype=bool)
    >>> popularity = np.array([1.0, 1.0, 2.0, 4.0])  # log2 of the total: 3 bits
    >>> m = list_metrics(np.array([[0, 1], [2, 3]]), [0, 0], genres, popularity, ks=(2,))
    >>> {name: round(v, 4) for name, v in m.items()}
    {'HR@2': 0.5, 'NDCG@2': 0.5, 'Div@2': 0.75, 'Nov@2': 0.75, 'ILD@2': 0.5, 'F1@2': 0.6,
     'F2@2': 0.6818}
    """
    out = {}
    for k in ks:
        top = lists[:, :k]
        hit = top == np.asarray(target)[:, None]
        ones = np.ones(len(top))
        hr = float(M.hit_rate(hit, k).mean())
        div = float(M.category_coverage(top, item_genres).mean())
        nov = float(M.novelty(top, popularity, normalize=True).mean())
        out.update({
            f"HR@{k}": hr, f"NDCG@{k}": float(M.ndcg(hit, ones, k).mean()),
            f"Div@{k}": div, f"Nov@{k}": nov, f"ILD@{k}": float(M.ild(top, item_genres).mean()),
            f"F1@{k}": M.f_beta(hr, div, nov, 1.0), f"F2@{k}": M.f_beta(hr, div, nov, 2.0),
        })  # fmt: skip
    return out


def per_user_hits(lists: np.ndarray, target: np.ndarray, k: int) -> np.ndarray:
    """Whether each user's target is in the top k of the list.

    Parameters
    ----------
    lists : numpy.ndarray
        (U, K) item ids, best first.
    target : numpy.ndarray
        (U,) each user's held-out item.
    k : int
        Cut-off, at most K.

    Returns
    -------
    numpy.ndarray
        (U,) float 1.0 for a hit, 0.0 otherwise.
    """
    return (lists[:, :k] == np.asarray(target)[:, None]).any(axis=1).astype(np.float64)


def per_user_beyond(lists, item_genres, popularity, k) -> np.ndarray:
    """(Div@k + Nov@k) / 2 of every user's list.

    Parameters
    ----------
    lists : numpy.ndarray
        (U, K) item ids, best first.
    item_genres : numpy.ndarray
        (I, G) bool genres.
    popularity : numpy.ndarray
        (I,) training popularity.
    k : int
        Cut-off, at most K.

    Returns
    -------
    numpy.ndarray
        (U,) values in [0, 1].
    """
    top = lists[:, :k]
    div = M.category_coverage(top, item_genres)
    return (div + M.novelty(top, popularity, normalize=True)) / 2.0


def per_user_measures(lists, target, item_genres, popularity, k) -> np.ndarray:
    """Every user's hit, Div@k and Nov@k.

    Their column means are ``list_metrics``' HR@k, Div@k and Nov@k, so the aggregate
    F-beta is ``f_beta_of_means`` of those means.

    Parameters
    ----------
    lists : numpy.ndarray
        (U, K) item ids, best first.
    target : array_like
        (U,) each user's held-out item.
    item_genres : numpy.ndarray
        (I, G) bool genres.
    popularity : numpy.ndarray
        (I,) training popularity.
    k : int
        Cut-off, at most K.

    Returns
    -------
    numpy.ndarray
        (U, 3) float columns hit (0 or 1), Div@k and Nov@k.

    Examples
    --------
    >>> import numpy as np
    >>> from problems.rerank_eval.stages import f_beta_of_means, per_user_measures
    >>> genres = np.array([[1, 0], [0, 1], [1, 0], [1, 0]], dtype=bool)
    >>> popularity = np.array([1.0, 1.0, 2.0, 4.0])
    >>> measures = per_user_measures(np.array([[0, 1], [2, 3]]), [0, 0], genres,
    ...                              popularity, k=2)
    >>> measures
    array([[1. , 1. , 1. ],
           [0. , 0.5, 0.5]])
    >>> round(float(f_beta_of_means(1.0)(measures.mean(axis=0))), 4)  # F1 of (0.5, 0.75)
    0.6
    """
    top = lists[:, :k]
    hit = M.hit_rate(top == np.asarray(target)[:, None], k).astype(np.float64)
    return np.column_stack([hit, M.category_coverage(top, item_genres),
                            M.novelty(top, popularity, normalize=True)])  # fmt: skip


def f_beta_of_means(beta: float):
    """The aggregate F-beta as a function of the means of ``per_user_measures``.

    Parameters
    ----------
    beta : float
        Positive weight of (Div + Nov) / 2 against HR (``recommenders.metrics.f_beta``).

    Returns
    -------
    callable
        ``statistic(means)``: means ``(..., 3)`` of (HR, Div, Nov) to F-beta ``(...)``,
        vectorised over the leading axes (a bootstrap statistic).
    """

    def statistic(means: np.ndarray) -> np.ndarray:
        return M.f_beta(means[..., 0], means[..., 1], means[..., 2], beta)

    return statistic


# ------------------------------------------------------------------------------ methods


class Context:
    """What every method needs on one stage, with the greedy similarity computed once.

    Positions index a stage's candidate columns; greedy lists are cached per (method,
    parameter) with their seconds in ``greedy_seconds``.

    Parameters
    ----------
    stage : Stage
        The stage's scores, candidates and targets.
    item_genres : numpy.ndarray
        (I, G) bool genres.
    popularity : numpy.ndarray
        (I,) training popularity.
    cfg : RerankEvalConfig
        The comparison's settings.
    """

    def __init__(self, stage: Stage, item_genres, popularity, cfg: RerankEvalConfig):
        self.stage, self.genres, self.pop, self.cfg = stage, item_genres, popularity, cfg
        self._sim = None
        self._packed = None
        self._greedy: dict[tuple[str, float], np.ndarray] = {}
        self.greedy_seconds: dict[tuple[str, float], float] = {}

    def items_of(self, positions: np.ndarray) -> np.ndarray:
        """Item ids of lists of candidate positions.

        Parameters
        ----------
        positions : numpy.ndarray
            (U, K) candidate positions.

        Returns
        -------
        numpy.ndarray
            (U, K) item ids.
        """
        return np.take_along_axis(self.stage.items, positions, axis=1)

    def metrics(self, positions: np.ndarray) -> dict[str, float]:
        """``list_metrics`` of one list per user at the configured ``ks``.

        Parameters
        ----------
        positions : numpy.ndarray
            (U, K) candidate positions.

        Returns
        -------
        dict of str to float
            The metrics at every k.
        """
        return list_metrics(self.items_of(positions), self.stage.target, self.genres, self.pop,
                            self.cfg.ks)  # fmt: skip

    def measures(self, positions: np.ndarray) -> np.ndarray:
        """Per-user (hit, Div, Nov) at the key k, ``per_user_measures``.

        Parameters
        ----------
        positions : numpy.ndarray
            (U, K) candidate positions.

        Returns
        -------
        numpy.ndarray
            (U, 3) hit, Div@k and Nov@k.
        """
        return per_user_measures(self.items_of(positions), self.stage.target, self.genres,
                                 self.pop, self.cfg.key_k)  # fmt: skip

    def base(self) -> np.ndarray:
        """The base ranker's lists: the K highest scores, ties to the lower position.

        Returns
        -------
        numpy.ndarray
            (U, K) candidate positions.
        """
        return np.argsort(-self.stage.q, axis=1, kind="stable")[:, : self.cfg.k]

    def greedy(self, method: str, param: float) -> np.ndarray:
        """Positions of a greedy baseline at one parameter value (cached).

        Parameters
        ----------
        method : str
            ``"mmr"``, ``"dpp"`` or ``"ssd"``.
        param : float
            Its trade-off (MMR lambda, DPP theta, SSD gamma).

        Returns
        -------
        numpy.ndarray
            (U, K) candidate positions.

        Raises
        ------
        ValueError
            For another method.
        """
        key = (method, float(param))
        if key not in self._greedy:
            t0 = time.perf_counter()
            q, k = self.stage.q, self.cfg.k
            if method in ("mmr", "dpp"):
                if self._sim is None:
                    self._sim = R.candidate_similarity(self.stage.items, item_genres=self.genres)
                fn = R.mmr_batch if method == "mmr" else R.dpp_batch
                self._greedy[key] = fn(q, self._sim, k, param)
            elif method == "ssd":
                emb = self.genres[self.stage.items].astype(np.float64)
                self._greedy[key] = R.ssd_batch(q, emb, k, param, self.cfg.window)
            else:
                raise ValueError(f"unknown greedy method {method!r}")
            self.greedy_seconds[key] = time.perf_counter() - t0
        return self._greedy[key]

    def greedy_seeds(self) -> np.ndarray:
        """Every greedy list along the three parameter paths.

        Returns
        -------
        numpy.ndarray
            (U, 3 * len(grid), K) candidate positions (MMR, DPP, SSD, each along ``grid``).
        """
        keys = [(m, float(p)) for m in GREEDY for p in self.cfg.grid]
        if any(key not in self._greedy for key in keys):
            # One parallel Numba pass for every run (greedy_kernels: the same positions
            # as the numpy functions that ``greedy`` calls, tested equal).
            t0 = time.perf_counter()
            runs = greedy_seeds_batch(self.stage.q, self.stage.items, self.genres,
                                      self.cfg.k, self.cfg.grid, self.cfg.window)  # fmt: skip
            seconds = (time.perf_counter() - t0) / len(keys)
            for j, key in enumerate(keys):
                self._greedy[key] = runs[:, j]
                self.greedy_seconds[key] = seconds
        return np.stack([self._greedy[key] for key in keys], axis=1)

    def nsga(self, method: str, seed: int):
        """Run one NSGA-II variant on the stage.

        Parameters
        ----------
        method : str
            ``"nsga2"``, ``"nsga2_seeded"`` or ``"nsga2_kt"``.
        seed : int
            The run's seed.

        Returns
        -------
        result : moopt.engine.RerankResult
            ``moopt.rerank_batch``'s result (archives of every user).
        seconds : float
            Wall time; a seeded run's includes computing its seeds, the greedy paths
            (timed once, when first computed).
        """
        cfg = self.cfg
        initial, extra = None, 0.0
        if method == "nsga2_seeded":
            initial = self.greedy_seeds()
            extra = sum(self.greedy_seconds[m, float(p)] for m in GREEDY for p in cfg.grid)
        callback = KnowledgeTransfer.preset(cfg.transfer, seed) if method == "nsga2_kt" else None
        t0 = time.perf_counter()
        res = rerank_batch(
            self.stage.q, self.stage.items, self.genres, self.pop, k=cfg.k,
            pop_size=cfg.pop_size, n_gen=cfg.n_gen, p_cx=cfg.p_cx, p_mut=cfg.p_mut,
            objectives=cfg.objectives, seed=seed, callback=callback, initial=initial,
        )  # fmt: skip
        return res, time.perf_counter() - t0 + extra

    def objective_values(self, positions: np.ndarray) -> np.ndarray:
        """Maximised objective values of one list per user, as NSGA-II scores them.

        Parameters
        ----------
        positions : numpy.ndarray
            (U, K) candidate positions.

        Returns
        -------
        numpy.ndarray
            (U, M) objective values (``cfg.objectives``), higher is better.
        """
        if self._packed is None:
            inputs = make_inputs(self.stage.q, self.stage.items, self.genres, self.pop,
                                 self.cfg.k)  # fmt: skip
            self._packed = pack_objectives(self.cfg.objectives, inputs)
        lists = np.ascontiguousarray(positions[:, None, :], dtype=np.int64)
        return evaluate_lists(lists, self._packed)[:, 0]

    def order_by_q(self, positions: np.ndarray) -> np.ndarray:
        """Each list reordered by q, most likely hit first.

        Parameters
        ----------
        positions : numpy.ndarray
            (U, K) candidate positions.

        Returns
        -------
        numpy.ndarray
            (U, K) the same positions, by decreasing q (ties keep their order).
        """
        q = np.take_along_axis(self.stage.q, positions, axis=1)
        return np.take_along_axis(positions, np.argsort(-q, axis=1, kind="stable"), axis=1)

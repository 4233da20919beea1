"""The re-ranking comparison's settings, its stages (one protocol's arrays on validation or
test), the list metrics and ``Context``, which runs every method on one stage."""

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
    """Settings of the re-ranking comparison (PreferRec's where it gives them: K = 10,
    trade-off 0.7, population 50, 10 generations, crossover 0.9, mutation 0.2).

    ``paper_param`` is the baselines' published trade-off; ``grid`` the parameter path
    tuned on validation; ``w_grid`` the utility weights of accuracy tried on validation;
    ``seeds`` the NSGA-II seeds scored on test; ``accuracy`` the accuracy objective
    (``"expected_hits"`` or PreferRec's DCG ``"accuracy"``); ``shuffle_seed`` the sampled
    protocol's column shuffle; ``transfer`` the knowledge-transfer preset
    (``moopt.callbacks.knowledge_transfer.PRESETS``); ``n_resamples`` the bootstrap
    resamples and sign-flip patterns of the headline tests over users, seeded by
    ``stats_seed``.
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
        return (self.accuracy, "diversity", "novelty")

    @property
    def key_k(self) -> int:
        return max(self.ks)


# ------------------------------------------------------------------------------ stages


@dataclass
class Stage:
    """One protocol's arrays on one stage: ``q`` (U, N) the scores every method sees,
    ``items`` (U, N) candidate ids, ``target`` (U,) the held-out item."""

    name: str
    protocol: str
    q: np.ndarray
    items: np.ndarray
    target: np.ndarray


def transform_scores(scores: np.ndarray, how: str) -> np.ndarray:
    """Per-user softmax over the candidates (``"softmax"``, rounded to float32 precision as
    calibrated scores are) or the scores as given."""
    if how == "none":
        return scores
    if how != "softmax":
        raise ValueError(f"how must be 'softmax' or 'none', got {how!r}")
    z = np.exp(scores - scores.max(axis=1, keepdims=True))
    return portable_round(z / z.sum(axis=1, keepdims=True))


def protocol_arrays(cands: dict, protocol: str, seed: int = 0, transform: str = "none"):
    """``(scores, candidates, target)`` of a candidates file under ``protocol``, with the
    scores transformed (``"calibrated"`` needs a file written by ``moopt train``)."""
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
    q, items, target = protocol_arrays(cands, protocol, cfg.shuffle_seed, cfg.score_transform)
    return Stage(name, protocol, q, items, target)


# ------------------------------------------------------------------------------ metrics


def list_metrics(lists, target, item_genres, popularity, ks) -> dict[str, float]:
    """HR, NDCG, Div, Nov, ILD, F1 and F2 at every k for lists (U, K) and one target each."""
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
    return (lists[:, :k] == np.asarray(target)[:, None]).any(axis=1).astype(np.float64)


def per_user_beyond(lists, item_genres, popularity, k) -> np.ndarray:
    """(Div@k + Nov@k) / 2 of every user's list."""
    top = lists[:, :k]
    div = M.category_coverage(top, item_genres)
    return (div + M.novelty(top, popularity, normalize=True)) / 2.0


def per_user_measures(lists, target, item_genres, popularity, k) -> np.ndarray:
    """(U, 3): every user's hit, Div@k and Nov@k. Their column means are
    ``list_metrics``' HR@k, Div@k and Nov@k, so the aggregate F-beta is
    ``f_beta_of_means`` of those means."""
    top = lists[:, :k]
    hit = M.hit_rate(top == np.asarray(target)[:, None], k).astype(np.float64)
    return np.column_stack([hit, M.category_coverage(top, item_genres),
                            M.novelty(top, popularity, normalize=True)])  # fmt: skip


def f_beta_of_means(beta: float):
    """The aggregate F-beta as a function of means ``(..., 3)`` of ``per_user_measures``
    (HR, Div, Nov), vectorised over the leading axes: ``recommenders.metrics.f_beta``."""

    def statistic(means: np.ndarray) -> np.ndarray:
        return M.f_beta(means[..., 0], means[..., 1], means[..., 2], beta)

    return statistic


# ------------------------------------------------------------------------------ methods


class Context:
    """What every method needs on one stage, with the greedy similarity computed once."""

    def __init__(self, stage: Stage, item_genres, popularity, cfg: RerankEvalConfig):
        self.stage, self.genres, self.pop, self.cfg = stage, item_genres, popularity, cfg
        self._sim = None
        self._packed = None
        self._greedy: dict[tuple[str, float], np.ndarray] = {}
        self.greedy_seconds: dict[tuple[str, float], float] = {}

    def items_of(self, positions: np.ndarray) -> np.ndarray:
        return np.take_along_axis(self.stage.items, positions, axis=1)

    def metrics(self, positions: np.ndarray) -> dict[str, float]:
        return list_metrics(self.items_of(positions), self.stage.target, self.genres, self.pop,
                            self.cfg.ks)  # fmt: skip

    def measures(self, positions: np.ndarray) -> np.ndarray:
        """Per-user (hit, Div, Nov) at the key k, ``per_user_measures``."""
        return per_user_measures(self.items_of(positions), self.stage.target, self.genres,
                                 self.pop, self.cfg.key_k)  # fmt: skip

    def base(self) -> np.ndarray:
        return np.argsort(-self.stage.q, axis=1, kind="stable")[:, : self.cfg.k]

    def greedy(self, method: str, param: float) -> np.ndarray:
        """Positions (U, K) of a greedy baseline at one parameter value (cached)."""
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
        """Every greedy list along the three parameter paths, (U, 3 * len(grid), K)."""
        return np.stack([self.greedy(m, p) for m in GREEDY for p in self.cfg.grid], axis=1)

    def nsga(self, method: str, seed: int):
        """Run one NSGA-II variant; returns (result, seconds). A seeded run's seconds
        include computing its seeds, the greedy paths (timed once, when first computed)."""
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
        """Maximised objective values (U, M) of one list per user, as NSGA-II scores them."""
        if self._packed is None:
            inputs = make_inputs(self.stage.q, self.stage.items, self.genres, self.pop,
                                 self.cfg.k)  # fmt: skip
            self._packed = pack_objectives(self.cfg.objectives, inputs)
        lists = np.ascontiguousarray(positions[:, None, :], dtype=np.int64)
        return evaluate_lists(lists, self._packed)[:, 0]

    def order_by_q(self, positions: np.ndarray) -> np.ndarray:
        """Each list reordered by q, most likely hit first."""
        q = np.take_along_axis(self.stage.q, positions, axis=1)
        return np.take_along_axis(positions, np.argsort(-q, axis=1, kind="stable"), axis=1)

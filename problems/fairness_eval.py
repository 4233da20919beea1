"""The system-level study: NDCG@K against provider exposure, the consumer gap and coverage.

Every method's fairness strength is one parameter (the coupled solve's constraint level;
P-MMF's lambda, CPFair's producer or consumer weight, FairRec's alpha, the long-tail
weight of MMR, DPP and SSD). Their other knobs (P-MMF's step, momentum, window and
provider weights; the greedy methods' diversity trade-off) are tuned on the validation
stage, level by level: at each matched level the setting with the best validation
NDCG@K among those that reach it (the overall best setting where that one falls short
of the level on test). On the test stage each method is
then brought to every matched level of the max-min exposure share (or of the consumer
gap in expected NDCG) by its strength alone, set on the lists themselves: exposure and
expected NDCG need no labels, so no test label decides anything. NDCG@K and HR@K are
scored once, and the coupled solve is compared with each baseline at each level, paired
over users (bootstrap CI) and over seeds, Holm-corrected over the family.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from moopt import rerank_batch
from moopt.system import DualConfig
from recommenders import metrics as M
from recommenders import rerank as R

from .fairness import PricedListOracle, archive_options, coupled_front, exposure_reach
from .rerank_eval.greedy_kernels import greedy_batch
from .rerank_eval.stages import protocol_arrays

OBJECTIVES = ("expected_hits", "diversity", "novelty")
BASELINES = ("pmmf", "cpfair", "fairrec", "mmr_lt", "dpp_lt", "ssd_lt")
LABELS = {
    "coupled": "coupled dual (moopt)", "pmmf": "P-MMF", "cpfair": "CPFair",
    "fairrec": "FairRec", "mmr_lt": "MMR + long tail", "dpp_lt": "DPP + long tail",
    "ssd_lt": "SSD + long tail", "base": "base ranker",
}  # fmt: skip
#: The exposure goals: popularity buckets with equal targets (max-min over providers, as
#: P-MMF sets it) and CPFair's short head against the long tail, each group's target
#: its share of the catalogue (equal exposure per item).
EXPOSURE_GOALS = ("exposure", "tail")
#: The goals every method is brought to by its strength (the consumer gap: only the
#: coupled solve and CPFair have one).
LIST_GOALS = (*EXPOSURE_GOALS, "coverage")
GOALS = (*LIST_GOALS, "consumer")


@dataclass(frozen=True)
class FairnessEvalConfig:
    """Settings of the system-level study.

    Parameters
    ----------
    k : int, default 10
        List length and metric cut-off.
    n_groups : int, default 5
        Equal-size popularity buckets (the providers).
    levels : tuple of float, default (0.05, 0.1, 0.15, 0.2)
        Matched levels of the max-min exposure share ratio over the popularity buckets.
    tail_levels : tuple of float, default (0.6, 0.7, 0.8, 0.9)
        Matched levels of the short head's and long tail's max-min share ratio, with
        targets proportional to their sizes.
    coverage_gains : tuple of float, default (0.05, 0.1, 0.15, 0.2)
        Matched catalogue coverage levels, as gains over the base lists' coverage.
    gap_fractions : tuple of float, default (0.75, 0.5, 0.25)
        Matched consumer-gap levels, as fractions of the base lists' absolute gap in
        expected NDCG@K.
    front_max : float, default 0.22
        The coupled solve's exposure sweep traces ``n_front`` levels from 0 to this share
        ratio (its head-and-tail sweep from 0 to the largest of ``tail_levels``).
    n_front : int, default 20
        Levels (coupled) and strength values (baselines) of each full sweep.
    seeds : tuple of int, default (0, 1, 2)
        Seeds of the engine and of the request order (P-MMF, FairRec).
    pop_size, n_gen : int, default 50 and 10
        The per-user engine's population and generations.
    rounds : int, default 4
        Column-generation rounds per level.
    top_users : float, default 0.05
        The advantaged (most active) users' fraction.
    short_head : float, default 0.2
        CPFair's short head: the most popular fraction of the items.
    pmmf_eta, pmmf_alpha : tuple of float
        P-MMF's step sizes and momentum weights tried on validation.
    pmmf_window : tuple of int
        P-MMF's windows tried on validation (0: one window over all users).
    pmmf_gamma : tuple of str, default ("uniform", "interactions")
        P-MMF's provider weights tried on validation: equal, or each provider's share of
        the training interactions (as P-MMF's reference code sets them); its budget is
        ``(1 + 1/P)`` times them.
    mmr_grid, dpp_grid, ssd_grid : tuple of float
        MMR's relevance weight, DPP's theta and SSD's gamma tried on validation, each
        including its no-diversity end (MMR 1, DPP 0.99, SSD 0: relevance plus the
        long-tail bonus).
    bisect_steps : int, default 12
        Bisection steps to bring a baseline to a level.
    n_boot : int, default 2000
        Bootstrap resamples of the paired CIs.
    shuffle_seed : int, default 0
        Column shuffle of the sampled protocol.
    """

    k: int = 10
    n_groups: int = 5
    levels: tuple[float, ...] = (0.05, 0.10, 0.15, 0.20)
    tail_levels: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9)
    coverage_gains: tuple[float, ...] = (0.05, 0.10, 0.15, 0.20)
    gap_fractions: tuple[float, ...] = (0.75, 0.5, 0.25)
    front_max: float = 0.22
    n_front: int = 20
    seeds: tuple[int, ...] = (0, 1, 2)
    pop_size: int = 50
    n_gen: int = 10
    rounds: int = 4
    top_users: float = 0.05
    short_head: float = 0.2
    pmmf_eta: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0)
    pmmf_alpha: tuple[float, ...] = (0.1, 0.5, 1.0)
    pmmf_window: tuple[int, ...] = (0, 100)
    pmmf_gamma: tuple[str, ...] = ("uniform", "interactions")
    mmr_grid: tuple[float, ...] = (0.5, 0.7, 0.9, 1.0)
    dpp_grid: tuple[float, ...] = (0.5, 0.7, 0.9, 0.99)
    ssd_grid: tuple[float, ...] = (0.0, 0.1, 0.3, 0.7)
    bisect_steps: int = 12
    n_boot: int = 2000
    shuffle_seed: int = 0

    def __post_init__(self) -> None:
        for name in ("levels", "tail_levels"):
            v = getattr(self, name)
            if not v or not all(0.0 < x < 1.0 for x in v):
                raise ValueError(f"{name} must be share ratios in (0, 1), got {v}")
        if not all(0.0 < x < 1.0 for x in self.coverage_gains):
            raise ValueError(f"coverage_gains must be in (0, 1), got {self.coverage_gains}")
        if not all(0.0 <= x < 1.0 for x in self.gap_fractions):
            raise ValueError(f"gap_fractions must be in [0, 1), got {self.gap_fractions}")
        if not 0.0 < self.front_max <= 1.0:
            raise ValueError(f"front_max must be in (0, 1], got {self.front_max}")
        if self.n_front < 2 or not self.seeds:
            raise ValueError("n_front must be at least 2 and seeds non-empty")


# ---------------------------------------------------------------------------- the stage


class FairStage:
    """One protocol of one stage, with what every method needs.

    Parameters
    ----------
    cands : dict of str to numpy.ndarray
        A candidates file written by ``moopt train`` (calibrated).
    protocol : {"full", "sampled"}
        The candidate protocol.
    item_genres : numpy.ndarray
        ``(n_items, n_genres)`` bool genres.
    popularity : numpy.ndarray
        ``(n_items,)`` the stage's training popularity (defines the providers).
    user_counts : numpy.ndarray
        ``(U,)`` training interactions of the file's users (defines the consumer groups).
    cfg : FairnessEvalConfig
        The study's settings.
    transform : {"calibrated", "softmax"}, default "calibrated"
        How scores become hit probabilities (``softmax`` for files without a
        calibration).
    """

    def __init__(self, cands, protocol, item_genres, popularity, user_counts, cfg,
                 transform: str = "calibrated") -> None:  # fmt: skip
        self.cfg, self.protocol = cfg, protocol
        self.q, self.items, self.target = protocol_arrays(cands, protocol, cfg.shuffle_seed,
                                                          transform)  # fmt: skip
        self.genres = np.asarray(item_genres)
        self.pop = np.asarray(popularity, dtype=np.float64)
        n_items = self.pop.size
        self.member = M.popularity_groups(self.pop, cfg.n_groups)
        self.provider = self.member.argmax(axis=1)
        self.advantaged = M.activity_groups(user_counts, cfg.top_users)
        self.head = np.zeros(n_items, dtype=bool)
        n_head = math.ceil(cfg.short_head * n_items)
        self.head[np.argsort(-self.pop, kind="stable")[:n_head]] = True
        ht = np.column_stack([self.head, ~self.head]).astype(np.float64)
        self.groupings = {"exposure": (self.member, np.full(cfg.n_groups, 1.0 / cfg.n_groups)),
                          "tail": (ht, ht.mean(axis=0))}  # fmt: skip
        nov = np.log2((self.pop.max() + 1.0) / (self.pop + 1.0))
        self.long_tail = nov / max(nov.max(), 1e-12)  # 0 for the most popular item, 1 at most
        self.logit = np.log(np.clip(self.q, 1e-9, None)) - np.log(np.clip(1.0 - self.q, 1e-9, None))
        self.disc = 1.0 / np.log2(np.arange(2, cfg.k + 2))
        self._sim = None

    @property
    def n_users(self) -> int:
        """Number of users U."""
        return int(self.q.shape[0])

    def similarity(self) -> tuple[np.ndarray, np.ndarray]:
        """The genre similarity and genre vectors of the candidates (computed once).

        Returns
        -------
        tuple of numpy.ndarray
            ``(U, N, N)`` Jaccard similarity and ``(U, N, n_genres)`` genre vectors.
        """
        if self._sim is None:
            self._sim = (R.candidate_similarity(self.items, item_genres=self.genres),
                         self.genres[self.items].astype(np.float64))  # fmt: skip
        return self._sim

    def share(self, pos: np.ndarray, goal: str = "exposure") -> float:
        """Max-min exposure share ratio of lists of candidate positions under a grouping.

        Parameters
        ----------
        pos : numpy.ndarray
            ``(U, K)`` candidate positions.
        goal : {"exposure", "tail"}, default "exposure"
            The grouping: popularity buckets, or short head against long tail.

        Returns
        -------
        float
            ``min_g s_g / t_g``.
        """
        lists = np.take_along_axis(self.items, pos, axis=1)
        member, target = self.groupings[goal]
        return M.min_share_ratio(M.group_shares(lists, member), target)

    def measure(self, goal: str):
        """``pos -> value`` rising with ``goal``: a share ratio, coverage, or the consumer
        gap of expected NDCG@K signed so that it rises towards 0 from the base lists' side.

        Parameters
        ----------
        goal : {"exposure", "tail", "coverage", "consumer"}
            The goal.

        Returns
        -------
        callable
            ``(U, K) positions -> float``.
        """
        if goal == "coverage":
            return lambda pos: self.coverage(pos)
        if goal == "consumer":  # the gap moves from the base lists' sign towards 0
            base = np.argsort(-self.q, axis=1, kind="stable")[:, : self.cfg.k]
            sign = 1.0 if self.expected_gap(base) >= 0 else -1.0
            return lambda pos: -sign * self.expected_gap(pos)
        return lambda pos: self.share(pos, goal)

    def coverage(self, pos: np.ndarray) -> float:
        """Share of the catalogue the lists show at least once.

        Parameters
        ----------
        pos : numpy.ndarray
            ``(U, K)`` candidate positions.

        Returns
        -------
        float
            Distinct items shown over the catalogue size.
        """
        return np.unique(np.take_along_axis(self.items, pos, axis=1)).size / self.pop.size

    def expected_gap(self, pos: np.ndarray) -> float:
        """Consumer gap of the lists' expected NDCG@K (from the scores, no labels).

        Parameters
        ----------
        pos : numpy.ndarray
            ``(U, K)`` candidate positions.

        Returns
        -------
        float
            The advantaged users' mean expected NDCG@K minus the rest's.
        """
        e = np.take_along_axis(self.q, pos, axis=1) @ self.disc
        return M.group_gap(e, self.advantaged)

    def score(self, pos: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
        """Every metric of lists, and the per-user NDCG@K and HR@K (labels used).

        Parameters
        ----------
        pos : numpy.ndarray
            ``(U, K)`` candidate positions.

        Returns
        -------
        metrics : dict of str to float
            ``ndcg``, ``hr``, ``min_share_ratio``, ``exposure_gap``, ``tail_share_ratio``
            (head against tail), ``coverage``, ``gini``, ``consumer_gap`` (of NDCG@K) and
            ``expected_gap``.
        per_user : numpy.ndarray
            ``(U, 2)`` NDCG@K and HR@K of each user.
        """
        lists = np.take_along_axis(self.items, pos, axis=1)
        hit = lists == self.target[:, None]
        ndcg, hr = hit @ self.disc, hit.any(axis=1).astype(np.float64)
        rep = M.system_report(lists, self.member, n_items=self.pop.size)
        out = {"ndcg": float(ndcg.mean()), "hr": float(hr.mean()),
               "min_share_ratio": rep["min_share_ratio"], "exposure_gap": rep["exposure_gap"],
               "tail_share_ratio": self.share(pos, "tail"),
               "coverage": rep["coverage"], "gini": rep["gini"],
               "consumer_gap": M.group_gap(ndcg, self.advantaged),
               "expected_gap": self.expected_gap(pos)}  # fmt: skip
        return out, np.column_stack([ndcg, hr])


# ------------------------------------------------------------------------ the baselines


def _order(stage: FairStage, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(stage.n_users)


def _pmmf(stage, theta, knobs, seed):
    o = _order(stage, seed)
    w = int(knobs["window"]) or None
    gamma = None
    if knobs.get("gamma", "uniform") == "interactions":
        mass = np.bincount(stage.provider, weights=stage.pop, minlength=stage.cfg.n_groups)
        mass = np.maximum(mass, 1e-9 * mass.sum())
        gamma = mass / mass.sum()
    pos = R.pmmf_batch(stage.logit[o], stage.items[o], stage.provider, stage.cfg.k, lam=theta,
                       eta=knobs["eta"], alpha=knobs["alpha"], window=w,
                       gamma=gamma)  # fmt: skip
    out = np.empty_like(pos)
    out[o] = pos
    return out


def _cpfair(stage, theta, knobs, seed, consumer=False):
    # S: the log-odds of the hit probabilities, rel: the probabilities, so the consumer
    # term is not a per-user rescaling of S (which would change no list)
    lam_c, lam_p = (theta, 0.0) if consumer else (0.0, theta)
    return R.cpfair_batch(stage.logit, stage.items, stage.q, stage.advantaged, stage.head,
                          stage.cfg.k, lam_consumer=lam_c, lam_producer=lam_p)  # fmt: skip


def _fairrec(stage, theta, knobs, seed):
    return R.fairrec_batch(stage.q, stage.items, stage.cfg.k, alpha=theta,
                           order=_order(stage, seed))  # fmt: skip


def _greedy_lt(method):
    def run(stage, theta, knobs, seed):
        from recommenders.rerank._checks import _minmax

        sim, emb = stage.similarity()
        r = _minmax(stage.q) + theta * stage.long_tail[stage.items]
        p = [float(knobs["param"])]
        args = {"mmr": (p, [], []), "dpp": ([], p, []), "ssd": ([], [], p)}[method]
        return greedy_batch(r, sim, emb, stage.cfg.k, *args, normalize=False)[:, 0]

    return run


def _log_grid(lo: float, hi: float, n: int) -> np.ndarray:
    return np.concatenate([[0.0], np.geomspace(lo, hi, n - 1)])


def baseline_specs(stage: FairStage, cfg: FairnessEvalConfig) -> dict[str, tuple]:
    """Each baseline's lists function, strength grid and knob settings to tune.

    The strength grids are 0 and a geometric range scaled to the data (CPFair's weights
    against the log-odds' spread), so their upper ends change no more lists.

    Parameters
    ----------
    stage : FairStage
        The stage the lists are made on.
    cfg : FairnessEvalConfig
        The study's settings (grids and knob values).

    Returns
    -------
    dict of str to tuple
        ``name -> (fn(stage, theta, knobs, seed) -> (U, K) positions, theta grid, list of
        knob dicts)``; ``cpfair_consumer`` is CPFair's consumer-gap strength.
    """
    n = cfg.n_front
    c, d = R.cpfair_weights(stage.advantaged, stage.head)
    span = float(np.mean(stage.logit.max(axis=1) - stage.logit.min(axis=1)))
    pm = [{"eta": e, "alpha": a, "window": w, "gamma": g} for e in cfg.pmmf_eta
          for a in cfg.pmmf_alpha for w in cfg.pmmf_window for g in cfg.pmmf_gamma]  # fmt: skip
    q_top = float(stage.q.max())
    return {
        "pmmf": (_pmmf, _log_grid(1e-3, 1e2, n), pm),
        "cpfair": (_cpfair, _log_grid(1e-2, 1e2, n) * span / np.abs(d).max(), [{}]),
        "fairrec": (_fairrec, np.linspace(0.0, 1.0, n), [{}]),
        **{f"{m}_lt": (_greedy_lt(m), _log_grid(1e-3, 10.0, n),
                       [{"param": p} for p in getattr(cfg, f"{m}_grid")])
           for m in ("mmr", "dpp", "ssd")},
        "cpfair_consumer": (_cpfair_consumer,
                            _log_grid(1e-2, 1e2, n) * span / (np.abs(c).max() * q_top), [{}]),
    }


class Lists:
    """One method's lists by strength, computed once (``fn(stage, theta, knobs, seed)``).

    Parameters
    ----------
    fn : callable
        ``(stage, theta, knobs, seed) -> (U, K)`` positions.
    stage : FairStage
        The stage.
    knobs : dict
        The method's other settings.
    seed : int
        The request order's seed.
    """

    def __init__(self, fn, stage, knobs, seed) -> None:
        self.fn, self.stage, self.knobs, self.seed = fn, stage, knobs, seed
        self.cache: dict[float, np.ndarray] = {}

    def __call__(self, theta: float) -> np.ndarray:
        theta = float(theta)
        if theta not in self.cache:
            self.cache[theta] = self.fn(self.stage, theta, self.knobs, self.seed)
        return self.cache[theta]


def reach_level(lists: Lists, grid, level: float, steps: int, measure):
    """The weakest strength whose lists reach ``level`` of ``measure``, by grid and bisection.

    ``measure(pos)`` rises with the goal (a share ratio, or minus the absolute gap). The
    first grid value that reaches the level is found, then the interval before it is
    bisected: the result always reaches the level, even where the measure is not
    monotone in the strength.

    Parameters
    ----------
    lists : Lists
        The method's lists by strength.
    grid : array_like
        Ascending strengths.
    level : float
        The value of ``measure`` to reach.
    steps : int
        Bisection steps.
    measure : callable
        ``(U, K) positions -> float``.

    Returns
    -------
    tuple or None
        ``(theta, positions)``, or None when no grid value reaches the level.
    """
    j = next((j for j, t in enumerate(grid) if measure(lists(t)) >= level), None)
    if j is None:
        return None
    if j == 0:
        return float(grid[0]), lists(grid[0])
    lo, hi = float(grid[j - 1]), float(grid[j])
    for _ in range(steps):
        mid = math.sqrt(lo * hi) if lo > 0 else 0.5 * (lo + hi)
        if measure(lists(mid)) >= level:
            hi = mid
        else:
            lo = mid
    return hi, lists(hi)


def tune_baseline(stage: FairStage, name: str, spec, cfg: FairnessEvalConfig):
    """Each matched level's knob setting with the best validation NDCG@K there.

    A baseline's tuned curve is the envelope of its settings: at every level of both
    list goals the setting with the best validation NDCG@K among those that reach
    the level (each at the weakest strength that reaches it). The sweep drawn on the
    figure uses the overall setting: the one reaching most levels, then the best mean.

    Parameters
    ----------
    stage : FairStage
        The validation stage.
    name : str
        The baseline's name (a table column).
    spec : tuple
        ``baseline_specs``'s entry: lists function, strength grid, settings.
    cfg : FairnessEvalConfig
        The study's settings.

    Returns
    -------
    overall : dict
        The overall setting.
    per_level : dict
        ``(goal, index of the level) -> setting`` for the levels some setting reaches on
        validation (coverage levels are relative to each stage's base lists, so levels
        are matched by their index).
    table : pandas.DataFrame
        One row per setting, goal and level: the knobs, ``reached`` and ``ndcg``.
    """
    fn, grid, settings = spec
    rows = []
    for j, knobs in enumerate(settings):
        lists = Lists(fn, stage, knobs, cfg.seeds[0])
        for goal in LIST_GOALS:
            for i, level in enumerate(_matched_levels(stage, cfg)[goal]):
                hit = reach_level(lists, grid, level, cfg.bisect_steps, stage.measure(goal))
                ndcg = stage.score(hit[1])[0]["ndcg"] if hit else np.nan
                rows.append({"method": name, "setting": j, **knobs, "goal": goal,
                             "index": i, "level": level, "reached": hit is not None,
                             "ndcg": ndcg})  # fmt: skip
    table = pd.DataFrame(rows)
    per = table.groupby("setting").agg(reached=("reached", "sum"), ndcg=("ndcg", "mean"))
    overall = settings[int(per.sort_values(["reached", "ndcg"], ascending=False,
                                           kind="stable").index[0])]  # fmt: skip
    per_level = {}
    for (goal, i), g in table[table["reached"]].groupby(["goal", "index"]):
        best = g.sort_values("ndcg", ascending=False, kind="stable").iloc[0]
        per_level[goal, int(i)] = settings[int(best["setting"])]
    return overall, per_level, table


# ---------------------------------------------------------------------- the coupled solve


def _coupled_run(stage: FairStage, seed: int, cfg: FairnessEvalConfig):
    """The engine's archives, as options of each exposure goal, with their oracles.

    Returns
    -------
    solvers : dict of str to tuple
        ``goal -> (ArchiveOptions, PricedListOracle)`` for ``EXPOSURE_GOALS``.
    seconds : float
        Engine search, options and oracle set-up.
    """
    t0 = time.perf_counter()
    res = rerank_batch(stage.q, stage.items, stage.genres, stage.pop, k=cfg.k,
                       objectives=OBJECTIVES, seed=seed, pop_size=cfg.pop_size,
                       n_gen=cfg.n_gen)  # fmt: skip
    util = {"expected_hits": 1.0}
    solvers = {}
    for goal in EXPOSURE_GOALS:
        member, target = stage.groupings[goal]
        solvers[goal] = (archive_options(res, util, member, q=stage.q, target=target),
                         PricedListOracle(stage.q, stage.items, stage.genres, stage.pop, cfg.k,
                                          OBJECTIVES, util, member))  # fmt: skip
    return solvers, time.perf_counter() - t0


def _coupled_levels(stage, options, oracle, levels, cfg, goal="exposure", config=None):
    """Solve the coupled choice at ``levels``; the chosen lists' positions per level.

    Returns
    -------
    front : pandas.DataFrame
        ``coupled_front``'s rows.
    positions : list of numpy.ndarray
        ``(U, K)`` positions per row of ``front``.
    options : ArchiveOptions
        The grown options.
    """
    kind = "consumer" if goal == "consumer" else "exposure"
    adv = stage.advantaged if goal == "consumer" else None
    if kind == "exposure":  # levels some group cannot reach even alone are not tried
        reach = exposure_reach(options, oracle)
        levels = [x for x in levels if x <= reach * (1 - 1e-12)]
        if not levels:
            return pd.DataFrame(columns=["level", "feasible", "violation"]), [], options
    levels = sorted(levels, reverse=kind == "consumer")  # the strictest last
    while True:
        try:
            front, choices, options = coupled_front(options, oracle, levels, config,
                                                    cfg.rounds, goal=kind, advantaged=adv)
            break
        except ValueError as err:  # the strictest level is out of reach: drop it
            if len(levels) <= 1 or "reach" not in str(err):
                if "reach" in str(err):
                    return pd.DataFrame(columns=["level", "feasible", "violation"]), [], options
                raise
            levels = levels[:-1]
    u = np.arange(stage.n_users)
    return front, [options.positions[u, ch] for ch in choices], options


def _coupled_coverage(stage, options, oracle, levels):
    """The coupled coverage greedy (``problems.coverage.coverage_front``) at the levels
    below what any choice can show; rows with a ``violation`` (relative shortfall).

    Returns
    -------
    front : pandas.DataFrame
        ``coverage_front``'s rows with ``violation`` added.
    positions : list of numpy.ndarray
        ``(U, K)`` positions per row.
    """
    from .coverage import coverage_bound, coverage_front

    n = stage.pop.size
    top = coverage_bound(options, oracle) / n
    levels = [x for x in levels if x <= top + 1e-12]
    if not levels:
        return pd.DataFrame(columns=["level", "feasible", "violation"]), []
    front, choices, grown = coverage_front(options, oracle, levels, n_items=n)
    need = np.ceil(front["level"].to_numpy() * n - 1e-9)  # items a level asks for
    front["violation"] = np.maximum(0.0, need - front["items"].to_numpy()) / need
    u = np.arange(stage.n_users)
    return front, [grown.positions[u, ch] for ch in choices]


# ----------------------------------------------------------------------------- a protocol


class _Recorder:
    """Rows of the fronts, the matched lists and their per-user values."""

    def __init__(self, test: FairStage) -> None:
        self.test = test
        self.front: list[dict] = []
        self.matched: list[dict] = []
        self.per_user: list[pd.DataFrame] = []

    def add(self, matched: bool, method, goal, seed, level, theta, pos, **extra) -> None:
        m, pu = self.test.score(pos)
        row = {"method": method, "goal": goal, "seed": seed, "level": level, "theta": theta,
               **extra, **m}  # fmt: skip
        (self.matched if matched else self.front).append(row)
        if matched:
            self.per_user.append(pd.DataFrame({
                "method": method, "goal": goal, "seed": seed, "level": level,
                "user": np.arange(self.test.n_users), "ndcg": pu[:, 0], "hr": pu[:, 1]}))

    def add_front(self, fr, pos, matched, method, goal, seed) -> None:
        for row, p in zip(fr.itertuples(), pos, strict=True):
            if matched and not row.feasible:
                continue  # a level not met is not matched
            self.add(matched, method, goal, seed, row.level, np.nan, p,
                     feasible=bool(row.feasible), violation=float(row.violation))


def _matched_levels(stage: FairStage, cfg: FairnessEvalConfig) -> dict[str, list[float]]:
    """Each goal's matched levels on a stage: the coverage levels are gains over the base
    lists' coverage (at most 1), the consumer levels fractions of their absolute gap in
    expected NDCG@K."""
    base = np.argsort(-stage.q, axis=1, kind="stable")[:, : cfg.k]
    gap, cov = abs(stage.expected_gap(base)), stage.coverage(base)
    return {"exposure": list(cfg.levels), "tail": list(cfg.tail_levels),
            "coverage": sorted({min(cov + g, 1.0) for g in cfg.coverage_gains}),
            "consumer": [f * gap for f in cfg.gap_fractions] if gap > 0 else []}  # fmt: skip


def run_protocol(valid: FairStage, test: FairStage, cfg: FairnessEvalConfig, progress=None):
    """Tune on ``valid``, then every method's sweep and matched levels on ``test``.

    Parameters
    ----------
    valid, test : FairStage
        The protocol's validation and test stages.
    cfg : FairnessEvalConfig
        The study's settings.
    progress : callable, optional
        Called with a message at each step.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``tuning`` (validation), ``tuned`` (the chosen knobs), ``front`` (every sweep
        point of every method and seed, with its metrics), ``matched`` (per method, goal,
        level and seed: strength, metrics), ``cost`` (seconds per full sweep) and
        ``per_user`` (the matched lists' per-user NDCG@K and HR@K, long format).
    """
    note = progress or (lambda msg: None)
    specs_v, specs_t = baseline_specs(valid, cfg), baseline_specs(test, cfg)
    tuned, per_level, tables = {}, {}, []
    for name in BASELINES:
        note(f"{test.protocol}: tuning {name} on validation")
        tuned[name], per_level[name], tab = tune_baseline(valid, name, specs_v[name], cfg)
        tables.append(tab)
    tuned["cpfair_consumer"], per_level["cpfair_consumer"] = {}, {}
    rec, cost = _Recorder(test), []
    exact = DualConfig(tol=0.0)
    levels = _matched_levels(test, cfg)
    rec.add(False, "base", "none", -1, np.nan, np.nan,
            np.argsort(-test.q, axis=1, kind="stable")[:, : cfg.k])
    sweep = {"exposure": np.linspace(0.0, cfg.front_max, cfg.n_front),
             "tail": np.linspace(0.0, max(cfg.tail_levels), cfg.n_front),
             "coverage": np.linspace(levels["coverage"][0] - min(cfg.coverage_gains),
                                     levels["coverage"][-1], cfg.n_front)[1:]}
    for seed in cfg.seeds:
        note(f"{test.protocol}: coupled solve, seed {seed}")
        solvers, setup = _coupled_run(test, seed, cfg)
        for goal in EXPOSURE_GOALS:
            options, oracle = solvers[goal]
            # the full sweep of each goal: the figure; the exposure goal's is the cost
            t0 = time.perf_counter()
            fr, pos, options = _coupled_levels(test, options, oracle, sweep[goal], cfg, goal)
            if goal == "exposure":
                cost.append({"method": "coupled", "seed": seed, "setup_seconds": setup,
                             "sweep_seconds": time.perf_counter() - t0,
                             "max_violation": float(fr["violation"].max())})  # fmt: skip
            rec.add_front(fr, pos, False, "coupled", goal, seed)
            fr, pos, options = _coupled_levels(test, options, oracle, levels[goal], cfg, goal,
                                              exact)  # fmt: skip
            rec.add_front(fr, pos, True, "coupled", goal, seed)
            if goal == "exposure" and levels["consumer"]:
                fr, pos, _ = _coupled_levels(test, options, oracle, levels["consumer"], cfg,
                                            "consumer", exact)  # fmt: skip
                rec.add_front(fr, pos, True, "coupled", "consumer", seed)
            if goal == "exposure":
                for matched, lv in ((False, sweep["coverage"]), (True, levels["coverage"])):
                    fr, pos = _coupled_coverage(test, options, oracle, lv)
                    rec.add_front(fr, pos, matched, "coupled", "coverage", seed)
        for name in (*BASELINES, "cpfair_consumer"):
            if name not in ("pmmf", "fairrec") and seed != cfg.seeds[0]:
                continue  # deterministic: one seed's lists are every seed's
            fn, grid, _ = specs_t[name]
            lists = Lists(fn, test, tuned[name], seed)
            by_knobs = {repr(tuned[name]): lists}
            goals = ("consumer",) if name == "cpfair_consumer" else LIST_GOALS
            method = "cpfair" if name == "cpfair_consumer" else name
            if name != "cpfair_consumer":
                t0 = time.perf_counter()
                for theta in grid:
                    lists(theta)
                cost.append({"method": name, "seed": seed, "setup_seconds": 0.0,
                             "sweep_seconds": time.perf_counter() - t0, "max_violation": 0.0})
                for theta in grid:
                    rec.add(False, name, "sweep", seed, np.nan, float(theta), lists(theta))
            for goal in goals:
                measure = test.measure(goal)
                for i, level in enumerate(levels[goal]):
                    target = -level if goal == "consumer" else level
                    # the level's validated setting; where its lists fall short of the
                    # level on test, the overall one (reaching needs no labels)
                    for knobs in (per_level[name].get((goal, i)), tuned[name]):
                        if knobs is None:
                            continue
                        at = by_knobs.setdefault(repr(knobs), Lists(fn, test, knobs, seed))
                        hit = reach_level(at, grid, target, cfg.bisect_steps, measure)
                        if hit is not None:
                            break
                    if hit is not None and goal == "consumer" and \
                            abs(test.expected_gap(hit[1])) > level * (1 + 1e-9):
                        hit = None  # overshot to the other side: the gap is not met
                    if hit is not None:
                        rec.add(True, method, goal, seed, level, hit[0], hit[1], feasible=True,
                                violation=0.0)  # fmt: skip
    out = {"tuning": pd.concat(tables, ignore_index=True), "front": pd.DataFrame(rec.front),
           "matched": pd.DataFrame(rec.matched), "cost": pd.DataFrame(cost),
           "per_user": pd.concat(rec.per_user, ignore_index=True),
           "tuned": pd.DataFrame([{"method": k, "goal": "sweep", "level": np.nan, **v}
                                  for k, v in tuned.items()]
                                 + [{"method": k, "goal": g, "level": x, **v}
                                    for k, d in per_level.items()
                                    for (g, x), v in d.items()]),
           "levels": pd.DataFrame([{"goal": g, "level": x} for g, xs in levels.items()
                                   for x in xs])}  # fmt: skip
    for v in out.values():
        v.insert(0, "protocol", test.protocol)
    return out


def _cpfair_consumer(stage, theta, knobs, seed):
    return _cpfair(stage, theta, knobs, seed, consumer=True)


def _settings_dict(cfg: FairnessEvalConfig) -> dict:
    """The study's settings as plain JSON values."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()}

"""Re-ranking evaluation: the base ranker, MMR, DPP, SSD and NSGA-II variants compared on
the same candidates, every knob chosen on validation and the test stage scored once.

Protocol (for each of the ``full`` and ``sampled`` candidate protocols):

1. **Scores.** Every method sees the same scores: by default calibrated hit
   probabilities q (a temperature-scaled softmax of the base ranker's logits, the
   temperature fitted on validation by likelihood at training time; full protocol
   normalised over the whole unseen catalogue, sampled over the 1 + 99 candidates; see
   :mod:`recommenders.calibration`). ``score_transform="softmax"`` (softmax over the
   candidates) and ``"none"`` (raw logits) remain for comparison.
2. **Validation stage** (candidates whose target is each user's validation item, history
   = train only). Greedy baselines run along their parameter path (MMR lambda, DPP
   theta, SSD gamma at 0.1 ... 0.9); each one's parameter is tuned to maximise the
   aggregate F1@K (and separately F2@K). NSGA-II runs with the same settings and seeds it
   will use on test; its utility weight ``w`` in ``w * accuracy + (diversity + novelty) /
   2`` is fitted on the same F-measures averaged over those seeds, and for transfer runs
   the single anchor region of the angular rule too.
3. **Test stage**, scored once with the validated choices, for ``len(seeds)`` NSGA-II
   seeds (greedy baselines are deterministic).

NSGA-II variants: ``nsga2`` starts from random lists plus the base top-K (PreferRec's
set-up), ``nsga2_seeded`` ("NSGA-II seeded with greedy lists") also seeds each user with
every greedy list of the three paths, and ``nsga2_kt`` adds PreferRec's knowledge
transfer. All keep an archive of every non-dominated list they evaluate
(:mod:`moopt.engine.archive`), from which the choice is made, so a seeded run contains
each greedy list or one that weakly dominates it in objective space. Chosen lists are
ordered by q, so @5 metrics stay meaningful.

Metrics at K: HR, NDCG, Div (genre coverage), Nov (normalised self-information over
training popularity), ILD, and F1/F2 of HR@K against (Div + Nov) / 2
(:func:`recommenders.metrics.f_beta`) on the averaged metrics.

Scores and novelty are rounded to float32 precision before any method sees them
(:func:`moopt.objectives.portable_round`), so the CPU's math library (numpy's ``exp``
gives different last bits with and without AVX-512) does not change which lists the
search keeps: the same candidates files give the same tables on any machine.

Sampled protocol: candidate columns are shuffled per user first (seeded): the file
stores the positive in column 0 and every method breaks score ties towards lower
positions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from moopt import rerank_batch, stats
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
    (:data:`moopt.callbacks.knowledge_transfer.PRESETS`).
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


def utility_weights(cfg: RerankEvalConfig, w: float) -> dict[str, float]:
    """``w * accuracy + (diversity + novelty) / 2``."""
    return {cfg.accuracy: float(w), "diversity": 0.5, "novelty": 0.5}


def utility_path(ctx: Context, res, dominating=None) -> list[tuple[float, np.ndarray]]:
    """The chosen positions (ordered by q) at every utility weight of the grid, among the
    archive lists that weakly dominate ``dominating`` (objective values per user) if given."""
    return [(w, ctx.order_by_q(res.choose(utility_weights(ctx.cfg, w), dominating=dominating,
                                          positions=True)))
            for w in ctx.cfg.w_grid]  # fmt: skip


def _mean_metrics(per_seed: list[list[dict[str, float]]]) -> list[dict[str, float]]:
    """Per position of a path, the metrics averaged over seeds (the outer list); the mean
    of each seed's F-measure, as the test table reports it."""
    return [{key: float(np.mean([seed[i][key] for seed in per_seed])) for key in per_seed[0][i]}
            for i in range(len(per_seed[0]))]  # fmt: skip


def _mean_path(ctx: Context, results, dominating=None) -> list[tuple[float, dict]]:
    """``(w, metrics)`` along the utility path, the metrics averaged over the runs
    ``results`` (one per seed)."""
    per_seed = [[ctx.metrics(pos) for _, pos in utility_path(ctx, res, dominating)]
                for res in results]  # fmt: skip
    return list(zip(ctx.cfg.w_grid, _mean_metrics(per_seed), strict=True))


def _best(values: list[float]) -> int:
    """Index of the largest value, the first among ties."""
    return int(np.argmax(np.asarray(values)))


# ------------------------------------------------------------------------------ tuning


@dataclass
class Choice:
    """A validated choice: how a method's final list is picked and the validation F."""

    method: str
    rule: str  # "paper", "tuned F1", "utility F2", "angular region F1", "knee", ...
    param: float | None
    valid_f: float | None
    ref: tuple[str, float] | None = None  # a greedy list the choice must weakly dominate


def tune(valid: Context, cfg: RerankEvalConfig) -> tuple[list[Choice], dict]:
    """Every method's choices on the validation stage; also the validation curves."""
    kk = cfg.key_k
    choices: list[Choice] = []
    curves: dict = {}
    if "base" in cfg.methods:
        choices.append(Choice("base", "top-K", None, None))
    for m in GREEDY:
        if m not in cfg.methods:
            continue
        path = [valid.metrics(valid.greedy(m, p)) for p in cfg.grid]
        curves[m] = path
        choices.append(Choice(m, "paper", cfg.paper_param, None))
        for beta in ("F1", "F2"):
            j = _best([r[f"{beta}@{kk}"] for r in path])
            choices.append(Choice(m, f"tuned {beta}", cfg.grid[j], path[j][f"{beta}@{kk}"]))
    best_greedy = {}
    for beta in ("F1", "F2"):
        tuned = [c for c in choices if c.method in GREEDY and c.rule == f"tuned {beta}"]
        if tuned:
            best = max(tuned, key=lambda c: c.valid_f)
            best_greedy[beta] = (best.method, best.param)
    for m in NSGA:
        if m not in cfg.methods:
            continue
        # Every knob of a variant is fitted on its validation metrics averaged over all the
        # seeds it runs on test, so a choice does not hinge on one run's randomness.
        results = [valid.nsga(m, s)[0] for s in cfg.seeds]
        path = _mean_path(valid, results)
        curves[m] = path
        for beta in ("F1", "F2"):
            j = _best([r[f"{beta}@{kk}"] for _, r in path])
            choices.append(Choice(m, f"utility {beta}", path[j][0], path[j][1][f"{beta}@{kk}"]))
        for beta, ref in best_greedy.items():
            # The best validated greedy list, or a list of the archive that weakly
            # dominates it, chosen by the same utility: never worse on any objective.
            path = _mean_path(valid, results, valid.objective_values(valid.greedy(*ref)))
            j = _best([r[f"{beta}@{kk}"] for _, r in path])
            choices.append(Choice(m, f"utility {beta}, dominating {LABELS[ref[0]]}",
                                  path[j][0], path[j][1][f"{beta}@{kk}"], ref))  # fmt: skip
        choices.append(Choice(m, "knee", None, None))
        if m == "nsga2_kt":
            choices.append(Choice(m, "angular (all anchors)", None, None))
            n_regions = min(res.anchors.shape[1] for res in results)
            per_region = _mean_metrics([[valid.metrics(valid.order_by_q(
                res.choose("angular", region=r, positions=True))) for r in range(n_regions)]
                for res in results])  # fmt: skip
            for beta in ("F1", "F2"):
                j = _best([r[f"{beta}@{kk}"] for r in per_region])
                choices.append(Choice(m, f"angular region {beta}", j,
                                      per_region[j][f"{beta}@{kk}"]))  # fmt: skip
    if "nsga2" in cfg.methods and "nsga2_kt" in cfg.methods:
        # Separates the transfer's two effects: its search (the transfer rows with utility
        # or knee choice) and its final choice (plain search, angular choice with the
        # anchors the transfer run proposed for the same users and seed).
        choices.append(Choice("nsga2", ANGULAR_FROM_TRANSFER, None, None))
    return choices, curves


ANGULAR_FROM_TRANSFER = "angular (all anchors of the transfer run)"


def apply_choice(ctx: Context, choice: Choice, res=None, anchors=None) -> np.ndarray:
    """Positions (U, K) of a validated choice on a stage (``res``: the NSGA-II run;
    ``anchors``: the transfer run's anchors, for :data:`ANGULAR_FROM_TRANSFER`)."""
    m = choice.method
    if m == "base":
        return ctx.base()
    if m in GREEDY:
        return ctx.greedy(m, choice.param)
    if choice.rule.startswith("utility"):
        dom = None if choice.ref is None else ctx.objective_values(ctx.greedy(*choice.ref))
        pos = res.choose(utility_weights(ctx.cfg, choice.param), dominating=dom, positions=True)
    elif choice.rule == "knee":
        pos = res.choose("knee", positions=True)
    elif choice.rule == "angular (all anchors)":
        pos = res.choose("angular", positions=True)
    elif choice.rule == ANGULAR_FROM_TRANSFER:
        if anchors is None:
            raise ValueError(f"the rule {choice.rule!r} needs anchors= from a transfer run")
        pos = res.choose("angular", anchors=anchors, positions=True)
    elif choice.rule.startswith("angular region"):
        pos = res.choose("angular", region=int(choice.param), positions=True)
    else:  # pragma: no cover - tune() makes only the rules above
        raise ValueError(f"unknown rule {choice.rule!r}")
    return ctx.order_by_q(pos)


# ------------------------------------------------------------------------------ dominance


def dominated_share(ctx: Context, res, positions: np.ndarray) -> float:
    """Share of users whose list ``positions`` (U, K) is weakly dominated in objective
    space by (or equal to) a list in that user's final archive."""
    inputs = make_inputs(ctx.stage.q, ctx.stage.items, ctx.genres, ctx.pop, ctx.cfg.k)
    packed = pack_objectives(res.objectives, inputs)
    f = evaluate_lists(np.ascontiguousarray(positions[:, None, :]), packed)[:, 0]  # (U, M)
    A = res.archive_F  # (U, A, M); unused rows are NaN and compare False
    covered = np.all(A >= f[:, None, :] - 1e-12, axis=2).any(axis=1)
    return float(covered.mean())


# ------------------------------------------------------------------------------ the job


@dataclass
class RerankEvaluation:
    """Results of :func:`rerank_evaluation`.

    ``table``: one row per protocol, method and choice rule (NSGA-II rows averaged over
    seeds, with ``n_seeds`` and the 95% CI half-widths of F1/F2); ``runs``: one row per
    NSGA-II seed; ``significance``: NSGA-II seeded (validated utility) against the best
    validation-tuned greedy baseline; ``dominance``: share of users whose greedy list is
    weakly dominated by the user's archive; ``details``: per protocol, arrays for plots.
    """

    table: pd.DataFrame
    runs: pd.DataFrame
    significance: pd.DataFrame
    dominance: pd.DataFrame
    details: dict


def _label(choice: Choice) -> str:
    if choice.method in GREEDY:
        name = PARAM[choice.method]
        return f"{choice.rule} ({name}={choice.param:g})"
    if choice.rule.startswith("utility"):
        if choice.ref is not None:
            m, p = choice.ref
            return f"{choice.rule} ({PARAM[m]}={p:g}) (w={choice.param:g})"
        return f"{choice.rule} (w={choice.param:g})"
    if choice.rule.startswith("angular region"):
        return f"{choice.rule} (anchor {int(choice.param)})"
    return choice.rule


def validated_choice(choices: list[Choice], methods, beta: str) -> Choice:
    """The choice with the highest validation F-beta among ``methods``' F-beta choices:
    a greedy method's ``tuned F-beta`` parameter, or an NSGA-II variant's ``utility
    F-beta`` rules (plain or restricted to lists dominating the best greedy list). The
    test stage never enters this pick."""
    methods = (methods,) if isinstance(methods, str) else tuple(methods)
    pool = [c for c in choices if c.method in methods and c.valid_f is not None
            and (c.rule == f"tuned {beta}" or c.rule.startswith(f"utility {beta}"))]  # fmt: skip
    if not pool:
        raise ValueError(f"no validated {beta} choice among {methods}")
    return max(pool, key=lambda c: c.valid_f)


def _significance(protocol, choices, rows, runs, per_user, test: Context, cfg):
    """NSGA-II seeded with its validated choice (the utility rule with the best
    validation F, see :func:`validated_choice`) against the best validation-tuned greedy
    baseline, for F1 and F2: over seeds (the F-measure of each seed), and over users for
    HR and (Div + Nov) / 2 on the first seed."""
    kk, out = cfg.key_k, []
    for beta in ("F1", "F2"):
        head = validated_choice(choices, "nsga2_seeded", beta)
        best = validated_choice(choices, GREEDY, beta)
        vs = f"NSGA-II seeded vs {LABELS[best.method]} ({PARAM[best.method]}={best.param:g})"
        b_row = next(r for r in rows if r["protocol"] == protocol
                     and r["method"] == LABELS[best.method] and r["choice"] == _label(best))
        a = np.array([r[f"{beta}@{kk}"] for r in runs if r["protocol"] == protocol
                      and r["method"] == LABELS["nsga2_seeded"]
                      and r["choice"] == _label(head)])  # fmt: skip
        if len(a) >= 2:
            b = np.full(len(a), b_row[f"{beta}@{kk}"])  # greedy lists do not vary by seed
            out.append((f"{protocol}, {beta}@{kk} over seeds: {vs}",
                        stats.paired_over_seeds(a, b)))  # fmt: skip
        lists_a, lists_b = per_user["nsga2_seeded", head.rule], per_user[best.method, best.rule]
        target, first = test.stage.target, cfg.seeds[0]
        out.append((f"{protocol}, {beta}-tuned, HR@{kk} over users (seed {first}): {vs}",
                    stats.paired_over_users(per_user_hits(lists_a, target, kk),
                                            per_user_hits(lists_b, target, kk), seed=0)))
        out.append((f"{protocol}, {beta}-tuned, (Div+Nov)/2@{kk} over users (seed {first}): {vs}",
                    stats.paired_over_users(
                        per_user_beyond(lists_a, test.genres, test.pop, kk),
                        per_user_beyond(lists_b, test.genres, test.pop, kk), seed=0)))
    return out


def rerank_evaluation(
    cands: dict,
    valid_cands: dict,
    item_genres: np.ndarray,
    popularity: np.ndarray,
    cfg: RerankEvalConfig | None = None,
    protocols: tuple[str, ...] = ("full", "sampled"),
    valid_popularity: np.ndarray | None = None,
) -> RerankEvaluation:
    """Tune on ``valid_cands``, score ``cands`` (test) once; see the module docstring.

    ``popularity`` is the test stage's training popularity (novelty), ``valid_popularity``
    the validation stage's (default: the same)."""
    cfg = cfg or RerankEvalConfig()
    vpop = popularity if valid_popularity is None else valid_popularity
    kk = cfg.key_k
    rows, runs, sig_rows, dom_rows, details = [], [], [], [], {}
    for protocol in protocols:
        valid = Context(make_stage(valid_cands, "valid", protocol, cfg), item_genres, vpop, cfg)
        test = Context(make_stage(cands, "test", protocol, cfg), item_genres, popularity, cfg)
        choices, curves = tune(valid, cfg)
        per_user: dict[tuple, np.ndarray] = {}
        nsga_runs: dict[tuple[str, int], tuple] = {}
        for m in NSGA:
            if m in cfg.methods:
                for s in cfg.seeds:
                    nsga_runs[m, s] = test.nsga(m, s)
        for choice in choices:
            label = _label(choice)
            base = {"protocol": protocol, "method": LABELS[choice.method], "choice": label,
                    "rule": choice.rule, "valid F": choice.valid_f}  # fmt: skip
            if choice.method in NSGA:
                per_seed = []
                for s in cfg.seeds:
                    res, secs = nsga_runs[choice.method, s]
                    anchors = (nsga_runs["nsga2_kt", s][0].anchors
                               if choice.rule == ANGULAR_FROM_TRANSFER else None)  # fmt: skip
                    pos = apply_choice(test, choice, res, anchors)
                    met = test.metrics(pos)
                    per_seed.append(met)
                    runs.append({**base, "seed": s, **met, "seconds": secs,
                                 "evals/user": float(res.n_evals.mean())})  # fmt: skip
                    if s == cfg.seeds[0]:
                        per_user[choice.method, choice.rule] = test.items_of(pos)
                frame = pd.DataFrame(per_seed)
                row = {**base, **frame.mean().to_dict(), "n_seeds": len(cfg.seeds)}
                for beta in ("F1", "F2"):
                    vals = frame[f"{beta}@{kk}"].to_numpy()
                    row[f"{beta}@{kk} ci"] = (
                        stats.mean_ci(vals)[2] - vals.mean() if len(vals) > 1 else np.nan
                    )
                secs = [nsga_runs[choice.method, s][1] for s in cfg.seeds]
                evals = [nsga_runs[choice.method, s][0].n_evals.mean() for s in cfg.seeds]
                row.update({"seconds": float(np.mean(secs)), "evals/user": float(np.mean(evals))})
            else:
                pos = apply_choice(test, choice)
                row = {**base, **test.metrics(pos), "n_seeds": 1,
                       "seconds": test.greedy_seconds.get((choice.method, choice.param), 0.0),
                       "evals/user": np.nan}  # fmt: skip
                per_user[choice.method, choice.rule] = test.items_of(pos)
            rows.append(row)
        if "nsga2_seeded" in cfg.methods and any(m in cfg.methods for m in GREEDY):
            sig_rows += _significance(protocol, choices, rows, runs, per_user, test, cfg)
        # Dominance of each F1-tuned greedy list by each NSGA-II variant's archive.
        for m in NSGA:
            if m not in cfg.methods:
                continue
            res = nsga_runs[m, cfg.seeds[0]][0]
            for c in choices:
                if c.method in GREEDY and c.rule == "tuned F1":
                    dom_rows.append({
                        "protocol": protocol, "archive of": LABELS[m],
                        "greedy list": f"{LABELS[c.method]} ({PARAM[c.method]}={c.param:g})",
                        "share weakly dominated": dominated_share(test, res, test.greedy(
                            c.method, c.param)),
                    })  # fmt: skip
        details[protocol] = {"valid_curves": curves, "choices": choices, "valid": valid,
                             "test": test, "nsga_runs": nsga_runs}  # fmt: skip
    sig = (stats.compare_table(dict(sig_rows), correction="holm").reset_index() if sig_rows
           else pd.DataFrame())
    return RerankEvaluation(pd.DataFrame(rows), pd.DataFrame(runs), sig,
                            pd.DataFrame(dom_rows), details)  # fmt: skip


# ------------------------------------------------------------------------------ summary


def summary_table(evaluation: RerankEvaluation, k: int | None = None) -> pd.DataFrame:
    """The headline rows of :attr:`RerankEvaluation.table`, one row per method and rule,
    the protocols side by side (HR, F1, F2 at ``k``; F with its 95% CI half-width over
    seeds where the method has seeds; the validated parameter in brackets).

    Rows: the base ranker; each greedy baseline at the paper's parameter and tuned for
    F1 / F2; each NSGA-II variant with its validated F1 and F2 choice (the utility rule
    with the best validation F, :func:`validated_choice`) and the knee; the transfer's
    angular rules; plain NSGA-II with the transfer run's anchors."""
    t = evaluation.table
    k = k or max(int(c.split("@")[1]) for c in t.columns if c.startswith("F1@") and
                 not c.endswith("ci"))  # fmt: skip
    keep: list[tuple[str, str, str]] = []  # (protocol, method key, rule)
    names: dict[tuple[str, str], str] = {}
    for protocol, d in evaluation.details.items():
        choices = d["choices"]
        methods = {c.method for c in choices}
        order: list[tuple[str, str, str]] = []  # (method key, rule, row name)
        if "base" in methods:
            order.append(("base", "top-K", "top-K"))
        for m in GREEDY:
            if m in methods:
                order += [(m, r, r) for r in ("paper", "tuned F1", "tuned F2")]
        for m in NSGA:
            if m not in methods:
                continue
            for beta in ("F1", "F2"):
                c = validated_choice(choices, m, beta)
                order.append((m, c.rule, f"validated {beta}"))
            order.append((m, "knee", "knee"))
            if m == "nsga2_kt":
                order += [(m, r, r) for r in ("angular (all anchors)", "angular region F1")]
        if ("nsga2", ANGULAR_FROM_TRANSFER) in {(c.method, c.rule) for c in choices}:
            order.append(("nsga2", ANGULAR_FROM_TRANSFER, ANGULAR_FROM_TRANSFER))
        for m, rule, name in order:
            keep.append((protocol, m, rule))
            names[protocol, m, rule] = name
    out: dict[tuple[str, str], dict] = {}
    for protocol, m, rule in keep:
        row = t[(t.protocol == protocol) & (t.method == LABELS[m]) & (t.rule == rule)].iloc[0]
        name = names[protocol, m, rule]
        entry = out.setdefault((LABELS[m], name), {"method": LABELS[m], "choice": name})
        detail = row["choice"]
        if name.startswith("validated"):
            entry[f"{protocol} choice"] = detail
        elif "(" in detail and name != ANGULAR_FROM_TRANSFER and "all anchors" not in name:
            entry[f"{protocol} choice"] = detail[detail.index("(") :]
        else:
            entry[f"{protocol} choice"] = ""
        entry[f"{protocol} HR@{k}"] = f"{row[f'HR@{k}']:.4f}"
        for beta in ("F1", "F2"):
            value, ci = row[f"{beta}@{k}"], row.get(f"{beta}@{k} ci", np.nan)
            entry[f"{protocol} {beta}@{k}"] = (
                f"{value:.4f}" if not np.isfinite(ci) else f"{value:.4f} +- {ci:.4f}"
            )
    return pd.DataFrame(list(out.values())).fillna("")


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table of a frame of strings and numbers."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in frame.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ figures


def _draw_path(top, bottom, path: list[dict], k: int, colour, label: str, style: str = "-"):
    hr = [m[f"HR@{k}"] for m in path]
    div = np.array([m[f"Div@{k}"] for m in path])
    nov = np.array([m[f"Nov@{k}"] for m in path])
    top.plot((div + nov) / 2, hr, style, marker=".", color=colour, label=label, lw=1.2)
    bottom.plot(nov, div, style, marker=".", color=colour, lw=1.2)


def plot_tradeoff(evaluation: RerankEvaluation, path, k: int | None = None):
    """Mean test HR@k against (Div@k + Nov@k) / 2, and Div@k against Nov@k: the greedy
    paths as curves over their parameter, NSGA-II's utility path (first seed) as a curve
    over ``w``, validated choices as filled markers."""
    from moopt.plots import save_figure, subplots

    protocols = list(evaluation.details)
    fig, axes = subplots(2, len(protocols), size=4.2)
    colours = {"mmr": "C0", "dpp": "C1", "ssd": "C2", "nsga2": "C3", "nsga2_seeded": "C4",
               "nsga2_kt": "C5", "base": "k"}  # fmt: skip
    for col, protocol in enumerate(protocols):
        d = evaluation.details[protocol]
        test: Context = d["test"]
        cfg = test.cfg
        k = k or cfg.key_k
        top, bottom = axes[0][col], axes[1][col]
        for m in GREEDY:
            if m in cfg.methods:
                curve = [test.metrics(test.greedy(m, p)) for p in cfg.grid]
                _draw_path(top, bottom, curve, k, colours[m], f"{LABELS[m]} path ({PARAM[m]})")
        for m in NSGA:
            if m in cfg.methods:
                res = d["nsga_runs"][m, cfg.seeds[0]][0]
                curve = [test.metrics(pos) for _, pos in utility_path(test, res)]
                _draw_path(top, bottom, curve, k, colours[m], f"{LABELS[m]}, utility path (w)",
                           style="--")  # fmt: skip
        rows = evaluation.table[evaluation.table.protocol == protocol].to_dict("records")
        for row in rows:
            m = next(key for key, lab in LABELS.items() if lab == row["method"])
            if m != "base" and "tuned" not in row["choice"] and "utility" not in row["choice"]:
                continue
            marker = "s" if m == "base" else ("D" if "dominating" in row["choice"] else "o")
            hr, div, nov = row[f"HR@{k}"], row[f"Div@{k}"], row[f"Nov@{k}"]
            top.plot((div + nov) / 2, hr, marker, color=colours[m], ms=6, mec="k")
            bottom.plot(nov, div, marker, color=colours[m], ms=6, mec="k")
        top.set(title=f"{protocol} protocol (test)", xlabel=f"(Div@{k} + Nov@{k}) / 2",
                ylabel=f"HR@{k}")  # fmt: skip
        bottom.set(xlabel=f"Nov@{k}", ylabel=f"Div@{k}")
        top.grid(alpha=0.3)
        bottom.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="best")
    return save_figure(fig, path)


def plot_calibration(cands_valid: dict, path, protocols=("full", "sampled"), n_bins: int = 15):
    """Reliability diagrams of the calibrated hit probabilities on the validation stage
    (equal-mass bins of q over every user's candidates, log axes: most q are tiny), with
    the mean top-10 sum of q against HR@10 in each title."""
    from moopt.plots import save_figure, subplots
    from recommenders.calibration import calibration_table
    from recommenders.evaluate import calibration_summary

    fig, axes = subplots(1, len(protocols), size=4.0)
    for ax, protocol in zip(axes[0], protocols, strict=True):
        q, items, target = protocol_arrays(cands_valid, protocol, 0, "calibrated")
        table = calibration_table(q.ravel(), (items == target[:, None]).ravel(), n_bins=n_bins)
        table = table[table.hit_rate > 0]  # log axes; the lowest bins may hold no hit
        lo = min(table.mean_q.min(), table.hit_rate.min()) * 0.5
        ax.loglog([lo, 1], [lo, 1], ":", color="grey")
        ax.loglog(table.mean_q, table.hit_rate, "o-", color="C0")
        sum_q, hr = calibration_summary(cands_valid, protocol, 10)
        ax.set(xlabel="predicted hit probability q (bin mean)", ylabel="observed hit rate",
               title=f"{protocol} protocol, validation\nmean top-10 sum of q {sum_q:.3f}, "
                     f"HR@10 {hr:.3f}")  # fmt: skip
        ax.title.set_fontsize(9)
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_user_front(evaluation: RerankEvaluation, protocol: str, user: int, path):
    """One user's archive (NSGA-II seeded when present) with each method's chosen list."""
    from moopt.plots import plot_front, save_figure

    d = evaluation.details[protocol]
    test: Context = d["test"]
    runs = d["nsga_runs"]
    method = next((m for m in ("nsga2_seeded", "nsga2_kt", "nsga2") if (m, test.cfg.seeds[0])
                   in runs), None)  # fmt: skip
    if method is None:
        raise ValueError("plotting the front needs an NSGA-II method in the evaluation")
    res = runs[method, test.cfg.seeds[0]][0]
    inputs = make_inputs(test.stage.q[user], test.stage.items[user], test.genres, test.pop,
                         test.cfg.k)  # fmt: skip
    packed = pack_objectives(res.objectives, inputs)
    marks = {}
    for choice in d["choices"]:
        if choice.method in NSGA and (choice.method, test.cfg.seeds[0]) not in runs:
            continue
        if choice.rule in ("paper", ANGULAR_FROM_TRANSFER) or choice.rule.endswith("F2"):
            continue
        r = runs[choice.method, test.cfg.seeds[0]][0] if choice.method in NSGA else None
        pos = apply_choice(test, choice, r)[user]
        marks[f"{LABELS[choice.method]}, {_label(choice)}"] = evaluate_lists(
            pos[None, None], packed)[0, 0]  # fmt: skip
    n = int(res.archive_size[user])
    rank = np.zeros(n, dtype=np.int64)
    fig = plot_front(res.archive_F[user, :n], res.objectives, rank, marks,
                     title=f"user {user}, {protocol} protocol: {LABELS[method]} archive")
    return save_figure(fig, path)


def rerank_job(
    candidates_path,
    out_dir,
    cfg: RerankEvalConfig | None = None,
    protocols: tuple[str, ...] = ("full", "sampled"),
    dataset: str | None = None,
    valid_candidates_path=None,
) -> tuple[RerankEvaluation, list]:
    """Evaluate every method on a test candidates file, tuned on its validation file
    (default: ``candidates_valid.npz`` beside it). Writes to ``out_dir``:
    ``rerank_results.csv`` (the table), ``rerank_runs.csv`` (every NSGA-II seed),
    ``rerank_significance.csv``, ``rerank_dominance.csv``, ``rerank_summary.md`` (the
    headline rows, :func:`summary_table`, as markdown), ``tradeoff.png``,
    ``calibration.png`` (calibrated scores only) and ``pareto_front.png``."""
    from pathlib import Path

    from recommenders.data import make_split
    from recommenders.evaluate import load_candidates
    from recommenders.io import atomic_path, write_csv
    from recommenders.pipeline import load_data

    cfg = cfg or RerankEvalConfig()
    candidates_path = Path(candidates_path)
    if valid_candidates_path is None:
        valid_candidates_path = candidates_path.with_name("candidates_valid.npz")
    if not Path(valid_candidates_path).is_file():
        raise ValueError(
            f"no validation candidates at {valid_candidates_path}: every knob is tuned on "
            "validation; re-run `moopt train` (it writes candidates_valid.npz) or pass "
            "--valid-candidates"
        )
    cands = load_candidates(candidates_path)
    valid_cands = load_candidates(valid_candidates_path)
    name = dataset or str(cands["meta_dataset"])
    data = load_data(name)
    if data.n_items != int(cands["meta_n_items"]):
        raise ValueError(
            f"{candidates_path} was made on a catalogue of {int(cands['meta_n_items'])} items "
            f"but {name} has {data.n_items}"
        )
    split = make_split(data.interactions, str(cands["meta_split"]))
    popularity = split.history("test").item_counts().astype(np.float64)
    valid_pop = split.history("valid").item_counts().astype(np.float64)
    ev = rerank_evaluation(cands, valid_cands, data.item_genres, popularity, cfg, protocols,
                           valid_pop)  # fmt: skip
    out = Path(out_dir)
    written = [
        write_csv(out / "rerank_results.csv", ev.table),
        write_csv(out / "rerank_runs.csv", ev.runs),
    ]
    if len(ev.significance):
        written.append(write_csv(out / "rerank_significance.csv", ev.significance))
    if len(ev.dominance):
        written.append(write_csv(out / "rerank_dominance.csv", ev.dominance))
    summary = markdown_table(summary_table(ev, cfg.key_k))
    with atomic_path(out / "rerank_summary.md", suffix=".md") as tmp:
        tmp.write_text(summary)
    written.append(out / "rerank_summary.md")
    written.append(plot_tradeoff(ev, out / "tradeoff.png"))
    if cfg.score_transform == "calibrated":
        written.append(plot_calibration(valid_cands, out / "calibration.png", protocols))
    if any(m in cfg.methods for m in NSGA):
        written.append(plot_user_front(ev, protocols[0], 0, out / "pareto_front.png"))
    return ev, written

"""Re-ranking evaluation: base ranker, MMR, DPP, SSD, NSGA-II and NSGA-II with knowledge
transfer on the same candidates, under PreferRec's metrics.

Two protocols, both over a base ranker's candidates file (``moopt train``):

* ``full``: each user's top-100 unseen items by score; the test item may be missing.
* ``sampled``: PreferRec's 1 positive + 99 sampled negatives. Candidate columns are
  shuffled per user first (seeded): the file stores the positive in column 0, and every
  method breaks score ties towards lower positions.

Metrics at K (the first K of each method's 10-item list): HR, NDCG, Div (genre coverage),
Nov (normalised self-information over training popularity), ILD, and F1/F2 of Recall@K
(= HR@K here) against (Div + Nov) / 2 (:func:`recommenders.metrics.f_beta`), computed on
the averaged metrics. MMR, DPP and SSD use PreferRec's trade-off 0.7; MMR and DPP take
genre Jaccard similarity, SSD the genre vectors as item embeddings.

Score scale (``score_transform``, applied to every method alike): ``"softmax"`` (the
default) turns each user's candidate scores into probabilities over the candidates.
SASRec and GRU4Rec are trained with softmax cross-entropy, so exp(score) is their
predicted probability; a DCG over min-shifted logits is nearly flat across a top-100 and
lets the accuracy objective trade likely hits for items with similar logits.
``"none"`` uses the raw scores.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from moopt import rerank_batch
from moopt.callbacks import KnowledgeTransfer
from recommenders import metrics as M
from recommenders import rerank as R

METHODS = ("base", "mmr", "dpp", "ssd", "nsga2", "nsga2_kt")
LABELS = {
    "base": "base ranker", "mmr": "MMR", "dpp": "DPP", "ssd": "SSD",
    "nsga2": "NSGA-II (knee)", "nsga2_kt": "NSGA-II + transfer (angular)",
}  # fmt: skip


@dataclass(frozen=True)
class RerankEvalConfig:
    k: int = 10
    ks: tuple[int, ...] = (5, 10)
    lam: float = 0.7
    theta: float = 0.7
    gamma: float = 0.7
    window: int = 5
    pop_size: int = 50
    n_gen: int = 10
    p_cx: float = 0.9
    p_mut: float = 0.2
    seed: int = 0
    score_transform: str = "softmax"
    methods: tuple[str, ...] = METHODS

    def __post_init__(self) -> None:
        unknown = set(self.methods) - set(METHODS)
        if unknown:
            raise ValueError(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
        if max(self.ks) > self.k:
            raise ValueError(f"ks {self.ks} exceed the list length k={self.k}")
        if self.score_transform not in ("softmax", "none"):
            raise ValueError(
                f"score_transform must be 'softmax' or 'none', got {self.score_transform!r}"
            )


def transform_scores(scores: np.ndarray, how: str) -> np.ndarray:
    """Per-user softmax over the candidates (``"softmax"``) or the scores as given."""
    if how == "none":
        return scores
    z = np.exp(scores - scores.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def rerank_all(scores, candidates, item_genres, popularity, cfg: RerankEvalConfig):
    """Every method's lists (U, k) of item ids, their seconds, and the NSGA-II results."""
    lists, seconds, results = {}, {}, {}
    take = lambda pos: np.take_along_axis(candidates, pos, axis=1)  # noqa: E731
    sim = None
    for method in cfg.methods:
        t0 = time.perf_counter()
        if method == "base":
            lists[method] = take(np.argsort(-scores, axis=1, kind="stable")[:, : cfg.k])
        elif method in ("mmr", "dpp"):
            if sim is None:
                sim = R.candidate_similarity(candidates, item_genres=item_genres)
            fn = R.mmr_batch if method == "mmr" else R.dpp_batch
            param = cfg.lam if method == "mmr" else cfg.theta
            lists[method] = take(fn(scores, sim, cfg.k, param))
        elif method == "ssd":
            emb = item_genres[candidates].astype(np.float64)
            lists[method] = take(R.ssd_batch(scores, emb, cfg.k, cfg.gamma, cfg.window))
        else:
            callback = KnowledgeTransfer() if method == "nsga2_kt" else None
            res = rerank_batch(
                scores, candidates, item_genres, popularity, k=cfg.k, pop_size=cfg.pop_size,
                n_gen=cfg.n_gen, p_cx=cfg.p_cx, p_mut=cfg.p_mut, seed=cfg.seed,
                callback=callback,
            )  # fmt: skip
            lists[method] = res.chosen_lists("angular" if callback else "knee")
            results[method] = res
        seconds[method] = time.perf_counter() - t0
    return lists, seconds, results


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


def protocol_arrays(cands: dict, protocol: str, seed: int = 0):
    """``(scores, candidates, target)`` of a candidates file under ``protocol``."""
    if protocol == "full":
        return cands["scores"].astype(np.float64), cands["items"], cands["target"]
    if protocol == "sampled":
        items, scores = cands["sampled_items"], cands["sampled_scores"].astype(np.float64)
        perm = np.argsort(np.random.default_rng(seed).random(items.shape), axis=1)
        return (np.take_along_axis(scores, perm, 1), np.take_along_axis(items, perm, 1),
                items[:, 0])  # fmt: skip
    raise ValueError(f"protocol must be 'full' or 'sampled', got {protocol!r}")


def rerank_evaluation(
    cands: dict,
    item_genres: np.ndarray,
    popularity: np.ndarray,
    cfg: RerankEvalConfig | None = None,
    protocols: tuple[str, ...] = ("full", "sampled"),
) -> tuple[pd.DataFrame, dict]:
    """The comparison table (one row per protocol and method) and, per protocol, the
    lists and NSGA-II results for plots."""
    cfg = cfg or RerankEvalConfig()
    rows, details = [], {}
    for protocol in protocols:
        scores, items, target = protocol_arrays(cands, protocol, cfg.seed)
        scores = transform_scores(scores, cfg.score_transform)
        lists, seconds, results = rerank_all(scores, items, item_genres, popularity, cfg)
        for method in cfg.methods:
            row = {"protocol": protocol, "method": LABELS[method]}
            row.update(list_metrics(lists[method], target, item_genres, popularity, cfg.ks))
            row["seconds"] = seconds[method]
            rows.append(row)
        details[protocol] = {"lists": lists, "results": results, "scores": scores,
                             "items": items, "target": target}  # fmt: skip
    return pd.DataFrame(rows), details


def plot_user_front(details: dict, protocol: str, user: int, item_genres, popularity, path):
    """The Pareto-front plot of one user (NSGA-II + transfer population when present),
    marking the base ranker's list and each method's chosen list."""
    from moopt.plots import plot_front, save_figure

    d = details[protocol]
    res = d["results"].get("nsga2_kt") or d["results"].get("nsga2")
    if res is None:
        raise ValueError("plotting the front needs an NSGA-II method in the evaluation")
    from moopt.engine import evaluate_lists
    from moopt.objectives import make_inputs, pack_objectives

    inputs = make_inputs(
        d["scores"][user], d["items"][user], item_genres, popularity, res.positions.shape[2]
    )
    packed = pack_objectives(res.objectives, inputs)
    pos_of = {int(item): p for p, item in enumerate(d["items"][user])}
    marks = {}
    for method, lists in d["lists"].items():
        positions = np.array([[pos_of[int(i)] for i in lists[user]]])
        marks[LABELS[method]] = evaluate_lists(positions[None], packed)[0, 0]
    fig = plot_front(
        res.F[user],
        res.objectives,
        res.rank[user],
        marks,
        title=f"user {user}, {protocol} protocol: final population",
    )
    return save_figure(fig, path)


def rerank_job(
    candidates_path,
    out_dir,
    cfg: RerankEvalConfig | None = None,
    protocols: tuple[str, ...] = ("full", "sampled"),
    dataset: str | None = None,
) -> tuple[pd.DataFrame, list]:
    """Evaluate every method on a candidates file; write ``rerank_results.csv`` and
    ``pareto_front.png`` (the first user, full protocol) to ``out_dir``."""
    from pathlib import Path

    from recommenders.data import make_split
    from recommenders.evaluate import load_candidates
    from recommenders.io import write_csv
    from recommenders.pipeline import load_data

    cfg = cfg or RerankEvalConfig()
    cands = load_candidates(candidates_path)
    name = dataset or str(cands["meta_dataset"])
    data = load_data(name)
    if data.n_items != int(cands["meta_n_items"]):
        raise ValueError(
            f"{candidates_path} was made on a catalogue of {int(cands['meta_n_items'])} items "
            f"but {name} has {data.n_items}"
        )
    split = make_split(data.interactions, str(cands["meta_split"]))
    popularity = split.history("test").item_counts().astype(np.float64)
    table, details = rerank_evaluation(cands, data.item_genres, popularity, cfg, protocols)
    out = Path(out_dir)
    written = [write_csv(out / "rerank_results.csv", table)]
    if any(m in cfg.methods for m in ("nsga2", "nsga2_kt")):
        written.append(plot_user_front(details, protocols[0], 0, data.item_genres, popularity,
                                       out / "pareto_front.png"))  # fmt: skip
    return table, written

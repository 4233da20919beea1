"""Reporting: the headline summary table, markdown, and :func:`rerank_job`, which runs the
comparison on candidates files and writes every result file."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .evaluation import RerankEvaluation, rerank_evaluation
from .figures import plot_calibration, plot_tradeoff, plot_user_front
from .headline import headline_markdown
from .stages import GREEDY, LABELS, NSGA, RerankEvalConfig
from .tuning import ANGULAR_FROM_TRANSFER, validated_choice


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
    ``rerank_significance.csv``, ``rerank_dominance.csv``, ``rerank_headline.csv`` (the
    tests over users, :mod:`~problems.rerank_eval.headline`), ``rerank_summary.md`` (that
    headline and the rows of :func:`summary_table`, as markdown), ``tradeoff.png``,
    ``calibration.png`` (calibrated scores only) and ``pareto_front.png``, each
    atomically (temporary name, then rename). The job holds ``out_dir`` while it runs
    (:func:`recommenders.io.job_folder`: a second job there is refused, and the temporary
    files a killed run left are deleted first); a rerun after a kill computes the
    evaluation again from the same seeds and writes the same files."""
    from pathlib import Path

    from recommenders.io import job_folder

    candidates_path = Path(candidates_path)
    if valid_candidates_path is None:
        valid_candidates_path = candidates_path.with_name("candidates_valid.npz")
    if not Path(valid_candidates_path).is_file():
        raise ValueError(
            f"no validation candidates at {valid_candidates_path}: every knob is tuned on "
            "validation; re-run `moopt train` (it writes candidates_valid.npz) or pass "
            "--valid-candidates"
        )
    with job_folder(out_dir) as out:
        return _rerank_job(candidates_path, out, cfg or RerankEvalConfig(), protocols, dataset,
                           valid_candidates_path)  # fmt: skip


def _rerank_job(candidates_path, out, cfg, protocols, dataset, valid_candidates_path):
    from recommenders.evaluate import load_candidates
    from recommenders.io import atomic_path, write_csv

    cands = load_candidates(candidates_path)
    valid_cands = load_candidates(valid_candidates_path)
    if "item_genres" in cands and "item_popularity" in valid_cands:
        # The catalogue travels with the files (moopt train, moopt candidates).
        genres, popularity = cands["item_genres"], cands["item_popularity"]
        valid_pop = valid_cands["item_popularity"]
    else:  # files written before it did: the catalogue of the named dataset
        genres, popularity, valid_pop = _dataset_catalogue(candidates_path, cands, dataset)
    ev = rerank_evaluation(cands, valid_cands, genres, popularity, cfg, protocols,
                           valid_pop)  # fmt: skip
    written = [
        write_csv(out / "rerank_results.csv", ev.table),
        write_csv(out / "rerank_runs.csv", ev.runs),
    ]
    if len(ev.significance):
        written.append(write_csv(out / "rerank_significance.csv", ev.significance))
    if len(ev.dominance):
        written.append(write_csv(out / "rerank_dominance.csv", ev.dominance))
    if len(ev.headline):
        written.append(write_csv(out / "rerank_headline.csv", ev.headline))
    summary = markdown_table(summary_table(ev, cfg.key_k))
    if len(ev.headline):
        summary = headline_markdown(ev.headline) + "\nEvery method, test stage:\n\n" + summary
    with atomic_path(out / "rerank_summary.md", suffix=".md") as tmp:
        tmp.write_text(summary)
    written.append(out / "rerank_summary.md")
    written.append(plot_tradeoff(ev, out / "tradeoff.png"))
    if cfg.score_transform == "calibrated":
        written.append(plot_calibration(valid_cands, out / "calibration.png", protocols))
    if any(m in cfg.methods for m in NSGA):
        written.append(plot_user_front(ev, protocols[0], 0, out / "pareto_front.png"))
    return ev, written


def _dataset_catalogue(candidates_path, cands, dataset):
    """``(genres, test popularity, validation popularity)`` of the dataset a candidates file
    names (``dataset`` overrides it), recomputed from its split."""
    from recommenders.data import make_split
    from recommenders.pipeline import load_data

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
    return data.item_genres, popularity, valid_pop

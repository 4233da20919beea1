"""Reporting: the headline summary table, markdown, and ``rerank_job``.

``rerank_job`` runs the comparison on candidates files and writes every result file;
``load_rerank_run`` reads them back.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .curves import chosen_lists, item_table, tradeoff_curves
from .evaluation import RerankEvaluation, rerank_evaluation
from .figures import plot_calibration, plot_tradeoff, plot_user_front
from .headline import headline_markdown
from .stages import GREEDY, LABELS, NSGA, RerankEvalConfig
from .tuning import ANGULAR_FROM_TRANSFER, validated_choice


def summary_table(evaluation: RerankEvaluation, k: int | None = None) -> pd.DataFrame:
    """The headline rows of ``RerankEvaluation.table``, the protocols side by side.

    One row per method and rule: HR, F1, F2 at ``k``, F with its 95% CI half-width over
    seeds where the method has seeds, the validated parameter in brackets.

    Rows: the base ranker; each greedy baseline at the paper's parameter and tuned for
    F1 / F2; each NSGA-II variant with its validated F1 and F2 choice (the utility rule
    with the best validation F, ``validated_choice``) and the knee; the transfer's
    angular rules; plain NSGA-II with the transfer run's anchors.

    Parameters
    ----------
    evaluation : RerankEvaluation
        A finished evaluation.
    k : int or None, default None
        Cut-off; None means the largest k with an F1 column.

    Returns
    -------
    pandas.DataFrame
        ``method``, ``choice`` and per protocol ``<protocol> choice``, ``HR@k``,
        ``F1@k`` and ``F2@k``, as formatted strings.
    """
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
    """A GitHub-flavoured markdown table of a frame of strings and numbers.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; cells are written with ``str``.

    Returns
    -------
    str
        Header, separator and one line per row, ending in a newline.

    Examples
    --------
    >>> import pandas as pd
    >>> from problems.rerank_eval import markdown_table
    >>> print(markdown_table(pd.DataFrame({"method": ["MMR"], "F1@10": ["0.2100"]})), end="")
    | method | F1@10 |
    |---|---|
    | MMR | 0.2100 |
    """
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
    settings: dict | None = None,
) -> tuple[RerankEvaluation, list]:
    """Evaluate every method on a test candidates file, tuned on its validation file.

    Writes to ``out_dir``:
    ``rerank_results.csv`` (the table), ``rerank_runs.csv`` (every NSGA-II seed),
    ``rerank_significance.csv``, ``rerank_dominance.csv``, ``rerank_headline.csv`` (the
    tests over users, ``problems.rerank_eval.headline``), ``rerank_summary.md`` (that
    headline and the rows of ``summary_table``, as markdown), ``rerank_curves.csv``
    (the greedy paths and NSGA-II's utility paths on validation and test,
    ``problems.rerank_eval.curves.tradeoff_curves``), ``rerank_lists.csv`` (every
    user's base and chosen test lists, ``problems.rerank_eval.curves.chosen_lists``,
    with each user's own ``user_id``), ``rerank_items.csv`` (the items' own ids, titles,
    categories and popularity; the ids and titles of a ``moopt candidates`` folder come
    from its ``id_map.json`` and the file's ``item_titles``), ``tradeoff.png``,
    ``calibration.png`` (calibrated scores only), ``pareto_front.png`` and ``run.json``
    (``config``: every setting of ``cfg``; ``seeds``; ``protocols``, ``dataset``, the
    candidates files; ``settings``: e.g. the command line's options; ``versions``: the
    packages'), each atomically (temporary name, then rename); ``load_rerank_run``
    reads the folder back. The job holds ``out_dir`` while it runs
    (``recommenders.io.job_folder``: a second job there is refused, and the temporary
    files a killed run left are deleted first); a rerun after a kill computes the
    evaluation again from the same seeds and writes the same files.

    Parameters
    ----------
    candidates_path : str or pathlib.Path
        The test candidates file (``moopt train`` or ``moopt candidates``).
    out_dir : str or pathlib.Path
        Output folder; one holding another job's ``run.json`` is refused.
    cfg : RerankEvalConfig or None, default None
        Settings; None means ``RerankEvalConfig()``.
    protocols : tuple of str, default ("full", "sampled")
        Candidate protocols to evaluate.
    dataset : str or None, default None
        Dataset name for the item titles and, for older files without the catalogue,
        the genres and popularity; None means the file's ``meta_dataset``.
    valid_candidates_path : str or pathlib.Path or None, default None
        The validation candidates file; None means ``candidates_valid.npz`` beside
        ``candidates_path`` (``candidates_valid`` beside a candidates directory).
    settings : dict or None, default None
        Recorded in ``run.json`` (e.g. the command line's options).

    Returns
    -------
    evaluation : RerankEvaluation
        The evaluation.
    files : list of pathlib.Path
        The files written.

    Raises
    ------
    ValueError
        If the validation file is missing, ``out_dir`` holds another job's ``run.json``,
        or the catalogue does not match the file.
    """
    from recommenders.io import job_folder

    candidates_path = Path(candidates_path)
    if valid_candidates_path is None:
        valid_candidates_path = candidates_path.with_name(
            "candidates_valid" + ("" if candidates_path.is_dir() else ".npz"))
    if not Path(valid_candidates_path).exists():
        raise ValueError(
            f"no validation candidates at {valid_candidates_path}: every knob is tuned on "
            "validation; re-run `moopt train` (it writes candidates_valid.npz) or pass "
            "--valid-candidates"
        )
    record = Path(out_dir) / "run.json"
    if record.is_file() and "protocols" not in json.loads(record.read_text()):
        raise ValueError(
            f"{out_dir} holds another job's run.json (moopt train's, say); write the "
            "re-ranking to a folder of its own with --out"
        )
    with job_folder(out_dir) as out:
        return _rerank_job(candidates_path, out, cfg or RerankEvalConfig(), protocols, dataset,
                           valid_candidates_path, settings)  # fmt: skip


def _rerank_job(candidates_path, out, cfg, protocols, dataset, valid_candidates_path, settings):
    from moopt.files import versions
    from moopt.persist import jsonable
    from recommenders.evaluate import load_candidates
    from recommenders.io import atomic_path, write_csv, write_json

    cands = load_candidates(candidates_path)
    valid_cands = load_candidates(valid_candidates_path)
    name = dataset or (str(cands["meta_dataset"]) if "meta_dataset" in cands else None)
    if "item_genres" in cands and "item_popularity" in valid_cands:
        # The catalogue travels with the files (moopt train, moopt candidates).
        genres, popularity = cands["item_genres"], cands["item_popularity"]
        valid_pop = valid_cands["item_popularity"]
    else:  # files written before it did: the catalogue of the named dataset
        genres, popularity, valid_pop = _dataset_catalogue(candidates_path, cands, dataset)
    user_ids, item_ids, titles, names = _source_ids(candidates_path, cands, genres, name)
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
    curves = tradeoff_curves(ev)
    written.append(write_csv(out / "rerank_curves.csv", curves))
    lists = chosen_lists(ev)
    if len(lists):  # rows are the candidates' users, in order; their ids beside them
        lists.insert(lists.columns.get_loc("user") + 1, "user_id",
                     user_ids[cands["users"][lists["user"].to_numpy()]])  # fmt: skip
    written += [
        write_csv(out / "rerank_lists.csv", lists),
        write_csv(out / "rerank_items.csv",
                  item_table(genres, popularity, names, titles, item_ids)),
        plot_tradeoff(ev, out / "tradeoff.png", curves=curves),
    ]
    if cfg.score_transform == "calibrated":
        written.append(plot_calibration(valid_cands, out / "calibration.png", protocols))
    if any(m in cfg.methods for m in NSGA):
        written.append(plot_user_front(ev, protocols[0], 0, out / "pareto_front.png"))
    record = {"config": dataclasses.asdict(cfg), "seeds": list(cfg.seeds),
              "protocols": list(protocols), "dataset": name,
              "candidates": str(candidates_path), "valid_candidates": str(valid_candidates_path),
              "settings": settings or {}, "versions": versions()}  # fmt: skip
    written.append(write_json(out / "run.json", jsonable(record)))
    return ev, written


def _source_ids(candidates_path, cands, genres, name):
    """``(user ids, item ids, titles, genre names)`` of the candidates' indices: from the
    ``id_map.json`` beside a file of ``moopt candidates`` (titles from the file's
    ``item_titles``), else from the named dataset the candidates came from where it
    loads; the indices themselves (and no titles) otherwise."""
    from recommenders.pipeline import load_data

    n_users = int(cands["users"].max(initial=-1)) + 1
    user_ids, item_ids = np.arange(n_users), None
    names = [str(g) for g in cands["genre_names"]] if "genre_names" in cands else None
    titles = [str(t) for t in cands["item_titles"]] if "item_titles" in cands else None
    id_map = Path(candidates_path).with_name("id_map.json")
    if id_map.is_file():
        from recommenders.external import IdMap

        ids = IdMap.load(id_map)
        if ids.items.size != len(genres) or ids.users.size < n_users:
            raise ValueError(
                f"{id_map} maps {ids.users.size} users and {ids.items.size} items, but "
                f"{candidates_path} has {len(genres)} items and user indices up to "
                f"{n_users - 1}: it belongs to other candidates; write both again with "
                "moopt candidates"
            )
        return ids.users, ids.items, titles, names
    if name and name != "external":
        try:
            data = load_data(name)
        except (FileNotFoundError, ValueError, OSError):  # a folder since moved, say
            data = None
        if data is not None and data.n_items == len(genres):
            user_ids = np.asarray(data.raw_user_ids)
            titles, item_ids = data.item_titles, data.raw_item_ids
            names = names or list(data.genre_names)
    return user_ids, item_ids, titles, names


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


#: The tables ``rerank_job`` writes, by ``RerankRun`` attribute.
RUN_TABLES = {"table": "rerank_results.csv", "runs": "rerank_runs.csv",
              "significance": "rerank_significance.csv", "dominance": "rerank_dominance.csv",
              "headline": "rerank_headline.csv"}  # fmt: skip


@dataclass
class RerankRun:
    """A ``moopt rerank --out`` folder read back (``load_rerank_run``).

    Parameters
    ----------
    table, runs : pandas.DataFrame
        ``rerank_results.csv`` and ``rerank_runs.csv`` (``RerankEvaluation``'s).
    significance, dominance, headline : pandas.DataFrame, default empty
        The other tables of ``RerankEvaluation``, empty where the run wrote none.
    summary : str, default ""
        ``rerank_summary.md``.
    record : dict, default {}
        The run's ``run.json`` (``config``, ``seeds``, ``settings``, ``versions``, ...);
        empty for a folder from before it.
    """

    table: pd.DataFrame
    runs: pd.DataFrame
    significance: pd.DataFrame = field(default_factory=pd.DataFrame)
    dominance: pd.DataFrame = field(default_factory=pd.DataFrame)
    headline: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: str = ""
    record: dict = field(default_factory=dict)

    @property
    def config(self) -> RerankEvalConfig:
        """The run's settings as a ``RerankEvalConfig`` (lists back to tuples).

        A folder without ``run.json`` has none: a ``ValueError`` says to rerun.
        """
        cfg = self.record.get("config")
        if cfg is None:
            raise ValueError("this folder has no run.json (written before it existed); "
                             "rerun moopt rerank to record its settings")  # fmt: skip
        return RerankEvalConfig(**{k: tuple(v) if isinstance(v, list) else v
                                   for k, v in cfg.items()})  # fmt: skip


def load_rerank_run(folder) -> RerankRun:
    """The tables, summary and ``run.json`` of a ``moopt rerank --out`` folder.

    Parameters
    ----------
    folder : str or pathlib.Path
        A folder written by ``moopt rerank --out`` (or ``rerank_job``).

    Returns
    -------
    RerankRun
        Its tables (floats read back bit for bit), summary and record; a folder from
        before ``run.json`` loads with an empty ``record``.

    Raises
    ------
    FileNotFoundError
        If the folder has no ``rerank_results.csv``.
    """
    from moopt.files import read_csv

    folder = Path(folder)
    if not (folder / RUN_TABLES["table"]).is_file():
        raise FileNotFoundError(f"no {RUN_TABLES['table']} in {folder}: not a folder written "
                                "by moopt rerank --out")  # fmt: skip
    tables = {attr: read_csv(folder / name) for attr, name in RUN_TABLES.items()
              if (folder / name).is_file()}  # fmt: skip
    summary = folder / "rerank_summary.md"
    record = folder / "run.json"
    return RerankRun(**tables, summary=summary.read_text() if summary.is_file() else "",
                     record=json.loads(record.read_text()) if record.is_file() else {})

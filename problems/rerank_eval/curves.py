"""What a re-ranking run keeps for choosing by looking (``moopt report``).

The trade-off curves on both stages, every user's base and chosen lists, and the item
catalogue.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .evaluation import RerankEvaluation
from .stages import GREEDY, LABELS, NSGA, PARAM, Context
from .tuning import _label, _mean_path, validated_choice


def tradeoff_curves(evaluation: RerankEvaluation) -> pd.DataFrame:
    """The greedy baselines' paths and each NSGA-II variant's utility path, on both stages.

    Greedy paths run over the method's parameter, NSGA-II paths over the utility weight
    ``w``. NSGA-II points are averaged over the run's seeds, as the test table's rows
    are, so a validated utility choice lies on its test curve. Validation points are
    those ``problems.rerank_eval.tuning.tune`` chose from.

    Parameters
    ----------
    evaluation : RerankEvaluation
        A finished evaluation (its ``details`` hold the stages and runs).

    Returns
    -------
    pandas.DataFrame
        One row per point: ``stage`` (valid, test), ``protocol``, ``method`` (the
        table's label), ``key`` (the method's short name), ``param_name`` (lambda,
        theta, gamma or w), ``param`` and the metrics of
        ``problems.rerank_eval.stages.list_metrics`` at every k. With no greedy or
        NSGA-II method it is empty, with the columns ``CURVE_KEYS``.
    """
    rows = []
    for protocol, d in evaluation.details.items():
        test: Context = d["test"]
        cfg = test.cfg
        curves = d["valid_curves"]
        for m in (*GREEDY, *NSGA):
            if m not in cfg.methods:
                continue
            if m in GREEDY:
                valid = list(zip(cfg.grid, curves[m], strict=True))
                tested = [(p, test.metrics(test.greedy(m, p))) for p in cfg.grid]
            else:
                valid = curves[m]
                tested = _mean_path(test, [d["nsga_runs"][m, s][0] for s in cfg.seeds])
            for stage, path in (("valid", valid), ("test", tested)):
                for param, metrics in path:
                    rows.append({"stage": stage, "protocol": protocol, "method": LABELS[m],
                                 "key": m, "param_name": PARAM.get(m, "w"),
                                 "param": float(param), **metrics})  # fmt: skip
    # A run of the base ranker alone has no curve: the frame still has its columns.
    return pd.DataFrame(rows, columns=None if rows else CURVE_KEYS)


#: The leading columns of ``tradeoff_curves`` (the metrics follow).
CURVE_KEYS = ["stage", "protocol", "method", "key", "param_name", "param"]


def chosen_lists(evaluation: RerankEvaluation) -> pd.DataFrame:
    """Every user's test list for the base ranker and each tuned or validated choice.

    The lists are the base ranker's, each greedy baseline tuned for F1 and F2, and each
    NSGA-II variant's validated F1 and F2 choice (its first seed), ordered by q.

    Parameters
    ----------
    evaluation : RerankEvaluation
        A finished evaluation.

    Returns
    -------
    pandas.DataFrame
        One row per protocol, list and user: ``protocol``, ``method`` and ``choice``
        (the labels of ``rerank_results.csv``), ``rule`` (which validated rule picked the
        list), ``user``, the held-out ``target`` and the items ``item_1 .. item_K``.
    """
    frames = []
    for protocol, d in evaluation.details.items():
        test: Context = d["test"]
        choices, lists = d["choices"], d["lists"]
        picked = [(c, c.rule) for c in choices
                  if c.method == "base" or (c.method in GREEDY and c.rule.startswith("tuned"))]
        for m in NSGA:
            if any(c.method == m for c in choices):
                picked += [(validated_choice(choices, m, beta), f"validated {beta}")
                           for beta in ("F1", "F2")]  # fmt: skip
        for choice, rule in picked:
            items = lists[choice.method, choice.rule]
            frame = pd.DataFrame(items, columns=[f"item_{r + 1}" for r in range(items.shape[1])])
            frame.insert(0, "target", test.stage.target)
            frame.insert(0, "user", np.arange(len(items)))
            frame.insert(0, "rule", rule)
            frame.insert(0, "choice", _label(choice))
            frame.insert(0, "method", LABELS[choice.method])
            frame.insert(0, "protocol", protocol)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def item_table(item_genres: np.ndarray, popularity: np.ndarray, genre_names=None,
               titles=None, item_ids=None) -> pd.DataFrame:
    """The catalogue the lists index, one row per item.

    Parameters
    ----------
    item_genres : numpy.ndarray
        (I, G) bool genres.
    popularity : numpy.ndarray
        (I,) the test stage's novelty counts (stored as integers).
    genre_names : sequence of str or None, default None
        Names of the G genre columns; None (or a list of another length) means
        ``"category <j>"``.
    titles : sequence of str or None, default None
        Item titles; None (or an empty title) means ``"item <id>"``.
    item_ids : array_like or None, default None
        The source's item ids; None means the index.

    Returns
    -------
    pandas.DataFrame
        ``item`` (candidate id), ``item_id``, ``title``, ``categories`` (genre names
        joined by ``|``) and ``popularity``.

    Examples
    --------
    >>> import numpy as np
    >>> from problems.rerank_eval import item_table
    >>> genres = np.array([[True, False], [True, True]])
    >>> item_table(genres, [5, 2], genre_names=["Drama", "Comedy"]).to_dict("records")
    [{'item': 0, 'item_id': 0, 'title': 'item 0', 'categories': 'Drama', 'popularity': 5},
     {'item': 1, 'item_id': 1, 'title': 'item 1', 'categories': 'Drama|Comedy', 'popularity': 2}]
    """
    genres = np.asarray(item_genres, dtype=bool)
    n, c = genres.shape
    names = np.asarray(list(genre_names) if genre_names is not None and len(genre_names) == c
                       else [f"category {j}" for j in range(c)], dtype=object)  # fmt: skip
    ids = np.arange(n) if item_ids is None else np.asarray(item_ids)
    given = [""] * n if titles is None else [str(t) for t in titles]
    titles = [t or f"item {i}" for t, i in zip(given, ids, strict=True)]
    return pd.DataFrame({
        "item": np.arange(n), "item_id": ids, "title": list(titles),
        "categories": ["|".join(names[row]) for row in genres],
        "popularity": np.asarray(popularity, dtype=np.int64),
    })  # fmt: skip

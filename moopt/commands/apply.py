"""``moopt apply``: re-ranked lists of a model trained anywhere, in the user's own ids.

Reads scores in any form ``recommenders.external.candidates_from_scores`` accepts, the
item table and the training interactions (their items are excluded; popularity is counted
from them unless the item table has it), re-ranks each user's top ``--n`` candidates into
``--k``-item lists with ``moopt.rerank_batch`` and a choice rule, and writes the lists
(``lists.parquet`` or ``lists.csv``) and ``run.json`` (every setting, the seed, the package
versions) atomically. With ``--valid`` the calibration is fitted on validation (unless
``--no-calibration``: the scores' softmax over each user's candidates instead) and the
utility weight of ``expected_hits`` is picked on validation F1@K (HR against (Div + Nov) / 2,
the target being each user's first validation item), as ``moopt rerank`` tunes it; run.json
records the F1@K of every weight of the grid.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

import numpy as np

from moopt.commands.candidates import _ids, add_score_inputs

HELP = "re-rank another model's scores into lists in your own ids (lists + run.json)"

DESCRIPTION = """\
Re-rank the scores of a model trained anywhere: per user the top --n items by score outside
the user's history (--train, and --valid when given) are re-ranked into --k-item lists
trading the --objectives, and one list per user is chosen by --choose. Writes to --out:
lists.parquet or lists.csv (user, rank, item, score, and each objective's value of the
user's list; your own ids) and run.json (every setting, the seed, the package versions).
With --valid the score calibration is fitted on it (--no-calibration skips that: the hit
probabilities are then the softmax of the scores over each user's --n candidates) and, for
--choose utility, the weight of expected_hits is picked on validation F1@K (the target: each
user's first --valid item); run.json records every grid weight's validation F1@K.
"""

EPILOG = """\
objectives: built-in names (expected_hits, diversity, novelty, accuracy, ild) or your own
  objective as module:name, imported from the current folder (the module registers it with
  @moopt.objective).

example:
  moopt apply --scores als.npy --items items.csv --train train.csv --valid valid.csv \\
      --out runs/als-lists --choose utility --weights expected_hits=2,diversity=0.5
"""

def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``apply`` on the CLI's subparsers.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of ``moopt.cli.build_parser``.

    Returns
    -------
    argparse.ArgumentParser
        The command's parser.
    """
    p = sub.add_parser("apply", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_score_inputs(p, "validation interactions: calibrate and tune the weight on them")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet",
                   help="lists file format (default: parquet)")
    p.add_argument("--n", type=int, default=100, help="candidates per user (default: 100)")
    p.add_argument("--k", type=int, default=10, help="list length (default: 10)")
    p.add_argument("--objectives", default="expected_hits,diversity,novelty",
                   help="comma-separated objective names or module:name "
                   "(default: expected_hits,diversity,novelty)")  # fmt: skip
    p.add_argument("--no-calibration", action="store_true",
                   help="do not fit the score calibration on --valid: expected_hits uses the "
                   "softmax of the scores over each user's --n candidates, as without "
                   "--valid (run.json: calibration none)")  # fmt: skip
    p.add_argument("--choose", choices=["utility", "knee"], default="utility",
                   help="choice rule (default: utility)")
    p.add_argument("--weights", default=None,
                   help="utility weights name=w,... (default: 1 for expected_hits, 0.5 for "
                   "the others; with --valid the expected_hits weight is tuned)")  # fmt: skip
    p.add_argument("--dominating", choices=["base"], default=None,
                   help="base: only lists at least as good as the top-K by score on every "
                   "objective (utility choice only; not with expected_hits or accuracy, "
                   "which the top-K maximises)")  # fmt: skip
    p.add_argument("--pop-size", type=int, default=50, help="population size (default: 50)")
    p.add_argument("--n-gen", type=int, default=10, help="generations (default: 10)")
    p.add_argument("--batch-users", type=int, default=512,
                   help="users re-ranked per engine call, the progress bar's step; part of "
                   "what the seed reproduces (default: 512)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    return p


def _objectives(text: str) -> list[str]:
    """Objective names; ``module:name`` imports ``module`` from the current folder."""
    from moopt.objectives import get_objective

    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise ValueError("--objectives is empty; give e.g. expected_hits,diversity,novelty")
    out = []
    for spec in names:
        if ":" in spec:
            module, _, spec = spec.partition(":")
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise ValueError(f"--objectives: cannot import {module!r} from the current "
                                 f"folder ({exc})") from None  # fmt: skip
        try:
            get_objective(spec)
        except ValueError as exc:
            raise ValueError(f"--objectives: {exc}") from None
        out.append(spec)
    return out


def _weights(text: str | None, objectives: list[str]) -> dict[str, float]:
    weights = {o: (1.0 if o == "expected_hits" else 0.5) for o in objectives}
    if text is None:
        return weights
    for part in text.split(","):
        name, eq, value = part.partition("=")
        try:
            w = float(value)
        except ValueError:
            w = None
        if not eq or w is None or not np.isfinite(w) or name.strip() not in weights:
            raise ValueError(f"--weights: {part!r} is not objective=number over the objectives "
                             f"{objectives}, e.g. expected_hits=2,diversity=0.5")  # fmt: skip
        weights[name.strip()] = w
    return weights


def _q(cands: dict) -> np.ndarray:
    """Calibrated hit probabilities, or a softmax over the candidates when uncalibrated."""
    from problems.rerank_stream import candidate_probabilities

    return candidate_probabilities(cands)


def _rerank(q, cands, objectives, args, choosers):
    """Per chooser, the chosen positions (U, K), ordered by q, and their objective values
    (U, M): one search over batches of users (a progress bar), every chooser applied to it."""
    from tqdm.auto import tqdm

    import moopt
    from moopt.engine.rerank import evaluate_lists, topk_positions
    from moopt.objectives.registry import make_inputs, pack_objectives

    n_users = q.shape[0]
    pos, F = [[] for _ in choosers], [[] for _ in choosers]
    bar = tqdm(total=n_users, desc="apply", unit="user")
    for b, start in enumerate(range(0, n_users, args.batch_users)):
        sl = slice(start, start + args.batch_users)
        qs, items = q[sl], cands["items"][sl]
        genres, pop = cands["item_genres"], cands["item_popularity"]
        res = moopt.rerank_batch(qs, items, genres, pop, k=args.k, objectives=objectives,
                                 pop_size=args.pop_size, n_gen=args.n_gen, seed=args.seed + b)
        packed = pack_objectives(objectives, make_inputs(qs, items, genres, pop, args.k, None))
        base = evaluate_lists(topk_positions(qs, args.k)[:, None, :], packed)[:, 0]
        for c, chooser in enumerate(choosers):
            p = chooser(res, base if args.dominating else None)
            order = np.argsort(-np.take_along_axis(qs, p, axis=1), axis=1, kind="stable")
            p = np.take_along_axis(p, order, axis=1)
            pos[c].append(p)
            F[c].append(evaluate_lists(p[:, None, :], packed)[:, 0])
        bar.update(qs.shape[0])
    bar.close()
    return [(np.concatenate(p), np.concatenate(f)) for p, f in zip(pos, F, strict=True)]


def _tune_w(ext, objectives, weights, args) -> tuple[float, float, list[float], list[float]]:
    """The expected_hits weight with the best validation F1@K (the first of equals), that
    F1, the weight grid and every grid weight's validation F1@K."""
    from problems.rerank_eval.stages import DEFAULT_W as W_GRID  # moopt rerank's grid
    from problems.rerank_eval.stages import list_metrics

    if "expected_hits" not in objectives:
        raise ValueError("--valid tunes the weight of expected_hits: add it to --objectives or "
                         "use --choose knee")  # fmt: skip
    v = ext.valid
    q = _q(v)
    choosers = [lambda r, d, ww={**weights, "expected_hits": w}: r.choose(
        ww, dominating=d, positions=True) for w in W_GRID]  # fmt: skip
    f1 = []
    for pos, _ in _rerank(q, v, objectives, args, choosers):
        lists = np.take_along_axis(v["items"], pos, axis=1)
        m = list_metrics(lists, v["target"], v["item_genres"], v["item_popularity"], (args.k,))
        f1.append(m[f"F1@{args.k}"])
    best = int(np.argmax(f1))
    return W_GRID[best], float(f1[best]), list(W_GRID), [float(f) for f in f1]


def run(args) -> int:
    """Re-rank the scores and write ``lists.parquet``/``lists.csv`` and ``run.json`` to ``--out``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (see ``add_parser``).

    Returns
    -------
    int
        Exit status 0.

    Raises
    ------
    ValueError
        For a count option below 1, ``--dominating`` without ``--choose utility``, bad
        ``--weights`` or objectives, or invalid input tables.
    FileNotFoundError
        For a missing input file.
    """
    import pandas as pd

    from moopt.files import atomic_path, versions, write_json
    from recommenders.external import candidates_from_scores, read_table
    from recommenders.io import job_folder

    for flag, v in (("--n", args.n), ("--k", args.k), ("--pop-size", args.pop_size),
                    ("--n-gen", args.n_gen), ("--batch-users", args.batch_users)):
        if v < 1:
            raise ValueError(f"{flag} must be at least 1, got {v}")
    objectives = _objectives(args.objectives)
    weights = _weights(args.weights, objectives)
    if args.dominating and args.choose != "utility":
        raise ValueError("--dominating base applies to --choose utility, not knee")
    maximal = [o for o in objectives if o in ("expected_hits", "accuracy")]
    if args.dominating and maximal:
        # The top-K by score is the one list at that objective's maximum, 1: nothing else
        # dominates it, so the choice would always be the base list.
        raise ValueError(f"--dominating base with {maximal[0]} among --objectives keeps only "
                         f"the base top-K itself (it alone reaches {maximal[0]} = 1); drop "
                         "--dominating, or use it with objectives the top-K does not maximise")
    user_ids = _ids(args.user_ids, "--user-ids")
    if str(args.scores).lower().endswith(".npy"):
        if not os.path.isfile(args.scores):
            raise FileNotFoundError(f"--scores: no file {args.scores}")
        rows = np.load(args.scores, mmap_mode="r").shape[0]
        users = user_ids if user_ids is not None else np.arange(rows)
    else:
        users = pd.unique(read_table(args.scores, "--scores", ("user", "item", "score"))["user"])
    first_item = read_table(args.items, "--items", ("item",))["item"].iloc[0]
    # The lists are the test stage (history: train + valid); its target is a placeholder,
    # never used: only the full protocol's candidates are built.
    placeholder = pd.DataFrame({"user": users, "item": first_item})
    with warnings.catch_warnings():  # without --valid: no calibration, said in run.json
        warnings.filterwarnings("ignore", "the split has no validation", RuntimeWarning)
        ext = candidates_from_scores(
            args.scores, args.items, args.train, args.valid, placeholder, n=args.n,
            user_ids=user_ids, item_ids=_ids(args.item_ids, "--item-ids"), seed=args.seed,
            protocols=("full",), calibration=args.valid is not None and not args.no_calibration,
            category_sep=args.category_sep,
        )  # fmt: skip
    tuned = None
    if args.valid is not None and args.choose == "utility":
        w, f1, grid, f1_grid = _tune_w(ext, objectives, weights, args)
        weights["expected_hits"] = w
        tuned = {"expected_hits_weight": w, f"valid_F1@{args.k}": f1, "grid": grid,
                 f"grid_valid_F1@{args.k}": f1_grid}  # fmt: skip
        print(f"validation picked expected_hits weight {w} (F1@{args.k} {f1:.4f}); weights "
              + ", ".join(f"{o}={x}" for o, x in weights.items()))
    if args.choose == "knee":
        chooser = lambda r, d: r.choose("knee", positions=True)  # noqa: E731
    else:
        chooser = lambda r, d: r.choose(weights, dominating=d, positions=True)  # noqa: E731
    test = ext.test
    [(pos, F)] = _rerank(_q(test), test, objectives, args, [chooser])
    items = np.take_along_axis(test["items"], pos, axis=1)
    frame = ext.lists(items)[["user", "rank", "item", "score"]]
    frame["score"] = frame["score"].astype(np.float64)  # the same in .csv and .parquet
    for j, name in enumerate(objectives):
        frame[name] = np.repeat(F[:, j], args.k)
    settings = {k: v for k, v in vars(args).items() if k != "command"}
    settings.update(objectives=objectives, weights=weights, tuned=tuned, command="apply",
                    calibration=str(test["meta_calibration"]))  # fmt: skip
    with job_folder(args.out) as out:
        path = out / f"lists.{args.format}"
        with atomic_path(path) as tmp:
            if args.format == "csv":
                frame.to_csv(tmp, index=False)
            else:
                frame.to_parquet(tmp, index=False)
        run_json = write_json(out / "run.json", {"settings": settings, "versions": versions()})
    print(f"{test['users'].size} users, {args.k}-item lists; wrote {path} and {run_json}")
    return 0

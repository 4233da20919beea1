"""``moopt candidates``: the candidates files of a model trained anywhere.

Reads a score matrix (``.npy``) or a score table (``.parquet`` / ``.csv``: ``user``,
``item``, ``score``), an item table and the interactions, and writes what ``moopt train``
writes for re-ranking (``candidates.npz``, ``candidates_valid.npz``, ``metrics.json``)
plus ``id_map.json`` (the user's own ids of the indices in those files), so that
``moopt rerank --candidates OUT/candidates.npz`` evaluates that model with the same
protocols and tables (``recommenders.external.candidates_from_scores``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HELP = "candidates files from another library's scores (re-rank them with moopt rerank)"

DESCRIPTION = """\
Build the candidates `moopt rerank` reads from a model trained anywhere, exactly as
`moopt train` builds them for its own rankers: per user the top --n items by score with the
items of the user's history excluded (train for validation, train + validation for test),
the first held-out item as target, the sampled protocol's 1 + --n-negatives candidates,
the score calibration fitted on --valid, and the item table's categories and popularity.
Writes to --out: candidates.npz (test), candidates_valid.npz (validation), metrics.json
(the scores' HR, NDCG ... under both protocols, as `moopt train` writes it; not written
without the sampled protocol) and id_map.json (your ids of the indices in those files).

The scores should come from a model fitted on --train only: one matrix serves both stages.
A top-n score table (scores for a few items per user) supports the full protocol only,
uncalibrated: pass --protocols full --no-calibration and re-rank with
`moopt rerank --protocols full --score-transform softmax`.
"""

EPILOG = """\
files:
  --scores   .npy (users, items) array, rows --user-ids (default 0..U-1), columns
             --item-ids (default the item table's order); or .parquet/.csv with
             columns user, item, score
  --items    .csv/.parquet: item, categories ("Action|Drama"), optional popularity
             (else counted from the interactions) and title
  --train, --valid, --test
             .csv/.parquet: user, item, optional timestamp (else the file's order)

example:
  moopt candidates --scores als.npy --items items.csv --train train.csv \\
      --valid valid.csv --test test.csv --out runs/als
  moopt rerank --candidates runs/als/candidates.npz --out runs/als-rerank
"""


def add_score_inputs(p: argparse.ArgumentParser, valid_help: str) -> None:
    """Add the options every command reading another model's scores takes.

    They are ``--scores``, ``--items``, ``--train``, ``--valid``, ``--user-ids``,
    ``--item-ids`` and ``--category-sep`` (``moopt candidates``, ``moopt apply``).

    Parameters
    ----------
    p : argparse.ArgumentParser
        The command's parser.
    valid_help : str
        Help text of ``--valid`` (what the command does with validation interactions).
    """
    p.add_argument("--scores", required=True, help="score matrix .npy or table .parquet/.csv")
    p.add_argument("--items", required=True, help="item table .csv/.parquet")
    p.add_argument("--train", required=True, help="training interactions .csv/.parquet")
    p.add_argument("--valid", default=None, help=valid_help)
    p.add_argument("--user-ids", default=None,
                   help="the rows of a .npy score matrix: a .npy array or a text file, one "
                   "id per line (default: 0..U-1)")  # fmt: skip
    p.add_argument("--item-ids", default=None,
                   help="the columns of a .npy score matrix, as --user-ids (default: the "
                   "item table's order)")  # fmt: skip
    p.add_argument("--category-sep", default="|",
                   help="separator of the item table's categories (default: |)")


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``candidates`` on the CLI's subparsers.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of ``moopt.cli.build_parser``.

    Returns
    -------
    argparse.ArgumentParser
        The command's parser.
    """
    p = sub.add_parser("candidates", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_score_inputs(p, "validation interactions (needed to calibrate and to tune rerank)")
    p.add_argument("--test", required=True, help="test interactions .csv/.parquet")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--n", type=int, default=100, help="candidates per user (default: 100)")
    p.add_argument("--max-users", type=int, default=None,
                   help="evaluate only the first N users of --test (its file order), e.g. "
                   "for a quick check (default: all)")  # fmt: skip
    p.add_argument("--n-negatives", type=int, default=99,
                   help="sampled protocol: negatives per target (default: 99)")
    p.add_argument("--protocols", nargs="+", default=["full", "sampled"],
                   choices=["full", "sampled"], help="default: full sampled")
    p.add_argument("--no-calibration", action="store_true",
                   help="do not fit the score calibration (a top-n table cannot be)")
    p.add_argument("--model", default="external",
                   help="the model's name stored in the files (default: external)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the sampled negatives and the calibration (default: 0)")
    p.add_argument("--format", choices=["npz", "dir"], default="npz",
                   help="candidates.npz files, or directories candidates/ of .npy arrays "
                   "read memory-mapped (default: npz)")  # fmt: skip
    return p


def _ids(path: str | None, flag: str):
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{flag}: no file {p}")
    if p.suffix.lower() == ".npy":
        return np.load(p, allow_pickle=False)
    lines = [line.strip() for line in p.read_text().splitlines() if line.strip()]
    try:
        return np.array([int(v) for v in lines], dtype=np.int64)
    except ValueError:
        return np.array(lines, dtype=str)


def run(args) -> int:
    """Build the candidates files of another model's scores and write them to ``--out``.

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
        For ``--max-users`` below 1 or invalid input tables.
    FileNotFoundError
        For a missing input file.
    """
    import pandas as pd

    from recommenders.evaluate import evaluate
    from recommenders.external import candidates_from_scores, read_table
    from recommenders.io import job_folder, write_json

    if args.max_users is not None and args.max_users < 1:
        raise ValueError(f"--max-users must be at least 1, got {args.max_users}")
    users = None
    if args.max_users is not None:
        test = read_table(args.test, "--test", ("user", "item"))
        users = pd.unique(test["user"].to_numpy())[: args.max_users]
    with job_folder(args.out) as out:
        ext = candidates_from_scores(
            args.scores, args.items, args.train, args.valid, args.test, n=args.n,
            user_ids=_ids(args.user_ids, "--user-ids"), item_ids=_ids(args.item_ids, "--item-ids"),
            users=users, n_negatives=args.n_negatives, seed=args.seed,
            protocols=tuple(args.protocols), calibration=not args.no_calibration,
            model=args.model, category_sep=args.category_sep,
        )  # fmt: skip
        written = ext.save(out, getattr(args, "format", "npz"))
        if "sampled" in args.protocols:
            metrics = evaluate(ext.model, ext.split, "test", (5, 10, 20), ext.catalogue.genres,
                               ext.catalogue.popularity, args.n_negatives, args.seed)
            written.append(write_json(out / "metrics.json", metrics))
            full, sampled = metrics["full"], metrics["sampled"]
            print(f"{args.model}: full ranking HR@10 {full['HR@10']:.4f} NDCG@10 "
                  f"{full['NDCG@10']:.4f}; sampled 1+{args.n_negatives} HR@10 "
                  f"{sampled['HR@10']:.4f} NDCG@10 {sampled['NDCG@10']:.4f}")  # fmt: skip
    test = ext.test
    calib = str(test["meta_calibration"])
    print(f"{test['users'].size} test users, {ext.valid['users'].size if ext.valid else 0} "
          f"validation users, {test['items'].shape[1]} candidates each, calibration: {calib}")
    print("wrote " + ", ".join(str(p) for p in written))
    cands = Path(args.out) / ("candidates" if getattr(args, "format", "npz") == "dir"
                              else "candidates.npz")  # fmt: skip
    print(f"next: moopt rerank --candidates {cands} --out RUN_DIR"
          + ("" if "sampled" in args.protocols else " --protocols full")
          + ("" if calib != "none" else " --score-transform softmax"))
    return 0

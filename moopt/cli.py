"""The ``moopt`` command line.

The engine (``moopt``) knows nothing of recommendation data; the CLI is where the
packages are wired together, so it imports ``recommenders`` (and later ``problems``)
lazily, inside the commands that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

DESCRIPTION = """\
moopt: evolutionary multi-objective optimisation for recommender systems.

Start with `moopt demo` (what `make demo` runs): it trains base rankers on MovieLens-100K
and prints their accuracy table. `moopt train MODEL` trains one ranker and writes its
metrics and the top-100 candidates per user that re-ranking reads.
"""

EPILOG = """\
examples:
  moopt data ml-100k                         show the dataset's counts
  moopt train sasrec --out runs/sasrec       train SASRec, write metrics.json + candidates
  moopt train bpr --set dim=128 --epochs 50  override model settings
  moopt demo --out runs/demo                 the main job
"""


def _parse_settings(pairs: Sequence[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"moopt: --set takes key=value pairs, got {pair!r}")
        settings[key.strip()] = value.strip()
    return settings


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data", default="ml-100k",
        help="dataset: ml-100k (packaged), ml-1m, synthetic, or a folder (default: ml-100k)",
    )  # fmt: skip
    p.add_argument(
        "--data-path", default=None,
        help="folder with GroupLens (u.data / ratings.dat) or RecBole atomic files",
    )  # fmt: skip


def _add_run_args(p: argparse.ArgumentParser) -> None:
    _add_data_args(p)
    p.add_argument(
        "--split",
        default="leave-one-out",
        choices=["leave-one-out", "ratio"],
        help="chronological leave-one-out or 6:2:2 ratio split",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda")
    p.add_argument(
        "--n-candidates",
        type=int,
        default=100,
        help="candidates per user written for re-ranking (default 100)",
    )
    p.add_argument("--epochs", type=int, default=None, help="maximum training epochs")
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a model setting, e.g. --set hidden=128 (repeatable)",
    )
    p.add_argument(
        "--reuse",
        action="store_true",
        help="load the checkpoint in --out if it was trained with the same settings",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moopt", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "train", help="train and evaluate one base ranker",
        description="Train one base ranker, print its metrics (full ranking and 1+99 sampled), "
        "and write metrics.json, candidates.npz, model.pt, run.json and train_log.csv to --out.",
    )  # fmt: skip
    p.add_argument("model", help="pop, bpr (alias bpr-mf), lightgcn, gru4rec or sasrec")
    p.add_argument("--out", required=True, help="output folder")
    _add_run_args(p)

    p = sub.add_parser(
        "demo", help="the main job: train and compare base rankers on ML-100K",
        description="Train Pop, BPR-MF and SASRec on ML-100K (chronological leave-one-out), "
        "print their table and save results.csv. Checkpoints in --out are reused when their "
        "settings match, so a second run only evaluates.",
    )  # fmt: skip
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument(
        "--models",
        nargs="+",
        default=["pop", "bpr", "sasrec"],
        help="models to train (default: pop bpr sasrec)",
    )
    p.add_argument("--retrain", action="store_true", help="ignore existing checkpoints")
    _add_run_args(p)

    p = sub.add_parser("data", help="show a dataset's counts")
    p.add_argument("name", nargs="?", default="ml-100k")
    p.add_argument("--path", default=None, help="folder to read instead of the packaged copy")

    sub.add_parser("models", help="list the base rankers and their default settings")
    return parser


def _run_config(args, model: str):
    from recommenders.pipeline import RunConfig

    settings = _parse_settings(args.settings)
    if args.epochs is not None:
        settings["epochs"] = str(args.epochs)
    return RunConfig(
        model=model, dataset=args.data, data_path=args.data_path,
        split=args.split, seed=args.seed, device=args.device,
        n_candidates=args.n_candidates, model_settings=settings,
    )  # fmt: skip


def _print_metrics(name: str, metrics: dict) -> None:
    import pandas as pd

    rows = []
    for protocol, values in metrics.items():
        ks = sorted({int(k.split("@")[1]) for k in values})
        for k in ks:
            row = {"protocol": protocol, "K": k}
            for m in ("HR", "NDCG", "MRR", "Recall", "Div", "ILD", "Nov", "F1", "F2"):
                if f"{m}@{k}" in values:
                    row[m] = values[f"{m}@{k}"]
            rows.append(row)
    print(f"\n{name}")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.4f}"))


def cmd_train(args) -> int:
    from recommenders.pipeline import train_and_evaluate

    cfg = _run_config(args, args.model)
    res = train_and_evaluate(cfg, args.out, reuse=args.reuse, verbose=not args.quiet)
    how = "reused checkpoint" if res.reused else f"trained in {res.fit_seconds:.1f}s"
    _print_metrics(
        f"{res.model.name} on {res.dataset.name} ({how}, {res.model.device})", res.metrics
    )
    print(f"\nwrote {Path(args.out) / 'metrics.json'} and {Path(args.out) / 'candidates.npz'}")
    return 0


def cmd_demo(args) -> int:
    from recommenders.io import write_csv
    from recommenders.pipeline import metrics_table, train_and_evaluate

    out = Path(args.out)
    results = {}
    for model in args.models:
        cfg = _run_config(args, model)
        res = train_and_evaluate(cfg, out / model, reuse=not args.retrain, verbose=not args.quiet)
        how = "reused checkpoint" if res.reused else f"trained in {res.fit_seconds:.1f}s"
        print(f"{model}: {how}", flush=True)
        results[model] = res
    table = metrics_table(results)
    write_csv(out / "results.csv", table)
    first = next(iter(results.values()))
    print(
        f"\n{first.dataset.name}, {first.split.protocol} split, test stage; full ranking over "
        f"all {first.dataset.n_items} items with seen items masked, and sampled 1+99:"
    )
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print(f"\nwrote {out / 'results.csv'}")
    return 0


def cmd_data(args) -> int:
    from recommenders.pipeline import load_data

    ds = load_data(args.name, args.path)
    for key, value in ds.summary().items():
        print(f"{key:>16}: {value}")
    print(f"{'genre names':>16}: {', '.join(ds.genre_names)}")
    return 0


def cmd_models(args) -> int:
    from dataclasses import asdict

    from recommenders.models import MODELS

    for name, klass in MODELS.items():
        settings = ", ".join(f"{k}={v}" for k, v in asdict(klass.config_class()).items())
        doc = (klass.__doc__ or "").strip().splitlines()[0]
        print(f"{name:>9}  {doc}\n{'':>11}{settings or '(no settings)'}")
    return 0


COMMANDS = {"train": cmd_train, "demo": cmd_demo, "data": cmd_data, "models": cmd_models}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from moopt import __version__

        print(f"moopt {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        if os.environ.get("MOOPT_DEBUG"):
            raise
        print(f"moopt {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``moopt`` command line.

The engine (``moopt``) knows nothing of recommendation data; the CLI is where the
packages are wired together, so it imports ``recommenders`` and ``problems``
lazily, inside the commands that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from moopt.commands import apply as apply_command
from moopt.commands import candidates as candidates_command
from moopt.commands import report

from ._clihelp import (
    CACHE_NOTE,
    RERANK_FILES,
    TopHelpFormatter,
    json_object,
    use_defaults_help,
)

DESCRIPTION = """\
moopt: evolutionary multi-objective optimisation for recommender systems.

Start with `moopt demo` (what `make demo` runs): it trains SASRec on MovieLens-100K and
re-ranks every user's top-100 candidates into 10-item lists trading accuracy, genre
diversity and novelty (MMR, DPP, SSD, NSGA-II, NSGA-II with knowledge transfer).
`moopt train MODEL` trains one ranker and writes its metrics and candidates;
`moopt rerank` re-ranks such a candidates file.
"""

EPILOG = """\
examples:
  moopt data ml-100k                         show the dataset's counts
  moopt train sasrec --out runs/sasrec       train SASRec, write metrics.json + candidates
  moopt train bpr --set dim=128 --epochs 50  override model settings
  moopt rerank --candidates runs/sasrec/candidates.npz --out runs/rerank
  moopt compare --problem quadratics --budget 60 --out runs/compare
  moopt report runs/rerank                   an HTML page to choose the trade-off by looking
  moopt booml --budget 30 --out runs/booml   BO of per-group loss weights (BOOML)
  moopt pmors --out runs/pmors               MGDA vs fixed alpha (PMORS Table 2)
  moopt demo --out runs/demo                 the main job
""" + CACHE_NOTE


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


def _add_rerank_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--k", type=int, default=10, help="list length (default 10)")
    p.add_argument("--pop-size", type=int, default=50, help="NSGA-II population (default 50)")
    p.add_argument("--n-gen", type=int, default=10, help="NSGA-II generations (default 10)")
    p.add_argument(
        "--protocols",
        nargs="+",
        default=["full", "sampled"],
        choices=["full", "sampled"],
        help="evaluation protocols",
    )
    p.add_argument(
        "--methods",
        nargs="+",
        default=None,
        help="subset of: base mmr dpp ssd nsga2 nsga2_seeded nsga2_kt (default all)",
    )
    p.add_argument(
        "--score-transform", default="calibrated", choices=["calibrated", "softmax", "none"],
        help="scores every method sees: calibrated hit probabilities (temperature fitted on "
        "validation; default), softmax over the candidates, or the raw scores",
    )  # fmt: skip
    p.add_argument(
        "--accuracy", default="expected_hits", choices=["expected_hits", "accuracy"],
        help="NSGA-II's accuracy objective: expected hits (default) or PreferRec's DCG",
    )  # fmt: skip
    p.add_argument("--seeds", type=int, default=5,
                   help="NSGA-II seeds scored on test (default 5)")  # fmt: skip
    p.add_argument(
        "--valid-candidates", default=None,
        help="validation candidates (default: candidates_valid.npz beside the test file)",
    )  # fmt: skip


def _add_job_args(p: argparse.ArgumentParser, device: bool = True) -> None:
    """--data, --seed, --device and --out of the experiment commands."""
    p.add_argument("--data", default="ml-100k", help="dataset name, folder or 'synthetic'")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    if device:
        p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    p.add_argument("--out", required=True, help="output folder")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moopt", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=TopHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "train", help="train and evaluate one base ranker",
        description="Train one base ranker, print its metrics (full ranking and 1+99 sampled), "
        "and write metrics.json, candidates.npz, model.pt, run.json and train_log.csv to --out. "
        "A killed run repeated with the same command resumes after its last finished epoch "
        "(train_state.pt in --out) and writes the files an uninterrupted run would.",
    )  # fmt: skip
    p.add_argument("model", help="pop, bpr (alias bpr-mf), lightgcn, gru4rec, sasrec, or the "
                   "multimodal duafmat, unisrec-text and mm-concat")  # fmt: skip
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--missing", type=float, default=0.0,
                   help="multimodal models: share of items whose visual (on MovieLens: "
                   "structural) modality is dropped, 0 to 0.9, seeded by --seed")  # fmt: skip
    p.add_argument("--features", action="append", default=[], metavar="MODALITY=PATH",
                   help="multimodal models: an (n_items, d) .npy for 'text' or 'visual' "
                   "replacing the built-in features; all-NaN rows mark missing items")  # fmt: skip
    _add_run_args(p)

    p = sub.add_parser(
        "demo", help="the main job: train SASRec on ML-100K and re-rank every user",
        description="Train SASRec on ML-100K (chronological leave-one-out; a checkpoint in "
        "--out with the same settings is reused), re-rank all users' top-100 candidates "
        "with MMR, DPP, SSD, NSGA-II and NSGA-II with knowledge transfer under the full and "
        "sampled (1+99) protocols, print the table, and save rerank_results.csv and "
        "pareto_front.png.",
    )  # fmt: skip
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--model", default="sasrec", help="base ranker (default sasrec)")
    p.add_argument("--retrain", action="store_true", help="ignore an existing checkpoint")
    _add_rerank_args(p)
    _add_run_args(p)

    p = sub.add_parser(
        "rerank", help="re-rank a candidates file and compare the methods",
        description="Re-rank the candidates written by `moopt train` with every method and "
        "both protocols, every knob tuned on the validation candidates; write to --out: "
        f"{RERANK_FILES}.",
    )  # fmt: skip
    p.add_argument("--candidates", required=True, help="candidates.npz from moopt train")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _add_rerank_args(p)

    p = sub.add_parser(
        "compare", help="compare NSGA-II, MGDA and Bayesian optimisation on one problem",
        description="Run each solver through pymoo's minimize under the same budget, on one "
        "or several seeds, and write comparison.csv (per solver: evaluations, seconds, "
        "hypervolume and, where the front is known, IGD; means with 95% CIs over seeds), "
        "runs.csv (every seed), curves.csv, bands.csv, significance.csv (the best two "
        "solvers paired over seeds), fronts.csv (every run's final front, X and F), "
        "comparison.json (reference point, settings, versions; "
        "moopt.compare.Comparison.load(DIR) reads the folder back), hypervolume.png and "
        "fronts.png. Problems: quadratics "
        "(cheap, with gradients), loss-weight (BOOML's per-group loss weights on --data; each "
        "evaluation trains a model, so keep the budget small), domain-weight (the DWL constants "
        "a, b, c and the weight bounds; each evaluation a short SASRec training run, the "
        "paper's choice marked on the fronts), any pymoo test problem by "
        "name (zdt1, zdt2, dtlz2, ...) or your own class as module:Class. Exits with status 1, "
        "after writing the files, when a run failed (runs.csv has each error).",
    )  # fmt: skip
    p.add_argument("--problem", default="quadratics",
                   help="quadratics, loss-weight, domain-weight, a pymoo test problem (zdt1, "
                   "dtlz2, ...) or "
                   "module:Class, imported from the current folder first "
                   "(default quadratics)")  # fmt: skip
    p.add_argument("--problem-args", default=None, metavar="JSON",
                   help="keyword arguments of module:Class or of a pymoo test problem, as a "
                   "JSON object, e.g. '{\"n_var\": 5}'")  # fmt: skip
    p.add_argument("--n-var", type=int, default=None,
                   help="number of variables of a pymoo test problem or of quadratics")
    p.add_argument("--solvers", nargs="+", default=None, choices=["nsga2", "mgda", "bo", "mobo"],
                   help="default: nsga2, mgda and bo; nsga2 and bo on loss-weight, whose "
                   "evaluations have no gradients (MGDA would need 2 n_var extra trainings per "
                   "step). mobo needs the bo extra (BoTorch). MGDA uses finite differences on "
                   "problems without gradients, charged to the budget")  # fmt: skip
    p.add_argument("--budget", type=float, default=60,
                   help="evaluations (or seconds, with --budget-type seconds) per solver and seed")
    p.add_argument("--budget-type", default="evaluations", choices=["evaluations", "seconds"],
                   help="what --budget counts")
    p.add_argument("--seeds", type=int, default=1,
                   help="runs per solver, seeds --seed .. --seed + N - 1 (default 1)")
    _add_job_args(p, device=False)

    p = sub.add_parser(
        "dwl", help="Dynamic Weighted Loss: per-domain loss weights for sparse genres",
        description="Train a next-item model with the sampled softmax (log-Q corrected, mixed "
        "negatives) in the generic, fixed and dynamic domain-weighting variants over several "
        "seeds, evaluate per genre (leave-one-out, full ranking) and write dwl_runs.csv, "
        "dwl_summary.csv, dwl_table.csv, dwl_significance.csv, dwl_significance_users.csv "
        "and dwl_domains.png. Finished runs are reused when the command is repeated; a "
        "generic or fixed run killed while training resumes after its last finished epoch.",
    )  # fmt: skip
    p.add_argument("--variants", default="generic,fixed,dynamic",
                   help="comma-separated among generic, fixed, dynamic")
    p.add_argument("--seeds", type=int, default=5, help="seeds --seed .. --seed + N - 1")
    p.add_argument("--model", default="sasrec", help="sasrec (default) or gru4rec")
    p.add_argument("--epochs", type=int, default=30, help="maximum epochs per run")
    p.add_argument("--patience", type=int, default=5, help="early-stopping patience")
    p.add_argument("--n-negatives", type=int, default=256, help="sampled negatives per batch")
    p.add_argument("--sparse", default="Film-Noir,Documentary,Western,Fantasy",
                   help="comma-separated sparse domains (weighted 2 by the fixed variant)")
    p.add_argument("--dense", default="Drama,Comedy", help="comma-separated dense domains")
    p.add_argument("--device", default="auto", help="auto (CUDA if present, default), cpu, cuda")
    _add_job_args(p, device=False)

    p = sub.add_parser(
        "multimodal", help="DuAF-MAT against SASRec and multimodal baselines, with ablations",
        description="Train SASRec, a text-only UniSRec-style model, concatenation fusion, "
        "DuAF-MAT and its ablations (no-duaf, no-matmoe, no-cscl, no-vscl) at several "
        "missing rates of the second modality over several seeds; evaluate NDCG and MRR at 5 "
        "and 10 (leave-one-out, full ranking) and write mm_runs.csv, mm_table.csv, "
        "mm_significance.csv, mm_significance_users.csv and mm_ndcg.png. Finished runs are "
        "reused when the command is repeated; a run killed while training resumes after its "
        "last finished epoch.",
    )  # fmt: skip
    p.add_argument("--variants", default="sasrec,unisrec,concat,duafmat,no-duaf,no-matmoe,"
                   "no-cscl,no-vscl", help="comma-separated variants")  # fmt: skip
    p.add_argument("--missing", default="0,0.3,0.6", help="comma-separated missing rates")
    p.add_argument("--seeds", type=int, default=3, help="seeds --seed .. --seed + N - 1")
    p.add_argument("--ablation-missing", default=None,
                   help="comma-separated missing rates (a subset of --missing) at which the "
                   "ablations no-duaf, no-matmoe, no-cscl, no-vscl run (default: all)")
    p.add_argument("--epochs", type=int, default=50, help="maximum epochs per run")
    p.add_argument("--patience", type=int, default=5, help="early-stopping patience")
    p.add_argument("--hidden", type=int, default=64, help="encoder width of every model")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="a setting for every model, e.g. --set max_len=20 (repeatable)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present, default), cpu, cuda")
    _add_job_args(p, device=False)

    p = sub.add_parser(
        "booml", help="BOOML: Bayesian optimisation of per-group loss weights vs fixed weights",
        description="Search the diversity and fairness loss weights of each user group with "
        "Bayesian optimisation (with and without the meta-learned warm start), then train "
        "final models from scratch and score them on the test stage: fixed weights "
        "(lambda = beta = 1), the two searched weight sets and MGDA-set weights. Writes "
        "booml_table.csv, booml_epochs.csv, booml_history.csv and booml.json; a stopped run "
        "resumes from the state saved in --out.",
    )  # fmt: skip
    p.add_argument("--budget", type=int, default=30, help="evaluations per search (default 30)")
    p.add_argument("--n-initial", type=int, default=None, help="random points before the GP")
    p.add_argument("--encoder", default="mf", choices=["mf", "lightgcn"])
    p.add_argument("--groups", type=int, default=3, help="user groups W (default 3)")
    p.add_argument("--k", type=int, default=20, help="cut-off of the metrics (default 20)")
    p.add_argument("--seeds", type=int, default=1,
                   help="runs with seeds --seed .. --seed + N - 1, each in OUT/seed<k>, then "
                   "the mean table and the paired tests against the fixed weights")
    p.add_argument("--projection", default="booml", choices=["booml", "pcgrad"],
                   help="how the warm start's outer step projects conflicting objective "
                   "gradients: booml (default, BOOML eq. 17: off the original gradients at "
                   "once) or pcgrad (PCGrad's sequential form)")  # fmt: skip
    _add_job_args(p)

    p = sub.add_parser(
        "pmors", help="PMORS: MGDA vs fixed alpha for a pre-ranker with a forgetting penalty",
        description="Train the PMORS pre-ranker (consistency with a frozen BPR ranker plus "
        "the forgetting-curve penalty on negative feedback; on MovieLens, ratings <= 2 stand "
        "in for negative feedback) with MGDA weights under each gradient normalisation and "
        "with fixed alpha in {0.5, ..., 1.0}; report NDCG@10, Recall@10_1 and NegExposure@10. "
        "Writes pmors_table.csv and pmors.json; with --seeds N > 1 also pmors_runs.csv "
        "(every seed) and pmors_significance.csv (MGDA vs each alpha, paired over seeds); a "
        "repeated command reads finished seeds back from OUT/seed<k>.",
    )  # fmt: skip
    p.add_argument("--epochs", type=int, default=5, help="training epochs per weighting")
    p.add_argument("--seeds", type=int, default=1,
                   help="repeat over seeds --seed, --seed+1, ... and report mean, 95%% CI and "
                        "paired tests (default 1)")  # fmt: skip
    _add_job_args(p)

    p = sub.add_parser("data", help="show a dataset's counts")
    p.add_argument("name", nargs="?", default="ml-100k")
    p.add_argument("--path", default=None, help="folder to read instead of the packaged copy")

    sub.add_parser("models", help="list the base rankers and their default settings")
    candidates_command.add_parser(sub)
    apply_command.add_parser(sub)
    report.add_parser(sub)
    use_defaults_help(parser)
    return parser


def _run_config(args, model: str):
    from recommenders.pipeline import RunConfig

    settings = _parse_settings(args.settings)
    if args.epochs is not None:
        settings["epochs"] = str(args.epochs)
    files = {}
    for spec in getattr(args, "features", None) or []:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--features takes MODALITY=PATH.npy, got {spec!r}")
        files[name] = path
    return RunConfig(
        model=model, dataset=args.data, data_path=args.data_path,
        split=args.split, seed=args.seed, device=args.device,
        n_candidates=args.n_candidates, model_settings=settings,
        missing=getattr(args, "missing", 0.0) or 0.0, feature_files=files,
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
    # Beyond-accuracy metrics exist only for the full protocol: show "-", not NaN.
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, na_rep="-", float_format=lambda x: f"{x:.4f}"))


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


def _seed_range(args) -> range:
    """Seeds --seed .. --seed + --seeds - 1 of a multi-seed command."""
    if args.seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {args.seeds}")
    return range(args.seed, args.seed + args.seeds)


def _rerank_job(args, candidates_path: Path, out: Path, dataset: str | None = None) -> int:
    from problems.rerank_eval import METHODS, RerankEvalConfig, rerank_job

    if not candidates_path.is_file():
        raise FileNotFoundError(f"--candidates: no file {candidates_path} (moopt train writes "
                                "candidates.npz into its --out folder)")  # fmt: skip
    if args.score_transform == "none" and args.accuracy == "expected_hits":
        raise ValueError("--accuracy expected_hits reads hit probabilities, which --score-"
                         "transform none does not give; use --score-transform calibrated or "
                         "softmax, or --accuracy accuracy for raw scores")  # fmt: skip
    seeds = _seed_range(args)
    cfg = RerankEvalConfig(
        k=args.k, ks=tuple(k for k in (5, 10) if k <= args.k) or (args.k,),
        pop_size=args.pop_size, n_gen=args.n_gen,
        seeds=tuple(seeds),
        methods=tuple(args.methods) if args.methods else METHODS,
        score_transform=args.score_transform, accuracy=args.accuracy,
    )  # fmt: skip
    ev, written = rerank_job(candidates_path, out, cfg, tuple(args.protocols), dataset,
                             args.valid_candidates, _settings(args))  # fmt: skip
    k = cfg.key_k
    cols = ["protocol", "method", "choice", f"HR@{k}", f"NDCG@{k}", f"Div@{k}", f"Nov@{k}",
            f"F1@{k}", f"F2@{k}", "seconds"]  # fmt: skip
    print(ev.table[cols].to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if len(ev.significance):
        print("\nsignificance (Holm-corrected over the comparisons):")
        sig = ev.significance[["comparison", "diff", "ci_low", "ci_high", "p", "p_adj"]]
        print(sig.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if len(ev.headline):
        print("\nheadline over users (paired bootstrap and sign-flip, Holm over the cells):")
        head = ev.headline[["protocol", "F-beta", "baseline", "diff", "ci_low", "ci_high",
                            "p bootstrap Holm", "p sign-flip Holm", "validation margin",
                            "strict diff", "strict p bootstrap Holm"]]  # fmt: skip
        print(head.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print("\nwrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_demo(args) -> int:
    from recommenders.pipeline import train_and_evaluate

    out = Path(args.out)
    cfg = _run_config(args, args.model)
    res = train_and_evaluate(cfg, out / args.model, reuse=not args.retrain,
                             verbose=not args.quiet)  # fmt: skip
    how = "reused checkpoint" if res.reused else f"trained in {res.fit_seconds:.1f}s"
    full, sampled = res.metrics["full"], res.metrics["sampled"]
    print(
        f"{res.model.name} on {res.dataset.name} ({how}): full ranking HR@10 "
        f"{full['HR@10']:.4f} NDCG@10 {full['NDCG@10']:.4f}; sampled 1+99 HR@10 "
        f"{sampled['HR@10']:.4f} NDCG@10 {sampled['NDCG@10']:.4f}"
    )
    print(
        f"\nre-ranking all {res.split.n_users} users' top-{args.n_candidates} candidates "
        f"into {args.k}-item lists:"
    )
    return _rerank_job(args, out / args.model / "candidates.npz", out, res.dataset.name)


def cmd_rerank(args) -> int:
    return _rerank_job(args, Path(args.candidates), Path(args.out))


def cmd_compare(args) -> int:
    from problems.comparison import DEFAULT_SOLVERS, comparison_job

    trains = args.problem in ("loss-weight", "domain-weight")
    default = ("nsga2", "bo") if trains else DEFAULT_SOLVERS
    result, written = comparison_job(args.problem, args.out, args.budget,
                                     tuple(args.solvers or default), args.data, args.seed,
                                     args.budget_type, progress=True, seeds=args.seeds,
                                     n_var=args.n_var, settings=_settings(args),
                                     problem_args=json_object(
                                         args.problem_args, "--problem-args"))  # fmt: skip
    _print_table(result.table)
    if len(result.significance):
        print("\nbest two solvers, paired over seeds:")
        cols = ["indicator", "a", "b", "diff", "ci_low", "ci_high", "p", "cohens_d"]
        _print_table(result.significance[cols])
    print(f"\nhypervolume reference point: {np.round(result.ref_point, 4).tolist()}")
    print("wrote " + ", ".join(str(p) for p in written))
    failed = result.runs[result.runs["status"] != "ok"]
    if len(failed):  # the files are written, but the comparison is not whole
        print(f"moopt compare: {len(failed)} of {len(result.runs)} runs failed (runs.csv has "
              "each error):", file=sys.stderr)  # fmt: skip
        for _, r in failed.iterrows():
            print(f"  {r['solver']} seed {r['seed']}: {r['status']}", file=sys.stderr)
        return 1
    return 0


def _settings(args) -> dict:
    """Every option of a command, for its run record (the output folder aside: the record
    lies in it, and a run moved elsewhere is the same run)."""
    return {k: v for k, v in sorted(vars(args).items()) if k not in ("out", "version")}


def _print_table(table) -> None:
    print(table.to_string(index=False, na_rep="-", float_format=lambda x: f"{x:.4g}"))


def cmd_booml(args) -> int:
    from problems.loss_weight import LossWeightConfig
    from problems.loss_weight_eval import booml_job
    from recommenders.pipeline import load_data

    cfg = LossWeightConfig(encoder=args.encoder, n_groups=args.groups, k=args.k, seed=args.seed,
                           projection=args.projection)  # fmt: skip
    seeds = _seed_range(args)
    if len(seeds) > 1:
        from problems.loss_weight_eval import booml_seeds_job

        mean, sig, written = booml_seeds_job(
            lambda s: load_data(args.data, seed=s), args.out,
            seeds, args.budget, args.n_initial, cfg,
            device=args.device, verbose=True,
        )  # fmt: skip
        print(f"final models on the test stage over {args.seeds} seeds (mean, 95% CI "
              "half-width):")  # fmt: skip
        _print_table(mean)
        print("\nagainst the fixed weights, paired over seeds (Holm):")
        _print_table(sig[["comparison", "diff", "ci_low", "ci_high", "p", "p_adj"]])
        print("wrote " + ", ".join(str(p) for p in written))
        return 0
    data = load_data(args.data, seed=args.seed)
    table, epochs, written = booml_job(data, args.out, args.budget, args.n_initial, cfg,
                                       device=args.device, verbose=True)  # fmt: skip
    print(f"evaluations of the two searches (warm start projection: {cfg.projection}; "
          "epochs, wall-clock seconds and gradient passes per evaluation):")
    _print_table(epochs)
    print(f"\nfinal models on the test stage (K = {args.k}):")
    _print_table(table)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_dwl(args) -> int:
    from problems.dwl import DWLConfig, dwl_job
    from recommenders.pipeline import load_data

    def names(text):
        return tuple(n.strip() for n in text.split(",") if n.strip())

    cfg = DWLConfig(model=args.model, epochs=args.epochs, patience=args.patience,
                    n_negatives=args.n_negatives, sparse=names(args.sparse),
                    dense=names(args.dense))  # fmt: skip
    table, sig, written = dwl_job(load_data(args.data, seed=args.seed), args.out,
                                  [v.strip() for v in args.variants.split(",") if v.strip()],
                                  _seed_range(args), cfg,
                                  device=args.device, verbose=True)  # fmt: skip
    groups = table[table["domain"].str.startswith("[")]
    _print_table(groups[[c for c in groups.columns if "ci" not in c]])
    if len(sig):
        print("\ndynamic against the baselines, paired over seeds (Bonferroni over domains):")
        part = sig[sig["domain"].str.startswith("[")]
        _print_table(part[["a", "b", "metric", "domain", "diff", "ci_low", "ci_high", "p_adj"]])
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _numbers(text: str, flag: str) -> tuple[float, ...]:
    try:
        return tuple(float(r) for r in text.split(",") if r.strip())
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated numbers, got {text!r}") from None


def cmd_multimodal(args) -> int:
    from problems.multimodal_eval import MultimodalConfig, multimodal_job
    from recommenders.pipeline import coerce_settings, load_data

    settings = coerce_settings("duafmat", _parse_settings(args.settings))
    cfg = MultimodalConfig(epochs=args.epochs, patience=args.patience, hidden=args.hidden,
                           settings=settings)  # fmt: skip
    rates = _numbers(args.missing, "--missing")
    ablation_rates = None
    if args.ablation_missing is not None:
        ablation_rates = _numbers(args.ablation_missing, "--ablation-missing")
    table, sig, written = multimodal_job(
        load_data(args.data, seed=args.seed), args.out,
        [v.strip() for v in args.variants.split(",") if v.strip()], rates, _seed_range(args),
        cfg, device=args.device, verbose=True, ablation_rates=ablation_rates,
    )  # fmt: skip
    _print_table(table[["rate", "variant", "seeds", "NDCG@5", "NDCG@10", "MRR@5", "MRR@10",
                        "seconds_per_epoch"]])  # fmt: skip
    cols = ["rate", "variant", "diff", "ci_low", "ci_high", "p_adj"]
    for ref, title in (("sasrec", "against SASRec, paired over seeds (Holm over the variants "
                        "of a rate)"),
                       ("duafmat", "ablations against DuAF-MAT, paired over seeds (Holm over "
                        "the ablations of a rate)")):  # fmt: skip
        part = sig[(sig["metric"] == "NDCG@10") & (sig["versus"] == ref)] if len(sig) else sig
        if len(part):
            print(f"\n{title}:")
            _print_table(part[cols])
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_pmors(args) -> int:
    from problems.pareto_stationarity import PMORSConfig
    from problems.pareto_stationarity_eval import pmors_job, pmors_seeds_job
    from recommenders.pipeline import load_data

    cfg = PMORSConfig(epochs=args.epochs, seed=args.seed)
    seeds = _seed_range(args)
    if len(seeds) == 1:
        table, written = pmors_job(load_data(args.data, seed=args.seed), args.out, cfg,
                                   device=args.device, verbose=True)  # fmt: skip
        _print_table(table)
    else:
        table, sig, written = pmors_seeds_job(lambda s: load_data(args.data, seed=s), args.out,
                                              seeds, cfg, device=args.device, verbose=True)
        _print_table(table)
        print("\nMGDA vs fixed alpha, paired over seeds (Holm over the comparisons):")
        _print_table(sig[["comparison", "diff", "ci_low", "ci_high", "p", "p_adj"]])
    print("wrote " + ", ".join(str(p) for p in written))
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
        config = asdict(klass.config_class())
        doc = (klass.__doc__ or "").strip().splitlines()[0]
        print(f"{name:>9}  {doc}")
        if "epochs" in config:
            print(f"{'':>11}trains at most {config['epochs']} epochs, stopping after "
                  f"{config['patience']} validation rounds without a better NDCG@10 "
                  "(--epochs N, --set patience=P)")  # fmt: skip
        settings = ", ".join(f"{k}={v}" for k, v in config.items())
        print(f"{'':>11}{settings or '(no settings)'}")
    return 0


COMMANDS = {
    "train": cmd_train, "demo": cmd_demo, "rerank": cmd_rerank, "compare": cmd_compare,
    "booml": cmd_booml, "pmors": cmd_pmors, "dwl": cmd_dwl,
    "multimodal": cmd_multimodal, "data": cmd_data, "models": cmd_models,
    "candidates": candidates_command.run, "apply": apply_command.run,
    "report": report.run,
}  # fmt: skip


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
    from recommenders.io import FolderBusyError  # the CLI is the floor that wires packages

    try:
        return COMMANDS[args.command](args)
    except (ValueError, TypeError, FileNotFoundError, FolderBusyError) as exc:
        if os.environ.get("MOOPT_DEBUG"):
            raise
        print(f"moopt {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

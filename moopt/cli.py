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

from moopt.commands import apply as apply_command
from moopt.commands import candidates as candidates_command
from moopt.commands import fairness as fairness_command
from moopt.commands import report
from moopt.commands import stream as stream_command
from moopt.commands.booml import run as cmd_booml
from moopt.commands.compare import run as cmd_compare
from moopt.commands.data import run as cmd_data
from moopt.commands.demo import run as cmd_demo
from moopt.commands.dwl import run as cmd_dwl
from moopt.commands.models import run as cmd_models
from moopt.commands.multimodal import run as cmd_multimodal
from moopt.commands.pmors import run as cmd_pmors
from moopt.commands.rerank import run as cmd_rerank
from moopt.commands.train import run as cmd_train

from ._clihelp import (
    CACHE_NOTE,
    RERANK_FILES,
    TopHelpFormatter,
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
    """Build the ``moopt`` argument parser with every command's subparser.

    Returns
    -------
    argparse.ArgumentParser
        The parser; ``parse_args`` sets ``command`` to the chosen command's name (None
        without one).
    """
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
    p.add_argument("--candidates-format", choices=["npz", "dir"], default="npz",
                   help="candidates.npz, or directories candidates/ and candidates_valid/ of "
                   ".npy arrays read memory-mapped (for large catalogues)")  # fmt: skip
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
    stream_command.add_parser(sub)
    fairness_command.add_parser(sub)
    use_defaults_help(parser)
    return parser


COMMANDS = {
    "train": cmd_train, "demo": cmd_demo, "rerank": cmd_rerank, "compare": cmd_compare,
    "booml": cmd_booml, "pmors": cmd_pmors, "dwl": cmd_dwl,
    "multimodal": cmd_multimodal, "data": cmd_data, "models": cmd_models,
    "candidates": candidates_command.run, "apply": apply_command.run,
    "report": report.run, "stream": stream_command.run,
    "fairness": fairness_command.run,
}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``moopt`` command line.

    Errors a user can cause (``ValueError``, ``TypeError``, ``FileNotFoundError``, a busy
    output folder, a re-ranking too large for the memory) are printed as one line on
    stderr with exit status 2; ``MOOPT_DEBUG=1`` in the environment raises them instead.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, the command's own status, or 2 for an error.
    """
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

    from .engine.memory import RerankMemoryError

    try:
        return COMMANDS[args.command](args)
    except (ValueError, TypeError, FileNotFoundError, FolderBusyError, RerankMemoryError) as exc:
        if os.environ.get("MOOPT_DEBUG"):
            raise
        print(f"moopt {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

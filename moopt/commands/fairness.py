"""``moopt fairness``: accuracy against system-level goals, the coupled solve against the
fairness re-rankers (``problems.fairness_report.fairness_job``)."""

from __future__ import annotations

import argparse

HELP = "trace NDCG@K against provider exposure, the consumer gap and coverage, every method"

DESCRIPTION = """\
The system-level study on one model's candidates (moopt train writes both files). Providers
are equal-size popularity buckets (max-min exposure share, position-weighted) and, second,
the short head against the long tail (targets proportional to their sizes); consumers are
the 5% most active users against the rest; coverage is the share of the catalogue shown at
all. Methods: the coupled dual solve over every user's archive with column generation
(moopt; a greedy for coverage), P-MMF, CPFair, FairRec, and MMR, DPP and SSD with a
long-tail bonus. Knobs are tuned on validation; on test every method is brought to each
matched level by its fairness strength alone (these goals need no labels), NDCG@K and
HR@K are scored once, and the coupled solve is compared with each baseline over users
(bootstrap CI) and over seeds, Holm-corrected. Writes fairness_summary.md, the fronts,
matched lists' metrics, comparison, cost and tuning tables (CSV), fairness.png and
run.json.
"""

EPILOG = """\
example:
  moopt train sasrec --out runs/sasrec
  moopt fairness --candidates runs/sasrec/candidates.npz \\
      --valid-candidates runs/sasrec/candidates_valid.npz --out runs/fairness-sasrec
"""


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"{name} must be comma-separated numbers, got {text!r}") from None


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``fairness`` on the CLI's subparsers.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of ``moopt.cli.build_parser``.

    Returns
    -------
    argparse.ArgumentParser
        The command's parser.
    """
    p = sub.add_parser("fairness", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--candidates", required=True, help="test-stage candidates file (.npz)")
    p.add_argument("--valid-candidates", required=True,
                   help="validation-stage candidates file (.npz): the knobs are tuned on it")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--protocols", default="full,sampled",
                   help="candidate protocols, comma-separated (default: full,sampled)")
    p.add_argument("--seeds", default="0,1,2", help="seeds, comma-separated (default: 0,1,2)")
    p.add_argument("--levels", default="0.05,0.1,0.15,0.2",
                   help="matched max-min share ratios of the popularity buckets")
    p.add_argument("--tail-levels", default="0.6,0.7,0.8,0.9",
                   help="matched max-min share ratios of short head and long tail")
    p.add_argument("--n-groups", type=int, default=5, help="popularity buckets (default: 5)")
    p.add_argument("--n-front", type=int, default=20,
                   help="levels or strengths of each full sweep (default: 20)")
    p.add_argument("--pop-size", type=int, default=50, help="population size (default: 50)")
    p.add_argument("--n-gen", type=int, default=10, help="generations (default: 10)")
    p.add_argument("--dataset", default=None, help="dataset of the files (default: recorded)")
    p.add_argument("--quiet", action="store_true", help="do not print each step")
    return p


def run(args) -> int:
    """Run the study (``problems.fairness_report.fairness_job``).

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
        For bad settings (naming the option).
    FileNotFoundError
        A candidates file is missing.
    """
    from problems.fairness_eval import FairnessEvalConfig
    from problems.fairness_report import fairness_job

    seeds = tuple(int(x) for x in _floats(args.seeds, "--seeds"))
    try:
        cfg = FairnessEvalConfig(levels=_floats(args.levels, "--levels"),
                                 tail_levels=_floats(args.tail_levels, "--tail-levels"),
                                 n_groups=args.n_groups, n_front=args.n_front, seeds=seeds,
                                 pop_size=args.pop_size, n_gen=args.n_gen)  # fmt: skip
    except ValueError as exc:
        raise ValueError(f"--{str(exc).replace('_', '-')}") from None
    protocols = tuple(x.strip() for x in args.protocols.split(",") if x.strip())
    written = fairness_job(args.candidates, args.valid_candidates, args.out, cfg, protocols,
                           args.dataset, progress=not args.quiet)  # fmt: skip
    summary = next(p for p in written if p.name == "fairness_summary.md")
    print(f"wrote {len(written)} files to {args.out}; the tables: {summary}")
    return 0

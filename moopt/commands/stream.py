"""``moopt stream``: re-rank a memory-mapped candidates directory in user blocks, locally or
on a Dask cluster, into Parquet partitions (``problems.rerank_stream``)."""

from __future__ import annotations

import argparse

HELP = "re-rank a candidates directory at size, in user blocks, into Parquet partitions"

DESCRIPTION = """\
Re-rank every user of a candidates directory (<array>.npy files read memory-mapped, plus
meta.json) in blocks of --block-users: hit probabilities (the calibration, or a softmax when
uncalibrated), the greedy seed lists of moopt rerank's nsga2_seeded (--seeds topk: only the
top-K list), seeded NSGA-II and the utility choice; with --valid the expected_hits weight is
tuned on validation F1@K (on a seeded sample of --valid-users). Writes --out/lists/ (one
Parquet file per block: user, rank, item, score, q and each objective) and
--out/summary.json (settings, tuned weight, seconds per stage, objective means). Memory
stays at one block's; a rerun skips the blocks already written. The lists do not depend on
--block-users or on the cluster: every user keeps its row as its random stream.
"""

EPILOG = """\
example:
  moopt stream --candidates cands/test --valid cands/valid --out runs/stream
  moopt stream --candidates /shared/cands/test --out /shared/runs/stream \\
      --scheduler tcp://10.0.0.5:8786     # every worker sees /shared
"""


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``stream`` on the CLI's subparsers.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of ``moopt.cli.build_parser``.

    Returns
    -------
    argparse.ArgumentParser
        The command's parser.
    """
    p = sub.add_parser("stream", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--candidates", required=True, help="candidates directory to re-rank")
    p.add_argument("--valid", default=None,
                   help="validation candidates directory (with target.npy): tune the weight")
    p.add_argument("--out", required=True, help="output folder (lists/, summary.json)")
    p.add_argument("--k", type=int, default=10, help="list length (default: 10)")
    p.add_argument("--objectives", default="expected_hits,diversity,novelty",
                   help="comma-separated objective names (default: expected_hits,diversity,"
                   "novelty)")  # fmt: skip
    p.add_argument("--weights", default=None,
                   help="utility weights name=w,... (default: 1 for expected_hits, 0.5 for "
                   "the others; with --valid the expected_hits weight is tuned)")  # fmt: skip
    p.add_argument("--pop-size", type=int, default=50, help="population size (default: 50)")
    p.add_argument("--n-gen", type=int, default=10, help="generations (default: 10)")
    p.add_argument("--seeds", choices=["greedy", "topk"], default="greedy",
                   help="seed lists: greedy (top-K, MMR, DPP, SSD; default) or topk")
    p.add_argument("--block-users", type=int, default=2048,
                   help="users per block, partition and Dask task (default: 2048)")
    p.add_argument("--valid-users", type=int, default=20000,
                   help="validation users the weight is tuned on (default: 20000)")
    p.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address (tcp://host:8786): run the blocks there")
    p.add_argument("--local-workers", type=int, default=None,
                   help="start a Dask LocalCluster of this many worker processes")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run(args) -> int:
    """Run the streamed re-ranking (``problems.rerank_stream.rerank_stream``).

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
        For bad settings or inputs (naming the option).
    """
    from moopt.commands.apply import _objectives, _weights
    from problems.rerank_stream import StreamConfig, rerank_stream

    if args.scheduler and args.local_workers:
        raise ValueError("give --scheduler or --local-workers, not both")
    if args.local_workers is not None and args.local_workers < 1:
        raise ValueError(f"--local-workers must be at least 1, got {args.local_workers}")
    objectives = _objectives(args.objectives)
    try:
        cfg = StreamConfig(k=args.k, pop_size=args.pop_size, n_gen=args.n_gen,
                           objectives=tuple(objectives),
                           weights=_weights(args.weights, objectives), seed=args.seed,
                           block_users=args.block_users, seeds=args.seeds,
                           valid_users=args.valid_users)  # fmt: skip
    except ValueError as exc:
        raise ValueError(f"--{str(exc).replace('_', '-')}") from None
    client = cluster = None
    if args.scheduler or args.local_workers:
        from distributed import Client, LocalCluster

        if args.scheduler:
            client = Client(args.scheduler)
        else:
            cluster = LocalCluster(n_workers=args.local_workers, threads_per_worker=1,
                                   processes=True, dashboard_address=None)  # fmt: skip
            client = Client(cluster)
    try:
        summary = rerank_stream(args.candidates, args.out, args.valid, cfg, client,
                                progress=not args.no_progress)  # fmt: skip
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    t = summary["totals"]
    print(f"{t['users']} users in {t['blocks']} blocks ({t['blocks_run']} run now, "
          f"{t['wall_seconds']:.1f} s); wrote {args.out}/lists and {args.out}/summary.json")
    return 0

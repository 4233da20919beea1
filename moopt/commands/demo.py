"""``moopt demo``: train SASRec on ML-100K and re-rank every user (the main job)."""

from __future__ import annotations

from pathlib import Path

from moopt.commands.rerank import _rerank_job
from moopt.commands.train import _run_config


def run(args) -> int:
    """Train (or reuse) the base ranker, then re-rank its candidates as ``moopt rerank``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line of ``moopt demo`` (see ``moopt.cli.build_parser``).

    Returns
    -------
    int
        Exit status: 0.
    """
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

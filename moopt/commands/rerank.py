"""``moopt rerank``: re-rank a candidates file with every method and both protocols."""

from __future__ import annotations

from pathlib import Path

from moopt.commands._common import _seed_range, _settings


def _rerank_job(args, candidates_path: Path, out: Path, dataset: str | None = None) -> int:
    from problems.rerank_eval import METHODS, RerankEvalConfig, rerank_job

    if not candidates_path.exists():
        raise FileNotFoundError(f"--candidates: no file {candidates_path} (moopt train writes "
                                "candidates.npz, or with --candidates-format dir the directory "
                                "candidates, into its --out folder)")  # fmt: skip
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


def run(args) -> int:
    """Re-rank ``--candidates`` and write the tables and figures to ``--out``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line of ``moopt rerank`` (see ``moopt.cli.build_parser``).

    Returns
    -------
    int
        Exit status: 0.

    Raises
    ------
    FileNotFoundError
        If the candidates file is missing.
    ValueError
        For ``--accuracy expected_hits`` with ``--score-transform none``, or bad settings.
    """
    return _rerank_job(args, Path(args.candidates), Path(args.out))

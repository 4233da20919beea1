"""``moopt pmors``: MGDA against fixed alpha for a pre-ranker with a forgetting penalty."""

from __future__ import annotations

from moopt.commands._common import _print_table, _seed_range


def run(args) -> int:
    """Train the PMORS pre-ranker under every weighting and write the tables to ``--out``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line of ``moopt pmors`` (see ``moopt.cli.build_parser``).

    Returns
    -------
    int
        Exit status: 0.
    """
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

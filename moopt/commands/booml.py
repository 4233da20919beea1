"""``moopt booml``: Bayesian optimisation of per-group loss weights against fixed weights."""

from __future__ import annotations

from moopt.commands._common import _print_table, _seed_range


def run(args) -> int:
    """Run the BOOML searches and final trainings and write the tables to ``--out``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line of ``moopt booml`` (see ``moopt.cli.build_parser``).

    Returns
    -------
    int
        Exit status: 0.
    """
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

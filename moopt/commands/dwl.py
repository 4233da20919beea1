"""``moopt dwl``: Dynamic Weighted Loss, per-domain loss weights for sparse genres."""

from __future__ import annotations

from moopt.commands._common import _print_table, _seed_range


def run(args) -> int:
    """Train and evaluate the domain-weighting variants and write the tables to ``--out``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line of ``moopt dwl`` (see ``moopt.cli.build_parser``).

    Returns
    -------
    int
        Exit status: 0.
    """
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

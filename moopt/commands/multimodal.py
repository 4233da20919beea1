"""``moopt multimodal``: DuAF-MAT against SASRec and multimodal baselines, with ablations."""

from __future__ import annotations

from moopt.commands._common import _parse_settings, _print_table, _seed_range


def _numbers(text: str, flag: str) -> tuple[float, ...]:
    try:
        return tuple(float(r) for r in text.split(",") if r.strip())
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated numbers, got {text!r}") from None


def run(args) -> int:
    """Train every variant at every missing rate and seed and write the tables to ``--out``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line of ``moopt multimodal`` (see ``moopt.cli.build_parser``).

    Returns
    -------
    int
        Exit status: 0.

    Raises
    ------
    ValueError
        For ``--missing`` or ``--ablation-missing`` that are not comma-separated numbers.
    """
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

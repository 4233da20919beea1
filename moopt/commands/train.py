"""``moopt train MODEL``: train and evaluate one base ranker, write its candidates."""

from __future__ import annotations

from pathlib import Path

from moopt.commands._common import _parse_settings


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
        candidates_format=getattr(args, "candidates_format", "npz"),
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


def run(args) -> int:
    """Train one base ranker, print its metrics and write its files to ``--out``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line of ``moopt train`` (see ``moopt.cli.build_parser``).

    Returns
    -------
    int
        Exit status: 0.

    Raises
    ------
    ValueError
        For a malformed ``--features`` value or invalid model settings (a ``--set`` that
    is not KEY=VALUE exits with a message instead).
    """
    from recommenders.pipeline import train_and_evaluate

    cfg = _run_config(args, args.model)
    res = train_and_evaluate(cfg, args.out, reuse=args.reuse, verbose=not args.quiet)
    how = "reused checkpoint" if res.reused else f"trained in {res.fit_seconds:.1f}s"
    _print_metrics(
        f"{res.model.name} on {res.dataset.name} ({how}, {res.model.device})", res.metrics
    )
    cands = "candidates.npz" if cfg.candidates_format == "npz" else "candidates"
    print(f"\nwrote {Path(args.out) / 'metrics.json'} and {Path(args.out) / cands}")
    return 0
